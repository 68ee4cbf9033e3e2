/// <reference lib="dom" />
/**
 * Signing in for an API behind a JWT authorizer: OpenID Connect authorization code with PKCE (S256), the
 * endpoints discovered from the issuer, the token kept in sessionStorage (this tab only) and sent as
 * `Authorization: Bearer`. No client secret: the page is a public client.
 */
import type { AuthConfig } from './types';

const TOKEN_KEY = 'cdc-mirror.token';
const PENDING_KEY = 'cdc-mirror.sign-in';
/** A token this close to its expiry is not sent any more. */
const EXPIRY_MARGIN_MS = 30_000;

interface StoredToken {
  token: string;
  expiresAt: number;
}

interface Pending {
  state: string;
  verifier: string;
  nonce: string;
  redirectUri: string;
  tokenEndpoint: string;
  clientId: string;
  /** The section the person was on (the URL hash). */
  hash: string;
}

interface Discovery {
  issuer?: string;
  authorization_endpoint: string;
  token_endpoint: string;
}

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const random = (n = 32): string => base64url(crypto.getRandomValues(new Uint8Array(n)));

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export function currentToken(): string | null {
  try {
    const stored = JSON.parse(sessionStorage.getItem(TOKEN_KEY) ?? 'null') as StoredToken | null;
    if (stored && typeof stored.token === 'string' && stored.expiresAt - EXPIRY_MARGIN_MS > Date.now())
      return stored.token;
  } catch {
    // An unreadable entry is no token.
  }
  return null;
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The claims of a JWT, for showing who is signed in (never trusted: the API's authorizer verifies). */
export function claimsOf(token: string): Record<string, unknown> | null {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

async function discover(issuer: string): Promise<Discovery> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (err) {
    throw new Error(`could not reach the issuer's discovery document ${url} (${(err as Error).message})`);
  }
  if (!res.ok) throw new Error(`the issuer's discovery document ${url} answered HTTP ${res.status}`);
  const doc = (await res.json()) as Partial<Discovery>;
  if (!doc.authorization_endpoint || !doc.token_endpoint)
    throw new Error(`the discovery document ${url} names no authorization or token endpoint`);
  return doc as Discovery;
}

/** The page's own address, without query or hash: where the issuer sends the person back. */
export const redirectUri = (): string => `${window.location.origin}${window.location.pathname}`;

/** Sends the browser to the issuer's sign-in page. */
export async function beginSignIn(auth: AuthConfig): Promise<void> {
  if (!auth.issuer || !auth.clientId)
    throw new Error('the API names no OIDC issuer or client id (api.auth.issuer / api.auth.clientId)');
  const endpoints = await discover(auth.issuer);
  const pending: Pending = {
    state: random(),
    verifier: random(48),
    nonce: random(),
    redirectUri: redirectUri(),
    tokenEndpoint: endpoints.token_endpoint,
    clientId: auth.clientId,
    hash: window.location.hash,
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(endpoints.authorization_endpoint);
  // The configured scopes (api.auth.scopes), or what an OIDC provider gives a signed-in person by default.
  const scopes = auth.scopes?.length ? auth.scopes : ['openid', 'email'];
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', auth.clientId);
  url.searchParams.set('redirect_uri', pending.redirectUri);
  url.searchParams.set('scope', scopes.join(' '));
  url.searchParams.set('state', pending.state);
  url.searchParams.set('nonce', pending.nonce);
  url.searchParams.set('code_challenge', await challengeOf(pending.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  window.location.assign(url.toString());
}

/**
 * When the issuer sent the person back (`?code=…&state=…` or `?error=…`): exchanges the code for a token.
 * Resolves true when it signed in, false when the URL carries no answer; rejects with the issuer's reason.
 */
export async function completeSignIn(): Promise<boolean> {
  const params = new URLSearchParams(window.location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as Pending | null;
  sessionStorage.removeItem(PENDING_KEY);
  window.history.replaceState(null, '', `${window.location.pathname}${pending?.hash ?? ''}`);
  if (error)
    throw new Error(
      `sign-in failed: ${error}${params.get('error_description') ? `: ${params.get('error_description')}` : ''}`,
    );
  if (!pending || params.get('state') !== pending.state)
    throw new Error('sign-in failed: the answer does not belong to a sign-in started here (state differs)');
  let res: Response;
  try {
    res = await fetch(pending.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: code ?? '',
        redirect_uri: pending.redirectUri,
        client_id: pending.clientId,
        code_verifier: pending.verifier,
      }),
    });
  } catch (err) {
    throw new Error(`sign-in failed: the token endpoint did not answer (${(err as Error).message})`);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const why = [body.error, body.error_description].filter((x) => typeof x === 'string').join(': ');
    throw new Error(
      `sign-in failed: the token endpoint answered HTTP ${res.status}${why ? ` (${why})` : ''}`,
    );
  }
  const token = typeof body.access_token === 'string' ? body.access_token : body.id_token;
  if (typeof token !== 'string') throw new Error('sign-in failed: the token endpoint sent no token');
  if (typeof body.id_token === 'string') {
    const nonce = claimsOf(body.id_token)?.nonce;
    if (nonce !== undefined && nonce !== pending.nonce)
      throw new Error('sign-in failed: the ID token nonce differs');
  }
  const exp = claimsOf(token)?.exp;
  const expiresAt =
    typeof body.expires_in === 'number'
      ? Date.now() + body.expires_in * 1000
      : typeof exp === 'number'
        ? exp * 1000
        : Date.now() + 3_600_000;
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ token, expiresAt } satisfies StoredToken));
  return true;
}
