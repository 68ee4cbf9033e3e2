import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpHandler, serveHttpFunction } from '../../dev/http';
import { closeAllDatabases } from '../../shared/db/connection';
import { type Issuer, startIssuer } from './oidc-issuer';
import { launchBrowser, type Servers, shoot, startServers, writeConfig } from './support';

/**
 * The console behind a JWT authorizer: it learns the issuer from GET /auth-config, signs in with the
 * authorization code flow and PKCE at a local OIDC issuer (real RS256 tokens), keeps the token in
 * sessionStorage and sends it as a bearer token. The local HTTP adapter verifies nothing (API Gateway
 * does, deployed), so the test checks the Authorization header each request reached the server with.
 */
const AUDIENCE = 'cdc-mirror-api';
const CLIENT_ID = 'cdc-mirror-console';
let servers: Servers;
let issuer: Issuer;
let api: { server: import('node:http').Server; url: string };
let browser: Browser;
const received: { method: string; path: string; authorization?: string }[] = [];

beforeAll(async () => {
  servers = await startServers();
  issuer = await startIssuer({ audience: AUDIENCE, subject: 'alice', email: 'alice@example.com' });
  process.env.SYNC_CONFIG = writeConfig('sign-in-e2e', {
    databases: {
      shop_online: { role: 'online', url: servers.dbs.online.url },
      shop_offline: { role: 'offline', url: servers.dbs.offline.url },
    },
    manual: [{ source: 'shop_online', target: 'shop_offline', tables: ['shop.*'] }],
    api: {
      auth: {
        type: 'jwt',
        issuer: issuer.url,
        audience: [AUDIENCE],
        clientId: CLIENT_ID,
        scopes: ['openid', 'email'],
      },
    },
  });
  const handler = (await import('../../functions/manual-sync')).handler as unknown as HttpHandler;
  api = await serveHttpFunction(async (event: APIGatewayProxyEventV2, context) => {
    received.push({
      method: event.requestContext.http.method,
      path: event.rawPath,
      ...(event.headers.authorization ? { authorization: event.headers.authorization } : {}),
    });
    return handler(event, context);
  });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (api ? api.server.close(() => resolve()) : resolve()));
  await closeAllDatabases();
  await issuer?.close();
  await servers?.stop();
});

async function signIn(page: Page): Promise<void> {
  await page.goto(`${api.url}/#jobs`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as').waitFor();
  await page.waitForSelector('body[data-ready="true"]');
}

describe('signing in with OIDC (authorization code + PKCE)', () => {
  it('signs in at the issuer and sends the token as a bearer token', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${api.url}/#jobs`);
    // Before signing in: the page asked only for the public settings, and asks the person to sign in.
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.locator('#gate').textContent()).toContain(
      `This API accepts tokens from ${issuer.url}.`,
    );
    expect(received).toEqual([
      { method: 'GET', path: '/' },
      { method: 'GET', path: '/auth-config' },
    ]);
    await shoot(page, '19-sign-in');

    received.length = 0;
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in as alice@example.com').waitFor();
    await page.waitForSelector('body[data-ready="true"]');
    // Back on the section it left, the code gone from the address.
    expect(page.url()).toBe(`${api.url}/#jobs`);
    expect(await page.locator('#panel-jobs').isVisible()).toBe(true);

    // The authorization request: code flow, S256 challenge, the configured client, scopes and redirect.
    expect(issuer.authorizeRequests).toHaveLength(1);
    const authorize = Object.fromEntries(issuer.authorizeRequests[0] ?? []);
    expect(authorize).toMatchObject({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: `${api.url}/`,
      scope: 'openid email',
      code_challenge_method: 'S256',
    });
    expect(authorize.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The exchange: the verifier that matches the challenge (the issuer refuses any other), no secret.
    const exchange = Object.fromEntries(issuer.tokenRequests[0] ?? []);
    expect(exchange).toMatchObject({
      grant_type: 'authorization_code',
      client_id: CLIENT_ID,
      redirect_uri: `${api.url}/`,
    });
    expect(exchange.code_verifier).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(exchange).not.toHaveProperty('client_secret');

    // Every API request after it carried the token, a real RS256 JWT from the issuer for the API's audience.
    const apiCalls = received.filter((r) => r.path !== '/' && r.path !== '/auth-config');
    expect(apiCalls.map((r) => r.path)).toEqual(expect.arrayContaining(['/catalog', '/sync']));
    for (const r of apiCalls) expect(r.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const token = (apiCalls[0]?.authorization ?? '').slice('Bearer '.length);
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(issuer.jwks), {
      issuer: issuer.url,
      audience: AUDIENCE,
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ sub: 'alice', email: 'alice@example.com', client_id: CLIENT_ID });
    // The public routes never get it.
    expect(received.filter((r) => r.path === '/auth-config').every((r) => !r.authorization)).toBe(true);
    // Kept for this tab only.
    const stored = await page.evaluate(() => sessionStorage.getItem('cdc-mirror.token'));
    expect(JSON.parse(stored ?? '{}').token).toBe(token);
    await shoot(page, '20-signed-in');

    // A dry run goes out with the same token.
    received.length = 0;
    await page.getByRole('tab', { name: 'Manual sync' }).click();
    await page.locator('#sync-table').fill('shop.t_config');
    await page.locator('#sync-where').fill('id = 1');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.locator('.diff').waitFor();
    expect(received.find((r) => r.method === 'POST' && r.path === '/sync')?.authorization).toBe(
      `Bearer ${token}`,
    );

    // A reload keeps the sign-in; signing out forgets it.
    await page.reload();
    await page.getByText('Signed in as alice@example.com').waitFor();
    expect(issuer.authorizeRequests).toHaveLength(1);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('cdc-mirror.token'))).toBeNull();
    await context.close();
  });

  it('an expired token or a refused sign-in brings back the sign-in, with the reason', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signIn(page);
    await page.evaluate(() => {
      const stored = JSON.parse(sessionStorage.getItem('cdc-mirror.token') ?? '{}');
      sessionStorage.setItem('cdc-mirror.token', JSON.stringify({ ...stored, expiresAt: Date.now() - 1000 }));
    });
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();

    // A token the API refuses (401) mid-session: sign in again.
    await signIn(page);
    await page.route('**/sync?**', (r) => r.fulfill({ status: 401, json: { message: 'Unauthorized' } }));
    await page.getByRole('button', { name: 'Show jobs' }).click();
    await page.getByText('Your sign-in has expired or was refused: sign in again.').waitFor();
    await page.unroute('**/sync?**');

    issuer.refuseNext('access_denied', 'the user is not in the operators group');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Away to the issuer and back with its refusal instead of a code.
    await expect
      .poll(() => page.locator('#gate .notice.error').textContent())
      .toBe('sign-in failed: access_denied: the user is not in the operators group');
    expect(page.url()).toBe(`${api.url}/#jobs`);
    await shoot(page, '21-sign-in-refused');
    await context.close();
  });
});
