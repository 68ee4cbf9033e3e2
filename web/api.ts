/// <reference lib="dom" />
/**
 * The API client: relative URLs (the page is served by the API it calls, under any stage path), JSON in
 * and out, the bearer token when signed in, and every failure turned into an ApiError carrying the
 * API's own message.
 */

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    /** 0 when the request got no answer at all. */
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> | null = null,
  ) {
    super(message);
  }
}

let bearer: () => string | null = () => null;
let unauthorized: (status: number) => void = () => undefined;

export function configureApi(opts: { token: () => string | null; onUnauthorized: (status: number) => void }) {
  bearer = opts.token;
  unauthorized = opts.onUnauthorized;
}

export function apiUrl(path: string, query?: Record<string, string | number | undefined>): string {
  const url = new URL(path, window.location.href);
  url.hash = '';
  url.search = '';
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  }
  return url.toString();
}

/** The text of a failed answer: the API's `error` (or API Gateway's `message`) and what it adds. */
export function failureText(status: number, body: Record<string, unknown> | null, raw: string): string {
  const said = body && typeof body.error === 'string' ? body.error : body?.message;
  let text = `HTTP ${status}: ${typeof said === 'string' && said ? said : raw.slice(0, 300) || 'no answer body'}`;
  if (body) {
    if (typeof body.reason === 'string' && !text.includes(body.reason)) text += `. Reason: ${body.reason}`;
    const counts: string[] = [];
    if (typeof body.matched === 'number' && !text.includes(String(body.matched)))
      counts.push(`matched ${body.matched}`);
    if (typeof body.limit === 'number' && !text.includes(`limit of ${body.limit}`))
      counts.push(`limit ${body.limit}`);
    if (counts.length) text += ` (${counts.join(', ')})`;
    if (typeof body.requestId === 'string') text += ` (request id ${body.requestId})`;
  }
  return text;
}

export interface Answer<T> {
  status: number;
  body: T;
}

/** Calls the API; resolves with 2xx answers, rejects with an ApiError otherwise. */
export async function api<T>(
  method: 'GET' | 'POST',
  path: string,
  opts: { body?: unknown; query?: Record<string, string | number | undefined>; auth?: boolean } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const token = opts.auth === false ? null : bearer();
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(apiUrl(path, opts.query), {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
  } catch (err) {
    throw new ApiError(0, `The request got no answer (${(err as Error).message || 'network error'}).`);
  }
  const raw = await res.text();
  let body: unknown = null;
  try {
    body = raw ? JSON.parse(raw) : null;
  } catch {
    body = null;
  }
  const obj =
    body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  if (res.ok) {
    if (body === null) throw new ApiError(res.status, `HTTP ${res.status}: the answer is not JSON`);
    return { status: res.status, body: body as T };
  }
  if (res.status === 401 && opts.auth !== false) unauthorized(res.status);
  throw new ApiError(res.status, failureText(res.status, obj, raw), obj);
}

export function errorText(err: unknown): string {
  return err instanceof ApiError
    ? err.message
    : `Unexpected error: ${(err as Error)?.message ?? String(err)}`;
}
