import type { IncomingMessage } from 'node:http';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { CliError, EXIT, exitCodeForStatus, usage } from './exit';
import { clean } from './format';
import { credentialChain, signingRegion, signRequest } from './sigv4';

/** One answer of the manual-sync API: its status, its text as sent, and that text parsed (JSON, or the text). */
export interface ApiAnswer {
  status: number;
  text: string;
  body: unknown;
}

export type Query = Record<string, string | number | undefined>;

/** The manual-sync API, deployed (HTTPS) or the handler in this process (local mode). */
export interface Api {
  readonly local: boolean;
  request(method: 'GET' | 'POST', path: string, opts?: { query?: Query; body?: unknown }): Promise<ApiAnswer>;
  close(): Promise<void>;
}

/** No answer at all (connection refused, DNS, timeout): exit 4, and safe to send again with a clientToken. */
export class UnreachableError extends CliError {
  override name = 'UnreachableError';
  constructor(message: string) {
    super(message, EXIT.unavailable);
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function pathWithQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** The API's own message for a refusal, with the details it gave (reason, counts). */
export function apiErrorMessage(answer: ApiAnswer): string {
  const body = answer.body as Record<string, unknown> | string | null;
  const fields = body && typeof body === 'object' ? body : {};
  const said =
    (typeof fields.error === 'string' && fields.error) ||
    (typeof fields.message === 'string' && fields.message) ||
    (typeof body === 'string' && body.trim().slice(0, 500)) ||
    '(no message)';
  const details: string[] = [];
  if (typeof fields.reason === 'string' && !said.includes(fields.reason))
    details.push(`reason: ${fields.reason}`);
  if (fields.requestId !== undefined) details.push(`requestId ${String(fields.requestId)}`);
  let text = `${said}${details.length ? ` (${details.join(', ')})` : ''}`;
  if (answer.status === 404 && /^(no such route|not found)$/i.test(said))
    text += ': this API does not have that route (a deployment older than this command?)';
  return clean(`HTTP ${answer.status}: ${text}`);
}

/** The body of a 2xx answer; anything else ends the command with the API's message (exit 3 for 4xx, 4 for 5xx). */
export function expectOk<T = Record<string, unknown>>(answer: ApiAnswer): T {
  if (answer.status >= 200 && answer.status < 300) return answer.body as T;
  throw new CliError(apiErrorMessage(answer), exitCodeForStatus(answer.status), answer.text);
}

const isLoopback = (host: string) =>
  host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * The deployed API: each request signed with SigV4 for execute-api (credentials from the standard AWS chain),
 * or carrying `token` as a bearer token when one is given (JWT authorizer).
 */
export function remoteApi(opts: { url: string; token?: string; region?: string; timeoutMs?: number }): Api {
  let base: URL;
  try {
    base = new URL(opts.url);
  } catch {
    throw usage(`--api: "${clean(opts.url)}" is not a URL`);
  }
  if (base.protocol !== 'https:' && !(base.protocol === 'http:' && isLoopback(base.hostname)))
    throw usage(`--api: use an https:// URL (plain http only to this machine), not ${clean(base.origin)}`);
  const region = opts.token ? undefined : signingRegion(base, opts.region);
  if (!opts.token && !region)
    throw usage('give --region (or AWS_REGION) to sign requests for this API, or --token for a JWT API');
  const credentials = opts.token ? undefined : credentialChain();
  const basePath = base.pathname.replace(/\/+$/, '');
  return {
    local: false,
    async request(method, path, { query, body } = {}) {
      const url = new URL(base.origin + basePath + pathWithQuery(path, query));
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (payload !== undefined) headers['content-type'] = 'application/json';
      let sent: Record<string, string>;
      if (opts.token) sent = { ...headers, authorization: `Bearer ${opts.token}` };
      else {
        const signed = await signRequest(
          { method, url, headers, ...(payload !== undefined ? { body: payload } : {}) },
          { region: region as string, ...(credentials ? { credentials } : {}) },
        );
        // fetch sets Host itself, to the same value that was signed.
        const { host: _host, ...rest } = signed;
        sent = rest;
      }
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: sent,
          ...(payload !== undefined ? { body: payload } : {}),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const why = cause?.code ?? cause?.message ?? (err as Error).message;
        throw new UnreachableError(`cannot reach ${url.origin}: ${clean(String(why))}`);
      }
      const text = await res.text();
      return { status: res.status, text, body: parse(text) };
    },
    async close() {},
  };
}

/** The config local mode reads: --config, SYNC_CONFIG, or ./sync.config.yml. */
export function localConfigPath(given?: string): string {
  return resolve(given ?? process.env.SYNC_CONFIG ?? 'sync.config.yml');
}

/**
 * Local mode: the real manual-sync handler (functions/manual-sync) called in this process with the API
 * Gateway v2 events the local HTTP server builds (dev/http.ts), against the config's databases. A job that
 * goes on past its time budget goes on in this process, as it does under `npm run dev`.
 */
export async function localApi(configPath: string): Promise<Api> {
  // Loaded here, not at the top: remote mode needs none of it, and the handler's modules read the
  // environment set below when they load. `require`: the bin runs this file as CommonJS (tsx/cjs).
  const { loadConfigFile } = require('../shared/config/load') as typeof import('../shared/config/load');
  try {
    loadConfigFile(configPath);
  } catch (err) {
    throw usage(
      `${clean((err as Error).message)}\n(no --api given, so this runs locally against that config; ` +
        'give --api URL or CDC_MIRROR_API_URL for a deployed API)',
    );
  }
  // Before the handler's modules load: they read these at import. Its JSON logs would mix with this output.
  process.env.SYNC_CONFIG = configPath;
  process.env.POWERTOOLS_LOG_LEVEL = process.env.CDC_MIRROR_LOG_LEVEL ?? 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const { handler } = require('../functions/manual-sync') as typeof import('../functions/manual-sync');
  const { toApiGatewayEvent } = require('../dev/http') as typeof import('../dev/http');
  const { lambdaContext } = require('../dev/lambda') as typeof import('../dev/lambda');
  const { closeAllDatabases } =
    require('../shared/db/connection') as typeof import('../shared/db/connection');
  const call = handler as unknown as import('../dev/http').HttpHandler;
  let identity = 'local';
  try {
    identity = userInfo().username || identity;
  } catch {
    // no user entry for this uid (a container): keep "local"
  }
  return {
    local: true,
    async request(method, path, { query, body } = {}) {
      const payload = body === undefined ? '' : JSON.stringify(body);
      // toApiGatewayEvent reads the method, URL and headers of the request.
      const req = {
        method,
        url: pathWithQuery(path, query),
        headers: { 'content-type': 'application/json', 'user-agent': 'cdc-mirror-cli' },
      } as unknown as IncomingMessage;
      let answer: Awaited<ReturnType<typeof call>>;
      try {
        answer = await call(toApiGatewayEvent(req, payload, identity), {
          ...lambdaContext(15 * 60_000),
          functionName: 'manualSync',
        });
      } catch (err) {
        throw new CliError(
          `the manual-sync handler failed: ${clean((err as Error).message)}`,
          EXIT.unavailable,
        );
      }
      const raw = answer.body ?? '';
      const text = answer.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
      return { status: answer.statusCode ?? 200, text, body: parse(text) };
    },
    close: () => closeAllDatabases(),
  };
}
