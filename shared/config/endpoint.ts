/** The parts of a `mysql://` URL the pools and the online/offline guard need. */
export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function parseMysqlUrl(url: string): Endpoint {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    ...(database ? { database } : {}),
  };
}

/** `host:port` with every loopback spelling folded together, for "is this the same server?" checks. */
export function endpointKey(e: Pick<Endpoint, 'host' | 'port'>): string {
  const host = e.host.toLowerCase();
  return `${LOOPBACK.has(host) ? 'loopback' : host}:${e.port}`;
}

/** A URL safe to print: the password is replaced. */
export function redactUrl(url: string): string {
  return url.replace(/(mysql:\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
