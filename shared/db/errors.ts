/**
 * What a database error means for the row or batch that hit it, decided in one place by MySQL
 * error number (and Node socket code). Shared by CDC apply, manual sync and the retry loop.
 */
export type ErrorClass =
  /** The row cannot be written as it is: dead-letter it, go on with the rest. */
  | 'data'
  /** The offline table changed under us: drop the cached schema and try once more. */
  | 'schema'
  /** The server or the network hiccupped: retry with backoff, then let Lambda retry the batch. */
  | 'transient'
  /** Anything else (permissions, syntax): a bug or a misconfiguration, surfaced as is. */
  | 'fatal';

const DATA_ERRNOS = new Set([
  1048, // column cannot be null
  1062, // duplicate entry
  1153, // packet larger than max_allowed_packet (rows are sized under it; this is the backstop)
  1264, // out of range
  1267, // illegal mix of collations (e.g. a 4-byte character against a utf8mb3 column)
  1265, // data truncated
  1292, // incorrect datetime value
  1300, // invalid character string
  1301, // result larger than max_allowed_packet
  1364, // field has no default
  1366, // incorrect string/integer value
  1367, // illegal value
  1406, // data too long
  1411, // incorrect value for function
  1416, // cannot get geometry object
  1451, // foreign key: parent row
  1452, // foreign key: child row
  1690, // value out of range
  3140, // invalid JSON (MySQL)
  3819, // check constraint (MySQL)
  4025, // check constraint (MariaDB)
  4078, // illegal parameter data type (MariaDB)
]);
const SCHEMA_ERRNOS = new Set([1054, 1146]);
const TRANSIENT_ERRNOS = new Set([
  1040, // too many connections
  1045, // access denied: the secret may have rotated; the pool is reopened with a fresh secret
  1053, // server shutdown in progress
  1205, // lock wait timeout
  1213, // deadlock
  1290, // --read-only (failover in progress)
  1317, // query interrupted
  1836, // read-only mode
  1927, // connection killed (MariaDB)
  1969, // statement ran past max_statement_time (MariaDB): the invocation's time bound
  2002, // can't connect via socket
  2003, // can't connect
  2006, // server has gone away
  2013, // lost connection during query
  3024, // query execution interrupted (max_execution_time)
  9007, // TiDB: write conflict
]);
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'POOL_CLOSED',
]);

export function classifyError(err: unknown): ErrorClass {
  const e = err as { errno?: unknown; code?: unknown; fatal?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return 'fatal';
  // Our own errors that say so (the guard could not reach an online database, out of time).
  if ((e as { transient?: unknown }).transient === true) return 'transient';
  const errno = typeof e.errno === 'number' ? e.errno : undefined;
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (errno !== undefined && DATA_ERRNOS.has(errno)) return 'data';
  if (errno !== undefined && SCHEMA_ERRNOS.has(errno)) return 'schema';
  if (errno !== undefined && TRANSIENT_ERRNOS.has(errno)) return 'transient';
  if (code !== undefined && TRANSIENT_CODES.has(code)) return 'transient';
  // mysql2 marks errors that broke the connection as fatal; the connection is gone, the data may be fine.
  if (e.fatal === true) return 'transient';
  if (
    typeof e.message === 'string' &&
    /Can't add new command when connection is in closed state/.test(e.message)
  ) {
    return 'transient';
  }
  return 'fatal';
}

export function isTransient(err: unknown): boolean {
  return classifyError(err) === 'transient';
}

/** An error's message with any URL password masked, for logs and error texts. */
export function redactMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}
