import mysql, {
  type FieldPacket,
  type PoolConnection,
  type ResultSetHeader,
  type RowDataPacket,
} from 'mysql2/promise';
import { type Endpoint, parseMysqlUrl } from '../config/endpoint';
import type { DatabaseConfig, SyncConfig } from '../config/schema';
import type { SqlValue, Statement } from '../types';
import { type Dialect, dialectFor } from './dialect';
import { PromiseCache } from './promise-cache';
import { resolveSecret } from './secrets';

/**
 * Session settings that make values round-trip exactly: UTC wall clock for TIMESTAMP,
 * zero dates accepted, strict so an unfit value is an error instead of a silent truncation,
 * and NO_AUTO_VALUE_ON_ZERO so an explicit auto-increment 0 stays 0.
 */
export const SESSION_SQL_MODE = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO';
const SESSION_INIT = `SET time_zone = '+00:00', sql_mode = '${SESSION_SQL_MODE}', names utf8mb4`;

const NUMERIC_TYPES = new Set([
  'TINY',
  'SHORT',
  'LONG',
  'INT24',
  'LONGLONG',
  'FLOAT',
  'DOUBLE',
  'DECIMAL',
  'NEWDECIMAL',
  'YEAR',
]);

/**
 * Every value comes back as text or bytes, never as a JS number, Date or parsed object: numbers keep
 * the server's exact text, BIT and GEOMETRY stay bytes. The default reader (`next`) already returns
 * binary-charset strings as Buffers and, with `dateStrings`, temporal values as text.
 */
export const exactTypeCast: mysql.TypeCast = (field, next) => {
  if (field.type === 'BIT' || field.type === 'GEOMETRY') return field.buffer();
  // JSON reports the binary charset on MySQL but is UTF-8 text; MariaDB's JSON is LONGTEXT tagged
  // with the extended format 'json', which the default reader would parse into an object.
  if (field.type === 'JSON' || field.extendedFormat === 'json') return field.string('utf8');
  if (NUMERIC_TYPES.has(field.type)) return field.string();
  return next();
};

export type Row = Record<string, SqlValue>;
export type { ResultSetHeader };

/**
 * The server's counts for a multi-row INSERT (`Records: n  Duplicates: d` in the answer's info): rows sent,
 * and rows whose key already existed. Undefined when the answer has none (a single-row statement).
 */
export function insertCounts(result: ResultSetHeader): { records: number; duplicates: number } | undefined {
  const m = /Records:\s*(\d+)\s+Duplicates:\s*(\d+)/.exec(result.info ?? '');
  return m ? { records: Number(m[1]), duplicates: Number(m[2]) } : undefined;
}

/**
 * Runs `fn` with the session's clock (NOW(), CURDATE()…) set to `now` (UTC), and gives the clock back
 * before the connection is reused.
 */
export async function atClock<T>(q: ReadQuerier, now: string, fn: () => Promise<T>): Promise<T> {
  await q.select('SET timestamp = UNIX_TIMESTAMP(?)', [now]);
  try {
    return await fn();
  } finally {
    await q.select('SET timestamp = DEFAULT').catch(() => undefined);
  }
}

/** Runs reads. All an online database ever offers. */
export interface ReadQuerier {
  select<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

/** Runs reads and writes: only ever obtained from an offline target that passed the guard. */
export interface Querier extends ReadQuerier {
  execute(stmt: Statement): Promise<ResultSetHeader>;
}

/** What every opened database knows about its server. */
export interface ServerFacts {
  readonly name: string;
  readonly dialect: Dialect;
  /** Who the server is (server_uuid, or hostname:port:server_id), for the never-write-online guard. */
  readonly identity: string;
  /** The server's max_allowed_packet: statements and dead letters are sized under it. */
  readonly maxAllowedPacket: number;
}

/** An online database: reads only, on sessions the server itself keeps read-only. */
export interface OnlineDatabase extends ServerFacts, ReadQuerier {
  readonly role: 'online';
  /** Reads on one connection in a READ ONLY transaction, each statement bounded by `timeoutMs`. */
  readTransaction<T>(timeoutMs: number, fn: (q: ReadQuerier) => Promise<T>): Promise<T>;
}

/**
 * A pool that can write. Never handed out as is: shared/db/guard.ts wraps it in an OfflineTarget
 * once the server is proven distinct from every online database (test/architecture.test.ts checks
 * that nothing else calls `openWritablePool`).
 */
export interface WritablePool extends ServerFacts, Querier {
  /** One connection for `fn`; the session's statements are bounded by `timeoutMs`. */
  withConnection<T>(timeoutMs: number, fn: (conn: Querier) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

function querierOf(q: mysql.Pool | PoolConnection): Querier {
  return {
    async select<T extends Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      const [rows] = (await q.query({ sql, values: params as SqlValue[] })) as [
        RowDataPacket[],
        FieldPacket[],
      ];
      return rows as unknown as T[];
    },
    async execute(stmt: Statement): Promise<ResultSetHeader> {
      // Without parameters the text is sent as is: no client-side scan for placeholders.
      const [result] = stmt.params.length
        ? await q.query<ResultSetHeader>({ sql: stmt.sql, values: stmt.params })
        : await q.query<ResultSetHeader>(stmt.sql);
      return result;
    },
  };
}

async function endpointOf(db: DatabaseConfig, config: SyncConfig): Promise<Endpoint> {
  if (db.url) return parseMysqlUrl(db.url);
  // The schema guarantees one of url/secretId.
  return resolveSecret(db.secretId as string, config.secretCacheTtlSeconds * 1000);
}

interface OpenedPool {
  pool: mysql.Pool;
  facts: ServerFacts;
}

/**
 * Opens a pool and learns who the server is. A read-only pool makes every connection read-only at
 * the server before it is used: the statements queue in order on the connection, and a connection
 * whose setup failed is destroyed, so no query ever runs on a session that is not read-only.
 * `expectIdentity` (set by the guard for a writable pool) re-checks every later connection: a DNS
 * change mid-life cannot swap the server under a verified pool.
 */
async function openPool(
  name: string,
  db: DatabaseConfig,
  config: SyncConfig,
  readOnly: boolean,
): Promise<OpenedPool & { expectIdentity(identity: string): void }> {
  const endpoint = await endpointOf(db, config);
  const pool = mysql.createPool({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    ...(endpoint.database ? { database: endpoint.database } : {}),
    connectionLimit: db.poolSize,
    maxIdle: db.poolSize,
    connectTimeout: db.connectTimeoutMs,
    waitForConnections: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    decimalNumbers: false,
    timezone: 'Z',
    charset: 'utf8mb4_general_ci',
    multipleStatements: false,
    typeCast: exactTypeCast,
    ...(db.ssl ? { ssl: { rejectUnauthorized: true } } : {}),
  });
  let setup: string[] = [SESSION_INIT];
  let identitySql: string | undefined;
  let identity: string | undefined;
  // The callback pool emits 'connection' for every new connection, before any query of ours on it.
  pool.pool.on('connection', (conn) => {
    const destroy = () => conn.destroy();
    for (const sql of setup) conn.query(sql, (err: unknown) => err && destroy());
    if (identitySql && identity !== undefined) {
      const expected = identity;
      conn.query(identitySql, (err: unknown, rows: RowDataPacket[]) => {
        if (err || String(rows?.[0]?.id) !== expected) destroy();
      });
    }
  });
  let first: PoolConnection | undefined;
  try {
    // Learn the server on one connection and finish its setup by hand; every later connection gets the
    // whole setup from the 'connection' handler above before it serves any query.
    first = await pool.getConnection();
    const [[meta]] = (await first.query('SELECT VERSION() AS v, @@max_allowed_packet AS p')) as [
      RowDataPacket[],
      FieldPacket[],
    ];
    const dialect = dialectFor(String(meta?.v));
    const extra = [
      ...(readOnly && dialect.readOnlySession ? [dialect.readOnlySession] : []),
      ...dialect.sessionInit,
    ];
    for (const sql of extra) await first.query(sql);
    setup = [SESSION_INIT, ...extra];
    const [[id]] = (await first.query(dialect.identitySql)) as [RowDataPacket[], FieldPacket[]];
    const facts: ServerFacts = {
      name,
      dialect,
      identity: id?.id === null || id?.id === undefined || id.id === '' ? '' : String(id.id),
      maxAllowedPacket: Number(meta?.p) || 4 * 1024 * 1024,
    };
    first.release();
    first = undefined;
    return {
      pool,
      facts,
      expectIdentity(expected) {
        identitySql = dialect.identitySql;
        identity = expected;
      },
    };
  } catch (err) {
    first?.release();
    await pool.end().catch(() => undefined);
    throw unreachable(name, endpoint, err);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ECONNRESET',
  'EAI_AGAIN',
]);

/** A database the network could not reach (no server answered): named, so a log or an answer says which. */
export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
  /** Worth retrying: a server restarting, a network blip. */
  readonly transient = true;
  readonly code: string;
  constructor(
    readonly database: string,
    address: string,
    cause: { code: string; message?: string },
  ) {
    super(`cannot reach database "${database}" at ${address}: ${cause.message ?? cause.code}`, { cause });
    this.code = cause.code;
  }
}

function unreachable(name: string, endpoint: Endpoint, err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !NETWORK_CODES.has(code)) return err;
  return new DatabaseUnreachableError(name, `${endpoint.host}:${endpoint.port}`, err as { code: string });
}

function onlineDatabase({ pool, facts }: OpenedPool): OnlineDatabase & { end(): Promise<void> } {
  const base = querierOf(pool);
  return {
    ...facts,
    role: 'online',
    select: base.select,
    async readTransaction<T>(timeoutMs: number, fn: (q: ReadQuerier) => Promise<T>): Promise<T> {
      const conn = await pool.getConnection();
      try {
        await conn.query(facts.dialect.statementTimeout(timeoutMs));
        await conn.query(facts.dialect.startReadOnlyTransaction);
        const q = querierOf(conn);
        // Only the read method crosses: the callback cannot reach execute().
        return await fn({ select: q.select });
      } finally {
        await conn.query('COMMIT').catch(() => undefined);
        conn.release();
      }
    },
    end: () => pool.end(),
  };
}

function writablePool({ pool, facts }: OpenedPool): WritablePool {
  const base = querierOf(pool);
  return {
    ...facts,
    ...base,
    async withConnection<T>(timeoutMs: number, fn: (conn: Querier) => Promise<T>): Promise<T> {
      const conn = await pool.getConnection();
      try {
        await conn.query(facts.dialect.statementTimeout(timeoutMs));
        return await fn(querierOf(conn));
      } finally {
        conn.release();
      }
    },
    end: () => pool.end(),
  };
}

type Closable = { end(): Promise<void> };
/** One lazily opened pool per configured database per container, reused across warm invocations. */
const pools = new PromiseCache<Closable>();

const poolKey = (name: string, db: DatabaseConfig, mode: string) =>
  `${mode}\u0000${name}\u0000${db.url ?? db.secretId}`;

export class UnknownDatabaseError extends Error {
  override name = 'UnknownDatabaseError';
}

function configOf(name: string, config: SyncConfig): DatabaseConfig {
  const db = config.databases[name];
  if (!db) throw new UnknownDatabaseError(`unknown database "${name}"`);
  return db;
}

/** An online database, opened read-only at the server. */
export function getOnlineDatabase(name: string, config: SyncConfig): Promise<OnlineDatabase> {
  const db = configOf(name, config);
  if (db.role !== 'online') throw new UnknownDatabaseError(`"${name}" is not an online database`);
  return pools.get(poolKey(name, db, 'ro'), async () =>
    onlineDatabase(await openPool(name, db, config, true)),
  ) as unknown as Promise<OnlineDatabase>;
}

/**
 * A pool that can write, not yet proven offline. Only shared/db/guard.ts may call this; it calls
 * `verify` with the pool's facts and the pool is cached only once that resolves.
 */
export function openWritablePool(
  name: string,
  config: SyncConfig,
  verify: (facts: ServerFacts) => Promise<void>,
): Promise<WritablePool> {
  const db = configOf(name, config);
  return pools.get(poolKey(name, db, 'rw'), async () => {
    const opened = await openPool(name, db, config, false);
    try {
      await verify(opened.facts);
    } catch (err) {
      await opened.pool.end().catch(() => undefined);
      throw err;
    }
    opened.expectIdentity(opened.facts.identity);
    return writablePool(opened);
  }) as unknown as Promise<WritablePool>;
}

/** Drops a database's pools (e.g. after access denied: the secret may have rotated). */
export async function forgetDatabase(name: string, config: SyncConfig): Promise<void> {
  const db = config.databases[name];
  if (!db) return;
  await Promise.all(
    ['ro', 'rw'].map(async (mode) =>
      (await pools.delete(poolKey(name, db, mode))?.catch(() => undefined))?.end(),
    ),
  );
}

export async function closeAllDatabases(): Promise<void> {
  await Promise.all(pools.drain().map(async (p) => (await p.catch(() => undefined))?.end()));
}

/**
 * middy middleware for `serverless invoke local` (IS_LOCAL): pools are closed after the invocation so
 * the process can exit. In Lambda they stay open for the next warm invocation.
 */
/** Work started by an invocation to go on after it answered (local runs only; in AWS it is a new invocation). */
let localWork = 0;

/**
 * Runs `fn` once the current invocation has answered. Under `serverless invoke local` the databases are
 * closed after each invocation: they stay open until this work is done, and are closed after it.
 */
export function runAfterInvocationLocally(fn: () => Promise<unknown>): void {
  localWork += 1;
  setImmediate(() => {
    void fn().finally(async () => {
      localWork -= 1;
      if (localWork === 0 && process.env.IS_LOCAL) await closeAllDatabases();
    });
  });
}

export function closeDatabasesWhenLocal(): { after: () => Promise<void>; onError: () => Promise<void> } {
  const close = async () => {
    if (process.env.IS_LOCAL && localWork === 0) await closeAllDatabases();
  };
  return { after: close, onError: close };
}
