import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Endpoint } from '../config/endpoint';

/** The RDS-shaped secret Secrets Manager stores for a database. */
interface RdsSecret {
  host?: unknown;
  port?: unknown;
  username?: unknown;
  password?: unknown;
  dbname?: unknown;
}

export class SecretError extends Error {
  override name = 'SecretError';
}

let client: SecretsManagerClient | undefined;
const cache = new Map<string, { endpoint: Endpoint; expiresAt: number }>();

export function parseRdsSecret(secretId: string, text: string): Endpoint {
  let doc: RdsSecret;
  try {
    doc = JSON.parse(text) as RdsSecret;
  } catch {
    // Never echo the secret text: it holds the password.
    throw new SecretError(`secret ${secretId} is not JSON`);
  }
  const missing = (['host', 'username', 'password'] as const).filter((k) => typeof doc[k] !== 'string');
  if (missing.length) throw new SecretError(`secret ${secretId} lacks ${missing.join(', ')}`);
  return {
    host: doc.host as string,
    port: doc.port === undefined ? 3306 : Number(doc.port),
    user: doc.username as string,
    password: doc.password as string,
    ...(typeof doc.dbname === 'string' ? { database: doc.dbname } : {}),
  };
}

/** Fetches and caches a secret; after `ttlMs` it is fetched again so rotation is picked up. */
export async function resolveSecret(secretId: string, ttlMs: number): Promise<Endpoint> {
  const hit = cache.get(secretId);
  if (hit && hit.expiresAt > Date.now()) return hit.endpoint;
  // Loaded on first use: a configuration without secrets never pays for the SDK at cold start.
  const sdk = await import('@aws-sdk/client-secrets-manager');
  client ??= new sdk.SecretsManagerClient({});
  let text: string | undefined;
  try {
    text = (await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (err) {
    throw new SecretError(`cannot read secret ${secretId}: ${(err as Error).name}`, { cause: err });
  }
  if (text === undefined) throw new SecretError(`secret ${secretId} has no SecretString`);
  const endpoint = parseRdsSecret(secretId, text);
  cache.set(secretId, { endpoint, expiresAt: Date.now() + ttlMs });
  return endpoint;
}

/** Forget a cached secret (after an access-denied error the password may have rotated). */
export function forgetSecret(secretId: string): void {
  cache.delete(secretId);
}
