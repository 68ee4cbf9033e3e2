import { randomUUID } from 'node:crypto';
import mysql, {
  type FieldPacket,
  type PoolConnection,
  type ResultSetHeader,
  type RowDataPacket,
} from 'mysql2/promise';
import { type Endpoint, parseMysqlUrl } from '../config/endpoint';
import type { DatabaseConfig, SyncConfig } from '../config/schema';
import type { ServerInfo, SqlValue, Statement } from '../types';
import { classifyError } from './errors';
import { resolveSecret } from './secrets';
import { detectServer } from './server';

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

/** Something that runs statements: a pool or a connection inside a transaction. */
export interface Querier {
  select<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  execute(stmt: Statement): Promise<ResultSetHeader>;
}

export interface Database extends Querier {
  readonly name: string;
  readonly role: 'online' | 'offline';
  readonly server: ServerInfo;
  /** A server identity (server_uuid where the server has one) used by the never-write-online guard. */
  readonly identity: string;
  /** Runs `fn` in one transaction on one connection; commits on success, rolls back on throw. */
  transaction<T>(fn: (tx: Querier) => Promise<T>, opts?: { readOnly?: boolean }): Promise<T>;
  /** Runs `fn` on one pooled connection without a transaction. */
  withConnection<T>(fn: (conn: Querier) => Promise<T>): Promise<T>;
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
      const [result] = await q.query<ResultSetHeader>({ sql: stmt.sql, values: stmt.params });
      return result;
    },
  };
}

async function endpointOf(db: DatabaseConfig, config: SyncConfig): Promise<Endpoint> {
  if (db.url) return parseMysqlUrl(db.url);
  // The schema guarantees one of url/secretId.
  return resolveSecret(db.secretId as string, config.secretCacheTtlSeconds * 1000);
}

/**
 * Who this server is, for the never-write-online guard: server_uuid where there is one (MySQL), else
 * hostname:port:server_id (MariaDB; TiDB answers these too). A server that answers neither is
 * identified by nothing and so matches nothing: the config-level host:port check still applies.
 */
async function serverIdentity(pool: mysql.Pool, server: ServerInfo): Promise<string> {
  const ask = async (sql: string): Promise<RowDataPacket | undefined> => {
    try {
      const [[row]] = (await pool.query(sql)) as [RowDataPacket[], FieldPacket[]];
      return row;
    } catch (err) {
      if (classifyError(err) === 'transient') throw err;
      return undefined;
    }
  };
  if (server.kind === 'mysql') {
    const u = await ask('SELECT @@server_uuid AS u');
    if (u?.u) return String(u.u);
  }
  const m = await ask('SELECT @@hostname AS h, @@port AS p, @@server_id AS s');
  return m ? `${m.h}:${m.p}:${m.s}` : `unidentified:${randomUUID()}`;
}

export async function openDatabase(name: string, db: DatabaseConfig, config: SyncConfig): Promise<Database> {
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
  let extraInit = '';
  // The underlying callback pool emits 'connection' for every new connection, before any query on it.
  pool.pool.on('connection', (conn) => {
    conn.query(SESSION_INIT);
    if (extraInit) conn.query(extraInit);
  });
  let server: ServerInfo;
  let identity: string;
  try {
    const [[meta]] = (await pool.query('SELECT VERSION() AS v')) as [RowDataPacket[], FieldPacket[]];
    server = detectServer(String(meta?.v));
    identity = await serverIdentity(pool, server);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  if (server.kind === 'tidb') {
    // Lets offline AUTO_RANDOM keys take the online values; must precede any write.
    extraInit = 'SET @@session.allow_auto_random_explicit_insert = 1';
    await pool.query(extraInit);
  }

  const base = querierOf(pool);
  return {
    name,
    role: db.role,
    server,
    identity,
    ...base,
    async transaction<T>(fn: (tx: Querier) => Promise<T>, opts: { readOnly?: boolean } = {}): Promise<T> {
      const conn = await pool.getConnection();
      try {
        await conn.query(opts.readOnly ? 'START TRANSACTION READ ONLY' : 'START TRANSACTION');
        const result = await fn(querierOf(conn));
        await conn.query('COMMIT');
        return result;
      } catch (err) {
        // A rollback on a dead connection fails too; the original error is the one that matters.
        await conn.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        conn.release();
      }
    },
    async withConnection<T>(fn: (conn: Querier) => Promise<T>): Promise<T> {
      const conn = await pool.getConnection();
      try {
        return await fn(querierOf(conn));
      } finally {
        conn.release();
      }
    },
    end: () => pool.end(),
  };
}

/** One lazily opened pool per configured database per container, reused across warm invocations. */
const open = new Map<string, Promise<Database>>();

export function getDatabase(name: string, config: SyncConfig): Promise<Database> {
  const db = config.databases[name];
  if (!db) throw new Error(`unknown database "${name}"`);
  const key = `${name}\u0000${db.url ?? db.secretId}`;
  let pending = open.get(key);
  if (!pending) {
    pending = openDatabase(name, db, config);
    // A failed open must not poison the cache: the next invocation tries again.
    pending.catch(() => open.delete(key));
    open.set(key, pending);
  }
  return pending;
}

export async function closeAllDatabases(): Promise<void> {
  const all = [...open.values()];
  open.clear();
  await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.end()));
}

/**
 * middy middleware for `serverless invoke local` (IS_LOCAL): pools are closed after the invocation so
 * the process can exit. In Lambda they stay open for the next warm invocation.
 */
export function closeDatabasesWhenLocal(): { after: () => Promise<void>; onError: () => Promise<void> } {
  const close = async () => {
    if (process.env.IS_LOCAL) await closeAllDatabases();
  };
  return { after: close, onError: close };
}
