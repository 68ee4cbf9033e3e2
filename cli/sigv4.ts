import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { CliError, EXIT } from './exit';

export type CredentialProvider = ReturnType<typeof defaultProvider>;
type Credentials = Awaited<ReturnType<CredentialProvider>>;

/**
 * SigV4 for an HTTP API with IAM authorization (service `execute-api`), with credentials from the
 * standard AWS chain (environment, SSO/profile files, web identity, container and instance roles).
 */
export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

/** The region to sign for: the one given, AWS_REGION / AWS_DEFAULT_REGION, or the one an execute-api host names. */
export function signingRegion(url: URL, given?: string): string | undefined {
  const fromHost = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/i.exec(url.hostname)?.[1];
  return given || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || fromHost || undefined;
}

/** The standard credential chain, resolved once per process. */
export function credentialChain(): CredentialProvider {
  const chain = defaultProvider();
  let pending: Promise<Credentials> | undefined;
  return async () => {
    pending ??= chain().catch((err: unknown) => {
      pending = undefined;
      throw new CliError(
        `no AWS credentials to sign the request with (${(err as Error).message}); ` +
          'configure them (AWS_PROFILE, aws sso login, environment variables) or give --token for a JWT API',
        EXIT.refused,
      );
    });
    return pending;
  };
}

/** The request's headers with `authorization`, `x-amz-date`, `x-amz-content-sha256` (and the session token) added. */
export async function signRequest(
  req: SignableRequest,
  opts: { region: string; credentials?: CredentialProvider },
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: opts.region,
    credentials: opts.credentials ?? credentialChain(),
    sha256: Sha256,
  });
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of req.url.searchParams) {
    const had = query[k];
    query[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  const signed = await signer.sign({
    method: req.method,
    protocol: req.url.protocol,
    hostname: req.url.hostname,
    ...(req.url.port ? { port: Number(req.url.port) } : {}),
    path: req.url.pathname,
    query,
    headers: { ...req.headers, host: req.url.host },
    ...(req.body !== undefined ? { body: req.body } : {}),
  });
  return signed.headers;
}
