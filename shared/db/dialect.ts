import type { ServerInfo } from '../types';

/**
 * Everything that differs by server kind lives here, one Dialect per kind (as Debezium's JDBC sink
 * keeps one per database): the upsert form, how to bound a statement's time, how a session is made
 * read-only, how a server identifies itself, and how large one transaction may grow.
 */
export interface Dialect extends ServerInfo {
  /** SQL that bounds every following statement of the session to `ms` (writes included where the server can). */
  statementTimeout(ms: number): string;
  /**
   * Makes the session itself refuse writes: the server, not our code, stops a write to an online
   * database. Null where the server accepts the syntax only (TiDB): there a SELECT-only user is the bound.
   */
  readonly readOnlySession: string | null;
  /** Opens a transaction for reads; read-only where the server enforces it. */
  readonly startReadOnlyTransaction: string;
  /** Extra session settings run on every new connection (after the shared exact-value settings). */
  readonly sessionInit: readonly string[];
  /** A query answering one row that identifies the server (for the never-write-online guard). */
  readonly identitySql: string;
  /** Changes per transaction: TiDB caps a transaction's size, the others take a whole batch. */
  readonly changesPerTransaction: number;
}

/** Which server speaks, from its VERSION() text, and which SQL forms it accepts. */
export function detectServer(version: string): ServerInfo {
  if (/-TiDB-/i.test(version)) return { kind: 'tidb', version, supportsRowAlias: false };
  if (/mariadb/i.test(version)) return { kind: 'mariadb', version, supportsRowAlias: false };
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/, 3).map((p) => Number.parseInt(p, 10) || 0);
  // `INSERT ... AS new ON DUPLICATE KEY UPDATE c = new.c` arrived in 8.0.19; VALUES(c) is deprecated from 8.0.20.
  const rowAlias = major > 8 || (major === 8 && (minor > 0 || patch >= 19));
  return { kind: 'mysql', version, supportsRowAlias: rowAlias };
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export function dialectFor(version: string): Dialect {
  const server = detectServer(version);
  const readOnlySession = 'SET SESSION TRANSACTION READ ONLY';
  const startReadOnlyTransaction = 'START TRANSACTION READ ONLY';
  switch (server.kind) {
    case 'mariadb':
      return {
        ...server,
        // max_statement_time covers every statement kind on MariaDB; the lock wait bound is belt and braces.
        statementTimeout: (ms) =>
          `SET SESSION max_statement_time = ${(Math.max(ms, 1000) / 1000).toFixed(3)}, innodb_lock_wait_timeout = ${seconds(ms)}`,
        readOnlySession,
        startReadOnlyTransaction,
        sessionInit: [],
        identitySql: "SELECT CONCAT_WS(':', @@hostname, @@port, @@server_id) AS id",
        changesPerTransaction: Number.POSITIVE_INFINITY,
      };
    case 'mysql':
      return {
        ...server,
        // max_execution_time bounds SELECTs only; writes are bounded by how long they may wait for a lock.
        statementTimeout: (ms) =>
          `SET SESSION max_execution_time = ${Math.max(1000, Math.floor(ms))}, innodb_lock_wait_timeout = ${seconds(ms)}`,
        readOnlySession,
        startReadOnlyTransaction,
        sessionInit: [],
        identitySql: 'SELECT @@server_uuid AS id',
        changesPerTransaction: Number.POSITIVE_INFINITY,
      };
    case 'tidb':
      return {
        ...server,
        statementTimeout: (ms) =>
          `SET SESSION max_execution_time = ${Math.max(1000, Math.floor(ms))}, innodb_lock_wait_timeout = ${seconds(ms)}`,
        // TiDB takes READ ONLY as syntax only (an error unless tidb_enable_noop_functions): nothing to rely on.
        readOnlySession: null,
        startReadOnlyTransaction: 'START TRANSACTION',
        // Lets offline AUTO_RANDOM keys take the online values; must precede any write.
        sessionInit: ['SET @@session.allow_auto_random_explicit_insert = 1'],
        identitySql: "SELECT CONCAT_WS(':', @@hostname, @@port, @@server_id) AS id",
        changesPerTransaction: 2_000,
      };
  }
}
