/**
 * A local OpenID Connect issuer for the console's sign-in test: discovery, an authorize endpoint that
 * approves at once (or refuses, when told to) and redirects back with a code, a token endpoint that
 * checks the PKCE verifier against the challenge and signs real RS256 JWTs, and the JWKS to verify them.
 * Loopback only.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, type JSONWebKeySet, SignJWT } from 'jose';

export interface Issuer {
  url: string;
  jwks: JSONWebKeySet;
  authorizeRequests: URLSearchParams[];
  tokenRequests: URLSearchParams[];
  /** Answer the next authorize request with this error instead of a code. */
  refuseNext(error: string, description: string): void;
  close(): Promise<void>;
}

const base64url = (b: Buffer) =>
  b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

export async function startIssuer(opts: {
  audience: string;
  subject: string;
  email: string;
}): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwks: JSONWebKeySet = {
    keys: [{ ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' }],
  };
  const codes = new Map<
    string,
    { challenge: string; clientId: string; redirectUri: string; nonce: string; scope: string }
  >();
  const authorizeRequests: URLSearchParams[] = [];
  const tokenRequests: URLSearchParams[] = [];
  let refusal: { error: string; description: string } | undefined;
  let url = '';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'access-control-allow-origin': '*',
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', url);
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'GET, POST',
          'access-control-allow-headers': 'content-type, accept',
        });
        return res.end();
      }
      if (u.pathname === '/.well-known/openid-configuration') {
        return send(res, 200, {
          issuer: url,
          authorization_endpoint: `${url}/authorize`,
          token_endpoint: `${url}/token`,
          jwks_uri: `${url}/jwks`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code'],
          code_challenge_methods_supported: ['S256'],
          id_token_signing_alg_values_supported: ['RS256'],
          subject_types_supported: ['public'],
        });
      }
      if (u.pathname === '/jwks') return send(res, 200, jwks);
      if (u.pathname === '/authorize') {
        const q = u.searchParams;
        authorizeRequests.push(q);
        const redirect = new URL(q.get('redirect_uri') ?? '');
        if (q.get('state')) redirect.searchParams.set('state', q.get('state') ?? '');
        if (refusal) {
          redirect.searchParams.set('error', refusal.error);
          redirect.searchParams.set('error_description', refusal.description);
          refusal = undefined;
        } else if (
          q.get('response_type') !== 'code' ||
          q.get('code_challenge_method') !== 'S256' ||
          !q.get('code_challenge')
        ) {
          redirect.searchParams.set('error', 'invalid_request');
          redirect.searchParams.set('error_description', 'code flow with an S256 PKCE challenge only');
        } else {
          const code = randomUUID();
          codes.set(code, {
            challenge: q.get('code_challenge') ?? '',
            clientId: q.get('client_id') ?? '',
            redirectUri: q.get('redirect_uri') ?? '',
            nonce: q.get('nonce') ?? '',
            scope: q.get('scope') ?? '',
          });
          redirect.searchParams.set('code', code);
        }
        res.writeHead(302, { location: redirect.toString() });
        return res.end();
      }
      if (u.pathname === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(await readBody(req));
        tokenRequests.push(form);
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (!grant || form.get('grant_type') !== 'authorization_code')
          return send(res, 400, { error: 'invalid_grant', error_description: 'unknown or used code' });
        if (grant.clientId !== form.get('client_id') || grant.redirectUri !== form.get('redirect_uri'))
          return send(res, 400, { error: 'invalid_grant', error_description: 'client or redirect differs' });
        if (base64url(createHash('sha256').update(verifier).digest()) !== grant.challenge)
          return send(res, 400, {
            error: 'invalid_grant',
            error_description: 'PKCE verifier does not match',
          });
        const now = Math.floor(Date.now() / 1000);
        const sign = (claims: Record<string, unknown>, audience: string) =>
          new SignJWT(claims)
            .setProtectedHeader({ alg: 'RS256', kid: 'test-key', typ: 'JWT' })
            .setIssuer(url)
            .setSubject(opts.subject)
            .setAudience(audience)
            .setIssuedAt(now)
            .setExpirationTime(now + 3600)
            .sign(privateKey);
        return send(res, 200, {
          token_type: 'Bearer',
          expires_in: 3600,
          scope: grant.scope,
          access_token: await sign(
            { email: opts.email, client_id: grant.clientId, scope: grant.scope },
            opts.audience,
          ),
          id_token: await sign({ email: opts.email, nonce: grant.nonce }, grant.clientId),
        });
      }
      send(res, 404, { error: 'not_found' });
    })().catch((err: Error) => send(res, 500, { error: 'server_error', error_description: err.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    jwks,
    authorizeRequests,
    tokenRequests,
    refuseNext(error, description) {
      refusal = { error, description };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
