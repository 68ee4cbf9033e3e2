import { quoteIdentifier as q, quoteTable } from '../db/identifiers';
import type { ServerInfo, SqlRow, SqlValue, Statement, TableSchema } from '../types';

/**
 * The one SQL assembler: rows and keys in, `(sql, params)` out. Pure: no I/O, no server state
 * beyond the ServerInfo it is handed. Values only ever travel as `?` parameters.
 */

export interface ChunkLimits {
  /** Rows per statement. */
  maxRows: number;
  /** Approximate bytes of parameters per statement: under max_allowed_packet and TiDB's entry/txn limits. */
  maxBytes: number;
}

export const DEFAULT_LIMITS: ChunkLimits = { maxRows: 500, maxBytes: 4 * 1024 * 1024 };

/** Limits under a server's max_allowed_packet, keeping room for the statement's own text. */
export function limitsFor(maxAllowedPacket: number): ChunkLimits {
  return {
    maxRows: DEFAULT_LIMITS.maxRows,
    maxBytes: Math.min(DEFAULT_LIMITS.maxBytes, maxAllowedPacket - 64 * 1024),
  };
}

/** Bytes a value takes in the statement at worst: escaped text or hex bytes are up to twice as long. */
function sizeOf(v: SqlValue): number {
  if (v === null) return 4;
  return typeof v === 'string' ? Buffer.byteLength(v) * 2 + 2 : v.length * 2 + 3;
}

/** What a whole row adds to a statement at worst. */
export function rowBytes(row: SqlRow): number {
  let n = 0;
  for (const v of Object.values(row)) n += sizeOf(v) + 2;
  return n;
}

/** Splits items into runs that respect both limits; an oversized single item still gets a run of its own. */
export function chunk<T>(items: readonly T[], weight: (item: T) => number, limits: ChunkLimits): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const w = weight(item);
    if (current.length > 0 && (current.length >= limits.maxRows || bytes + w > limits.maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += w;
  }
  if (current.length) out.push(current);
  return out;
}

const rowWeight = (columns: readonly string[]) => (row: SqlRow) =>
  columns.reduce((n, c) => n + sizeOf(row[c] ?? null), 0);

/** Columns of `row` that the offline table has and that may be written (not generated), in table order. */
export function writableColumns(table: TableSchema, row: SqlRow): string[] {
  return table.columns.filter((c) => !c.generated && Object.hasOwn(row, c.name)).map((c) => c.name);
}

/** Groups rows that set the same columns, so each group is one multi-row statement shape. */
function groupByColumns<R extends SqlRow>(
  table: TableSchema,
  rows: readonly R[],
): Map<string, { columns: string[]; rows: R[] }> {
  const groups = new Map<string, { columns: string[]; rows: R[] }>();
  for (const row of rows) {
    const columns = writableColumns(table, row);
    const key = columns.join('\u0000');
    const group = groups.get(key) ?? { columns, rows: [] };
    group.rows.push(row);
    groups.set(key, group);
  }
  return groups;
}

function valuesClause(
  columns: readonly string[],
  rows: readonly SqlRow[],
): { sql: string; params: SqlValue[] } {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  return {
    sql: rows.map(() => tuple).join(', '),
    params: rows.flatMap((r) => columns.map((c) => r[c] ?? null)),
  };
}

/** A statement together with the rows it writes, so a failed statement can be retried row by row. */
export interface RowsStatement<R extends SqlRow = SqlRow> {
  statement: Statement;
  rows: R[];
}

function assembleInsertLike<R extends SqlRow>(
  verb: 'INSERT' | 'REPLACE',
  table: TableSchema,
  rows: readonly R[],
  onDuplicate: ((columns: string[]) => string) | null,
  limits: ChunkLimits,
): RowsStatement<R>[] {
  const out: RowsStatement<R>[] = [];
  for (const { columns, rows: groupRows } of groupByColumns(table, rows).values()) {
    if (columns.length === 0) continue;
    for (const part of chunk(groupRows, rowWeight(columns), limits)) {
      const values = valuesClause(columns, part);
      const head = `${verb} INTO ${quoteTable(table.ref)} (${columns.map(q).join(', ')}) VALUES ${values.sql}`;
      out.push({
        statement: { sql: onDuplicate ? `${head}${onDuplicate(columns)}` : head, params: values.params },
        rows: part,
      });
    }
  }
  return out;
}

const statementsOf = (parts: RowsStatement[]): Statement[] => parts.map((p) => p.statement);

/**
 * Insert-or-update by the table's keys. Columns a row does not carry keep their offline values on
 * update and their defaults on insert. MySQL 8.0.19+ gets the row alias (VALUES() is deprecated
 * there); MariaDB and TiDB only know VALUES().
 */
export function assembleUpsert(
  table: TableSchema,
  rows: readonly SqlRow[],
  server: ServerInfo,
  limits: ChunkLimits = DEFAULT_LIMITS,
): Statement[] {
  return statementsOf(assembleUpsertParts(table, rows, server, limits));
}

export function assembleUpsertParts<R extends SqlRow>(
  table: TableSchema,
  rows: readonly R[],
  server: ServerInfo,
  limits: ChunkLimits = DEFAULT_LIMITS,
): RowsStatement<R>[] {
  return upsertParts(table, rows, server, limits, false);
}

/**
 * The upsert with a guard for the happy path, which checks nothing beforehand: each identity column is
 * set to itself only when the duplicate row has the same identity (`IF(id <=> VALUES(id), id, NULL)`).
 * A row that meets another row on a unique key would otherwise silently update that other row; with
 * the guard the NOT NULL identity refuses the NULL under strict mode (1048), the server rolls back the
 * statement, and the caller takes the careful path (lookups, conflict policy, dead letters).
 */
export function assembleGuardedUpsertParts<R extends SqlRow>(
  table: TableSchema,
  rows: readonly R[],
  server: ServerInfo,
  limits: ChunkLimits = DEFAULT_LIMITS,
): RowsStatement<R>[] {
  return upsertParts(table, rows, server, limits, true);
}

function upsertParts<R extends SqlRow>(
  table: TableSchema,
  rows: readonly R[],
  server: ServerInfo,
  limits: ChunkLimits,
  guarded: boolean,
): RowsStatement<R>[] {
  const identity = new Set(table.identity);
  const incoming = (c: string) => (server.supportsRowAlias ? `new.${q(c)}` : `VALUES(${q(c)})`);
  return assembleInsertLike(
    'INSERT',
    table,
    rows,
    (columns) => {
      const updatable = columns.filter((c) => !identity.has(c));
      // Guards first: MySQL applies the assignments left to right.
      const guards = guarded
        ? table.identity.map((c) => `${q(c)} = IF(${q(c)} <=> ${incoming(c)}, ${q(c)}, NULL)`)
        : [];
      // A row of key columns only: nothing to update, but a duplicate must not be an error.
      const first = columns[0] as string;
      const sets = updatable.length
        ? updatable.map((c) => `${q(c)} = ${incoming(c)}`)
        : guards.length
          ? []
          : [`${q(first)} = ${q(first)}`];
      return `${server.supportsRowAlias ? ' AS new' : ''} ON DUPLICATE KEY UPDATE ${[...guards, ...sets].join(', ')}`;
    },
    limits,
  );
}

/** Plain multi-row INSERT: a duplicate is an error. */
export function assembleInsert(
  table: TableSchema,
  rows: readonly SqlRow[],
  limits = DEFAULT_LIMITS,
): Statement[] {
  return statementsOf(assembleInsertLike('INSERT', table, rows, null, limits));
}

/** REPLACE INTO: deletes every row the new one collides with (PK or unique key), then inserts. */
export function assembleReplace(
  table: TableSchema,
  rows: readonly SqlRow[],
  limits = DEFAULT_LIMITS,
): Statement[] {
  return statementsOf(assembleReplaceParts(table, rows, limits));
}

export function assembleReplaceParts<R extends SqlRow>(
  table: TableSchema,
  rows: readonly R[],
  limits = DEFAULT_LIMITS,
): RowsStatement<R>[] {
  return assembleInsertLike('REPLACE', table, rows, null, limits);
}

/** `(a, b) IN ((?, ?), ...)`, or `a IN (?, ...)` for one column: forms every supported server indexes. */
export function keyInList(
  columns: readonly string[],
  keys: readonly SqlRow[],
): { sql: string; params: SqlValue[] } {
  if (columns.length === 1) {
    const col = columns[0] as string;
    return {
      sql: `${q(col)} IN (${keys.map(() => '?').join(', ')})`,
      params: keys.map((k) => k[col] ?? null),
    };
  }
  const values = valuesClause(columns, keys);
  return { sql: `(${columns.map(q).join(', ')}) IN (${values.sql})`, params: values.params };
}

/** Deletes rows by key values (the identity columns, or any other key given). */
export function assembleDelete(
  table: TableSchema,
  keys: readonly SqlRow[],
  keyColumns: readonly string[] = table.identity,
  limits = DEFAULT_LIMITS,
): Statement[] {
  return chunk(keys, rowWeight(keyColumns), limits).map((part) => {
    const where = keyInList(keyColumns, part);
    return { sql: `DELETE FROM ${quoteTable(table.ref)} WHERE ${where.sql}`, params: where.params };
  });
}

/** Reads the rows whose `keyColumns` match any of `keys`; selects `columns` (all when omitted). */
export function assembleSelectByKeys(
  table: TableSchema,
  keyColumns: readonly string[],
  keys: readonly SqlRow[],
  columns?: readonly string[],
  limits = DEFAULT_LIMITS,
): Statement[] {
  const list = columns ? columns.map(q).join(', ') : '*';
  return chunk(keys, rowWeight(keyColumns), limits).map((part) => {
    const where = keyInList(keyColumns, part);
    return { sql: `SELECT ${list} FROM ${quoteTable(table.ref)} WHERE ${where.sql}`, params: where.params };
  });
}

/**
 * A source TRUNCATE as DELETE of every row: TRUNCATE is DDL and would commit the batch's transaction
 * half way; DELETE keeps the batch atomic (offline AUTO_INCREMENT counters are not reset, and need not be:
 * mirrored rows carry their online ids).
 */
export function assembleTruncate(table: TableSchema): Statement {
  return { sql: `DELETE FROM ${quoteTable(table.ref)}`, params: [] };
}

/**
 * One page of a keyset scan: rows matching `condition` after the key `after`, in key order.
 * The row comparison is spelled out (a > ? OR (a = ? AND b > ?)) because not every server turns
 * `(a, b) > (?, ?)` into an index range.
 */
export function assembleKeysetPage(
  table: TableSchema,
  condition: Statement,
  after: SqlRow | null,
  limit: number,
  columns?: readonly string[],
): Statement {
  const key = table.identity;
  const params: SqlValue[] = [...condition.params];
  let sql = `SELECT ${columns ? columns.map(q).join(', ') : '*'} FROM ${quoteTable(table.ref)} WHERE (${condition.sql})`;
  if (after) {
    const ors = key.map((col, i) => {
      const eqs = key.slice(0, i).map((c) => {
        params.push(after[c] ?? null);
        return `${q(c)} = ?`;
      });
      params.push(after[col] ?? null);
      return `(${[...eqs, `${q(col)} > ?`].join(' AND ')})`;
    });
    sql += ` AND (${ors.join(' OR ')})`;
  }
  sql += ` ORDER BY ${key.map(q).join(', ')} LIMIT ${Math.max(1, Math.floor(limit))}`;
  return { sql, params };
}

/** COUNT(*) of rows matching a compiled condition, to refuse requests above the cap. */
export function assembleCount(table: TableSchema, condition: Statement, cap?: number): Statement {
  // With a cap, counting stops at cap + 1: enough to refuse, without scanning a huge table to the end.
  if (cap === undefined)
    return {
      sql: `SELECT COUNT(*) AS n FROM ${quoteTable(table.ref)} WHERE (${condition.sql})`,
      params: [...condition.params],
    };
  return {
    sql: `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${quoteTable(table.ref)} WHERE (${condition.sql}) LIMIT ${Math.floor(cap) + 1}) AS capped`,
    params: [...condition.params],
  };
}
