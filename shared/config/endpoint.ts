import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** The parts of a `mysql://` URL the pools and the online/offline guard need. */
export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
}

/**
 * A mistake in the config. Defined here, the lowest module of config/, so parseMysqlUrl can throw it
 * without an import cycle; load.ts re-exports it.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type MysqlUrlResult = { success: true; endpoint: Endpoint } | { success: false; message: string };

const URL_SHAPE = 'mysql://user:password@host[:port][/database]';

/**
 * Parses without throwing. The failure message never holds the URL itself, only `redactUrl` of it:
 * Node's own TypeError keeps the whole URL (password included) in `input`.
 */
export function safeParseMysqlUrl(url: string): MysqlUrlResult {
  const fail = (why: string): MysqlUrlResult => ({
    success: false,
    message: `not a valid mysql:// URL (${redactUrl(url)}): ${why}`,
  });
  if (!/^mysql:\/\//i.test(url)) return fail(`expected ${URL_SHAPE}`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return fail(whyUnparseable(url));
  }
  // A raw / ? or # in the password ends the host early; the `@` then lands in the path and the
  // "password" becomes host or port. Refuse rather than connect somewhere unintended.
  if ((u.pathname + u.search + u.hash).includes('@')) return fail(ENCODE_HINT);
  if (!u.hostname) return fail('no host');
  const port = u.port ? Number(u.port) : 3306;
  if (port < 1 || port > 65_535) return fail('port must be 1-65535');
  try {
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    return {
      success: true,
      endpoint: {
        // Node keeps the brackets of an IPv6 literal in a non-special URL; sockets want them off.
        host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
        port,
        user: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
        ...(database ? { database } : {}),
      },
    };
  } catch {
    return fail('bad %-escape in the user, password or database');
  }
}

/** Throws a ConfigError whose message and properties hold no password (no `cause`, no `input`). */
export function parseMysqlUrl(url: string): Endpoint {
  const result = safeParseMysqlUrl(url);
  if (!result.success) throw new ConfigError(result.message);
  return result.endpoint;
}

const ENCODE_HINT = 'percent-encode : / ? # @ and % in the user and password';

/** A reason for a URL Node cannot parse, found without echoing any of it. */
function whyUnparseable(url: string): string {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const at = rest.lastIndexOf('@');
  const hostPort = (at >= 0 ? rest.slice(at + 1) : rest).split(/[/?#]/)[0] ?? '';
  if (at >= 0 && /[/?#\s]/.test(rest.slice(0, at))) return ENCODE_HINT;
  if (at >= 0 && hostPort === '') return 'no host after @';
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostPort)?.[1];
  // Without an `@`, `x:y` that is no port is more likely user:password with the host missing.
  if (port !== undefined && at < 0 && !/^\d+$/.test(port)) return 'no @host after user:password';
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) <= 65_535)) {
    return 'port must be 1-65535';
  }
  return `expected ${URL_SHAPE}; ${ENCODE_HINT}`;
}

/**
 * A URL safe to print: the password is replaced, a query string elided. A URL that does not parse is
 * cut to scheme and user, since where its password ends cannot be known.
 */
export function redactUrl(url: string): string {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (u?.host && !(u.pathname + u.search + u.hash).includes('@')) {
    if (u.password) u.password = '***';
    const tail = u.search || u.hash ? '?…' : '';
    u.search = '';
    u.hash = '';
    return u.href + tail;
  }
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at < 0) return `${scheme}…`;
  const user = /^[^:/?#]*/.exec(rest)?.[0] ?? '';
  return `${scheme}${user}${rest.slice(0, at) === user ? '' : ':***'}@…`;
}

/** What every loopback or unspecified address (127/8, 0/8, ::1, ::, their IPv4-mapped forms, localhost) folds to. */
export const LOOPBACK = 'loopback';

/** Names that resolve to this machine by convention (RFC 6761, Debian's /etc/hosts). */
const LOCAL_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']);

type Host = { kind: 'ipv4' | 'ipv6' | 'name'; value: string };

/**
 * One spelling per address, as the resolver would read it: IPv4 in any inet_aton form (127.1,
 * 2130706433, 0x7f000001, 0177.0.0.1) becomes a dotted quad, IPv6 its compressed lower-case form,
 * IPv4-mapped IPv6 its IPv4, a name lower case without trailing dots. The WHATWG parser of a
 * special scheme does the work; `mysql://` URLs are not special, so Node leaves their host as written.
 */
function normaliseHost(host: string): Host {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.includes(':')) {
    const v6 = whatwgHostname(`[${h}]`)?.slice(1, -1);
    if (v6 === undefined) return { kind: 'name', value: h };
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
    if (mapped) {
      const n = (Number.parseInt(mapped[1] ?? '', 16) << 16) | Number.parseInt(mapped[2] ?? '', 16);
      return { kind: 'ipv4', value: [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.') };
    }
    return { kind: 'ipv6', value: v6 };
  }
  h = h.replace(/\.+$/, '');
  // Characters that would make the string more than a host (userinfo, path) are not handed to URL.
  const parsed = /[\s/?#@\\[\]]/.test(h) ? undefined : whatwgHostname(h);
  const value = parsed?.replace(/\.+$/, '') ?? h;
  return { kind: isIP(value) === 4 ? 'ipv4' : 'name', value };
}

function whatwgHostname(host: string): string | undefined {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
}

function fold({ kind, value }: Host): string {
  if (kind === 'ipv4') return /^(127|0)\./.test(value) ? LOOPBACK : value;
  if (kind === 'ipv6') return value === '::1' || value === '::' ? LOOPBACK : value;
  return LOCAL_NAMES.has(value) || value.endsWith('.localhost') ? LOOPBACK : value;
}

/** A host's comparison key: normalised, every loopback spelling folded to LOOPBACK. */
export function hostKey(host: string): string {
  return fold(normaliseHost(host));
}

/** `host:port` with every spelling of one address folded together, for "is this the same server?" checks. */
export function endpointKey(e: Pick<Endpoint, 'host' | 'port'>): string {
  const host = hostKey(e.host);
  return `${host.includes(':') ? `[${host}]` : host}:${e.port}`;
}

/**
 * The addresses a host reaches, as keys comparable across hosts (sorted, deduplicated, loopback
 * folded): an address literal without DNS, a name through the system resolver (as the driver connects).
 */
export async function resolveEndpointAddresses(host: string): Promise<string[]> {
  const normal = normaliseHost(host);
  if (normal.kind !== 'name') return [fold(normal)];
  const found = await lookup(host.trim().replace(/^\[(.*)\]$/, '$1'), { all: true, verbatim: true });
  return [...new Set(found.map((a) => hostKey(a.address)))].sort();
}
