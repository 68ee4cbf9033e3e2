import { assembleDelete, assembleSelectByKeys, assembleUpsertParts } from '../assembler/statements';
import type { SyncConfig } from '../config/schema';
import { atClock, type ReadQuerier } from '../db/connection';
import { quoteIdentifier as q, quoteTable } from '../db/identifiers';
import { INTEGER_TYPES, isByteColumn } from '../formats/column-types';
import { compileCondition } from '../manual/condition';
import { type Prepared, readOnline } from '../manual/sync';
import type { ColumnInfo, SqlRow, SqlValue, Statement, TableSchema } from '../types';

/**
 * Row verification of one online table against its offline twin, by primary-key chunks: each chunk's
 * rows are digested on both servers (count and XOR of a CRC32 of every common column's exact value
 * as the server renders it), so only two digests per chunk cross the network when the chunk is equal;
 * a chunk that differs is narrowed to rows (per-row digests), and differing rows to columns. Keys found
 * in drift are checked once more at the end, so a row CDC changed during the scan is not reported.
 * Online reads run in read-only transactions with a statement time limit, paced to `rowsPerSecond`.
 */

export type Key = Record<string, SqlValue>;

export interface RowDriftReport {
  /** Rows compared (online side). */
  rows: number;
  chunks: number;
  chunksDiffering: number;
  /** Keys online has and offline lacks. */
  missing: Key[];
  /** Keys offline has and online lacks. */
  extra: Key[];
  /** Keys on both sides with other values, and which columns differ. */
  differing: { key: Key; columns: string[] }[];
  /** Bytes of digests and rows read from both servers (what crossed the network, roughly). */
  bytesRead: number;
  durationMs: number;
}

export interface VerifyOptions {
  chunkSize: number;
  /** Online rows read per second at most (production is never stressed); 0: unpaced. */
  rowsPerSecond: number;
}

const isBytes = (c: ColumnInfo) => isByteColumn(c.dataType);

/**
 * One column's exact value as text the server renders the same way on both sides: bytes as hex, text
 * as the hex of its UTF-8 form (so a charset difference alone is not drift, a different character is),
 * numbers and temporal values as the server's own text. NULL is distinct from every value.
 */
function valueText(column: ColumnInfo, name: string): string {
  const c = q(name);
  const text = isBytes(column)
    ? `HEX(${c})`
    : column.charset !== null
      ? `HEX(CONVERT(${c} USING utf8mb4))`
      : `CAST(${c} AS CHAR)`;
  return `IF(${c} IS NULL, 'N', CONCAT('V', ${text}))`;
}

interface Side {
  db: ReadQuerier;
  /** Runs `fn` with this side on one session (online: one read-only transaction) for all its reads. */
  within<T>(fn: (side: Side) => Promise<T>): Promise<T>;
  table: TableSchema;
  /** Common columns, in one order, as this side names them. */
  columns: string[];
  key: string[];
  condition: Statement;
}

/**
 * One row as one string for digests, cheap for the server: the columns joined with `#`, then the
 * character length of every text and byte column and a NULL flag per column, so the string parses one
 * way only (a `#` inside a value cannot shift a boundary, NULL is not ''). Text not stored as utf8mb4
 * is converted to it, so a charset difference alone is not drift; numbers and temporal values are the
 * server's own text.
 */
function rowImage(side: Side): string {
  return rowImageSql(side.table, side.columns);
}

/** rowImage for a table and its compared columns (exported for the benchmark's server-only floor). */
export function rowImageSql(table: TableSchema, names: readonly string[]): string {
  const byName = new Map(table.columns.map((c) => [c.name, c]));
  const columns = names.map((n) => byName.get(n) as ColumnInfo);
  const value = (c: ColumnInfo) =>
    c.charset !== null && c.charset !== 'utf8mb4' ? `CONVERT(${q(c.name)} USING utf8mb4)` : q(c.name);
  const lengths = columns
    .filter((c) => c.charset !== null || isBytes(c))
    .map((c) => `${c.charset !== null ? 'CHAR_LENGTH' : 'LENGTH'}(${q(c.name)})`);
  const nulls = columns.map((c) => `ISNULL(${q(c.name)})`);
  return `CONCAT_WS('#', ${[...columns.map(value), ...lengths, ...nulls].join(', ')})`;
}

function rowDigest(side: Side): string {
  return `MD5(${rowImage(side)})`;
}

/** `(a, b) > (x, y)` (or `<=`) spelled out, for servers that do not range-scan row comparisons. */
function keyBound(key: string[], row: SqlRow, op: '>' | '<='): Statement {
  const params: SqlValue[] = [];
  const strict = op === '>' ? '>' : '<';
  const ors = key.map((col, i) => {
    const eqs = key.slice(0, i).map((c) => {
      params.push(row[c] ?? null);
      return `${q(c)} = ?`;
    });
    params.push(row[col] ?? null);
    return `(${[...eqs, `${q(col)} ${strict} ?`].join(' AND ')})`;
  });
  if (op === '<=') {
    params.push(...key.map((c) => row[c] ?? null));
    ors.push(`(${key.map((c) => `${q(c)} = ?`).join(' AND ')})`);
  }
  return { sql: `(${ors.join(' OR ')})`, params };
}

function rangeWhere(side: Side, after: SqlRow | null, upTo: SqlRow): Statement {
  const parts = [
    side.condition,
    ...(after ? [keyBound(side.key, after, '>')] : []),
    keyBound(side.key, upTo, '<='),
  ];
  return { sql: parts.map((p) => `(${p.sql})`).join(' AND '), params: parts.flatMap((p) => p.params) };
}

/**
 * A chunk's digest: the row count and the XOR of each row's CRC32 (as pt-table-checksum does; cheap
 * for the server). A chunk whose digests agree is taken as equal; one that differs is compared row by
 * row with MD5, then column by column.
 */
async function chunkDigest(side: Side, where: Statement): Promise<string> {
  const [r] = await side.db.select(
    `SELECT COUNT(*) AS n, BIT_XOR(CRC32(${rowImage(side)})) AS x FROM ${quoteTable(side.table.ref)} WHERE ${where.sql}`,
    where.params,
  );
  return `${r?.n}:${r?.x}`;
}

const keyText = (key: string[], row: SqlRow) =>
  JSON.stringify(
    key.map((c) => (Buffer.isBuffer(row[c]) ? `0x${(row[c] as Buffer).toString('hex')}` : row[c])),
  );

async function rowDigests(side: Side, where: Statement): Promise<Map<string, { key: Key; digest: string }>> {
  const rows = await side.db.select(
    `SELECT ${side.key.map(q).join(', ')}, ${rowDigest(side)} AS _digest FROM ${quoteTable(side.table.ref)} WHERE ${where.sql}`,
    where.params,
  );
  return new Map(
    rows.map((r) => [
      keyText(side.key, r),
      { key: Object.fromEntries(side.key.map((c) => [c, r[c] ?? null])), digest: String(r._digest) },
    ]),
  );
}

/** The per-column texts of the rows with these keys (to name the differing columns). */
async function columnTexts(side: Side, keys: Key[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (keys.length === 0) return out;
  const byName = new Map(side.table.columns.map((c) => [c.name, c]));
  const list = side.columns.map((n, i) => `${valueText(byName.get(n) as ColumnInfo, n)} AS _c${i}`);
  for (const stmt of assembleSelectByKeys(
    side.table,
    side.key,
    keys.map((k) => rekey(k, side.key)),
  )) {
    const sql = stmt.sql.replace(/^SELECT \*/, `SELECT ${side.key.map(q).join(', ')}, ${list.join(', ')}`);
    for (const r of await side.db.select(sql, stmt.params))
      out.set(
        keyText(side.key, r),
        side.columns.map((_, i) => String(r[`_c${i}`])),
      );
  }
  return out;
}

/** A key named by one side's key columns → the same values named by `key` (same order). */
function rekey(k: Key, key: string[]): SqlRow {
  const values = Object.values(k);
  return Object.fromEntries(key.map((c, i) => [c, values[i] ?? null]));
}

/** A side before it is given its sessions (see sideOn). */
type SideSpec = Omit<Side, 'within'>;

function sides(p: Prepared, where: string): { online: SideSpec; offline: SideSpec } {
  const onlineCols = p.pairs.map((c) => c.online);
  const offlineCols = p.pairs.map((c) => c.offline);
  // The offline key, in online names where the column is common (it must be: prepare checks).
  const offlineKey = p.offlineTable.identity;
  const onlineKey = offlineKey.map((k) => p.pairs.find((c) => c.offline === k)?.online ?? k);
  const offlineCondition = compileCondition(
    where,
    p.offlineTable.columns.map((c) => c.name),
    q,
  );
  return {
    online: {
      db: p.online,
      table: p.onlineTable,
      columns: onlineCols,
      key: onlineKey,
      condition: p.condition,
    },
    offline: {
      db: p.offline,
      table: p.offlineTable,
      columns: offlineCols,
      key: offlineKey,
      condition: offlineCondition,
    },
  };
}

/** A side whose reads run through `session`: one statement per session, or all of `within`'s at once. */
function sideOn(side: SideSpec, session: <T>(fn: (q: ReadQuerier) => Promise<T>) => Promise<T>): Side {
  const self: Side = {
    ...side,
    db: { select: (sql, params) => session((q) => q.select(sql, params)) },
    within: (fn) => session((q) => fn({ ...self, db: q })),
  };
  return self;
}

/** Reads go online inside a read-only transaction with the statement time limit. */
function onlineSide(p: Prepared, config: SyncConfig, side: SideSpec): Side {
  return sideOn(side, (fn) => readOnline(p, config, fn));
}

/**
 * Offline reads on a session whose clock is the run's start, as online (readOnline): a condition with
 * NOW() selects the same window on both sides.
 */
function offlineSide(p: Prepared, side: SideSpec): Side {
  return sideOn(side, (fn) =>
    p.offline.session(
      () => 600_000,
      (s) => atClock(s, p.now, () => fn(s)),
    ),
  );
}

/** Where a verification stands between invocations: kept with the run, so the next invocation goes on. */
export interface VerifyProgress {
  /** The last chunk's upper key (null: nothing scanned yet). */
  after: SqlRow | null;
  rows: number;
  chunks: number;
  chunksDiffering: number;
  bytesRead: number;
  /** Keys that looked different, checked again when the scan ends. */
  suspects: { missing: Key[]; extra: Key[]; differing: Key[] };
  /** Time spent scanning so far (pacing and the report count it across invocations). */
  elapsedMs: number;
  /** Whether the last chunk differed (the next then starts with its buckets). */
  lastDiffered?: boolean;
}

export const newProgress = (): VerifyProgress => ({
  after: null,
  rows: 0,
  chunks: 0,
  chunksDiffering: 0,
  bytesRead: 0,
  suspects: { missing: [], extra: [], differing: [] },
  elapsedMs: 0,
});

/**
 * One chunk: its upper key (the `chunkSize`-th online key after the last chunk; the server walks the
 * index, one key crosses the network; none: the last chunk, open-ended, reaching past the last online
 * key so offline rows beyond it are extra), its digests, and the keys of what differs in it.
 */
async function scanChunk(
  online: Side,
  offline: Side,
  after: SqlRow | null,
  chunkSize: number,
  state: VerifyProgress,
): Promise<SqlRow | undefined> {
  const page = boundaryAfter(online, after, chunkSize);
  const [last] = await online.db.select(page.sql, page.params);
  state.bytesRead += 16;
  const upTo = last ?? null;
  const onlineWhere = upTo ? rangeWhere(online, after, upTo) : openRange(online, after);
  const offlineWhere = upTo
    ? rangeWhere(offline, rekeyOrNull(after, offline.key), rekey(upTo, offline.key))
    : openRange(offline, rekeyOrNull(after, offline.key));
  state.chunks += 1;
  const bucketsFirst = state.lastDiffered === true;
  const chunk = await compareChunk(online, offline, onlineWhere, offlineWhere, after, upTo, bucketsFirst);
  state.lastDiffered = chunk.ranges.length > 0;
  state.rows += chunk.rows;
  state.bytesRead += chunk.bytesRead;
  if (chunk.ranges.length > 0) {
    state.chunksDiffering += 1;
    for (const [onWhere, offWhere] of chunk.ranges) {
      const [on, off] = await Promise.all([rowDigests(online, onWhere), rowDigests(offline, offWhere)]);
      state.bytesRead += (on.size + off.size) * 48;
      for (const [k, v] of on) {
        const other = off.get(k);
        if (!other) state.suspects.missing.push(v.key);
        else if (other.digest !== v.digest) state.suspects.differing.push(v.key);
      }
      for (const [k, v] of off) if (!on.has(k)) state.suspects.extra.push(v.key);
    }
  }
  return last;
}

/**
 * Scans from `progress` until the table ends (the report, after the re-check) or `until` (a timestamp) passes
 * (the progress, to go on with in another invocation).
 */
export async function verifyRows(
  p: Prepared,
  config: SyncConfig,
  where: string,
  opts: VerifyOptions & { progress?: VerifyProgress; until?: number },
): Promise<{ done: true; report: RowDriftReport } | { done: false; progress: VerifyProgress }> {
  const state = opts.progress ?? newProgress();
  const started = Date.now() - state.elapsedMs;
  const both = sides(p, where);
  const online = onlineSide(p, config, both.online);
  const offline = offlineSide(p, both.offline);
  let after = state.after;
  for (;;) {
    // A chunk's reads share one session a side (online: one read-only transaction): not one per statement.
    const last = await online.within((on) =>
      offline.within((off) => scanChunk(on, off, after, opts.chunkSize, state)),
    );
    if (last === undefined) break;
    after = last as SqlRow;
    state.after = after;
    state.elapsedMs = Date.now() - started;
    if (opts.until !== undefined && Date.now() >= opts.until) return { done: false, progress: state };
    await pace(opts.rowsPerSecond, state.rows, started);
  }
  const report: RowDriftReport = {
    rows: state.rows,
    chunks: state.chunks,
    chunksDiffering: state.chunksDiffering,
    missing: [],
    extra: [],
    differing: [],
    bytesRead: state.bytesRead,
    durationMs: 0,
  };
  // Once more for what looked different: a change CDC applied during the scan is not drift.
  await recheck(online, offline, state.suspects, report);
  report.durationMs = Date.now() - started;
  return { done: true, report };
}

/** Buckets a chunk of an integer key is digested in. */
const BUCKETS = 64n;

/**
 * A chunk's rows (online) and the parts of it to compare row by row (none: equal). Each side digests
 * the chunk once (count, XOR of CRC32s). When the digests differ, a chunk between two keys of a
 * one-column integer key (the common case) is digested again per bucket of key values (`key DIV width`,
 * one grouped query a side: still digests only, about 64 per chunk; straight away when the chunk before
 * differed too), so a few differing rows cost the rows of their buckets, not the whole chunk. Other
 * keys, and the open-ended first and last chunks, are compared whole.
 */
async function compareChunk(
  online: Side,
  offline: Side,
  onlineWhere: Statement,
  offlineWhere: Statement,
  after: SqlRow | null,
  upTo: SqlRow | null,
  /** The chunk before differed: drift is spread out, go to the buckets at once. */
  bucketsFirst: boolean,
): Promise<{ rows: number; ranges: [Statement, Statement][]; bytesRead: number }> {
  const integerKey = (side: Side) =>
    side.key.length === 1 &&
    INTEGER_TYPES.has(side.table.columns.find((c) => c.name === side.key[0])?.dataType ?? '');
  const bucketed = after && upTo && integerKey(online) && integerKey(offline);
  let bytesRead = 0;
  if (!bucketed || !bucketsFirst) {
    // One digest a side (cheaper for the server than the grouped one): equal chunks, the rule, end here.
    const [a, b] = await Promise.all([chunkDigest(online, onlineWhere), chunkDigest(offline, offlineWhere)]);
    bytesRead = a.length + b.length;
    if (a === b || !bucketed)
      return {
        rows: Number(a.split(':')[0]),
        ranges: a === b ? [] : [[onlineWhere, offlineWhere]],
        bytesRead,
      };
  }
  const [lo, hi] = [after, upTo].map((r) => BigInt(String(Object.values(r)[0])));
  const width = ((hi as bigint) - (lo as bigint)) / BUCKETS + 1n;
  const digests = async (side: Side, where: Statement) => {
    const rows = await side.db.select(
      `SELECT ${q(side.key[0] as string)} DIV CAST(? AS SIGNED) AS b, COUNT(*) AS n, BIT_XOR(CRC32(${rowImage(side)})) AS x FROM ${quoteTable(side.table.ref)} WHERE ${where.sql} GROUP BY b ORDER BY NULL`,
      [String(width), ...where.params],
    );
    return new Map(rows.map((r) => [String(r.b), `${r.n}:${r.x}`]));
  };
  const [on, off] = await Promise.all([digests(online, onlineWhere), digests(offline, offlineWhere)]);
  const differing = [...new Set([...on.keys(), ...off.keys()])].filter((b) => on.get(b) !== off.get(b));
  // A bucket's key values: DIV truncates toward zero, so bucket 0 spans both signs.
  const within = (side: Side, where: Statement, b: bigint): Statement => {
    const first = b > 0n ? b * width : b < 0n ? b * width - width + 1n : -(width - 1n);
    const last = b > 0n ? b * width + width - 1n : b < 0n ? b * width : width - 1n;
    return {
      sql: `(${where.sql}) AND ${q(side.key[0] as string)} BETWEEN ? AND ?`,
      params: [...where.params, String(first), String(last)],
    };
  };
  let rows = 0;
  for (const digest of on.values()) rows += Number(digest.split(':')[0]);
  return {
    rows,
    ranges: differing.map((text) => {
      const b = BigInt(text);
      return [within(online, onlineWhere, b), within(offline, offlineWhere, b)];
    }),
    bytesRead: bytesRead + (on.size + off.size) * 24,
  };
}

function boundaryAfter(side: Side, after: SqlRow | null, size: number): Statement {
  const bound = after ? keyBound(side.key, after, '>') : undefined;
  return {
    sql: `SELECT ${side.key.map(q).join(', ')} FROM ${quoteTable(side.table.ref)} WHERE (${side.condition.sql})${bound ? ` AND ${bound.sql}` : ''} ORDER BY ${side.key.map(q).join(', ')} LIMIT 1 OFFSET ${Math.max(0, Math.floor(size) - 1)}`,
    params: [...side.condition.params, ...(bound?.params ?? [])],
  };
}

function openRange(side: Side, after: SqlRow | null): Statement {
  const parts = [side.condition, ...(after ? [keyBound(side.key, after, '>')] : [])];
  return { sql: parts.map((p) => `(${p.sql})`).join(' AND '), params: parts.flatMap((p) => p.params) };
}

const rekeyOrNull = (row: SqlRow | null, key: string[]) => (row ? rekey(row, key) : null);

async function pace(rowsPerSecond: number, rows: number, started: number): Promise<void> {
  if (rowsPerSecond <= 0) return;
  const due = (rows / rowsPerSecond) * 1000 - (Date.now() - started);
  if (due > 0) await new Promise((r) => setTimeout(r, due));
}

async function recheck(
  online: Side,
  offline: Side,
  suspects: { missing: Key[]; extra: Key[]; differing: Key[] },
  report: RowDriftReport,
): Promise<void> {
  const all = [...suspects.missing, ...suspects.extra, ...suspects.differing];
  if (all.length === 0) return;
  const onlineTexts = await columnTexts(online, all);
  const offlineTexts = await columnTexts(offline, all);
  for (const key of all) {
    const on = onlineTexts.get(keyText(online.key, rekey(key, online.key)));
    const off = offlineTexts.get(keyText(offline.key, rekey(key, offline.key)));
    if (on && !off) report.missing.push(rekey(key, offline.key));
    else if (!on && off) report.extra.push(rekey(key, offline.key));
    else if (on && off) {
      const columns = offline.columns.filter((_, i) => on[i] !== off[i]);
      if (columns.length) report.differing.push({ key: rekey(key, offline.key), columns });
    }
  }
}

export interface RepairResult {
  dryRun: boolean;
  /** Rows copied from online (missing ones and differing ones). */
  copied: number;
  /** Extra offline rows deleted (only with deleteExtra). */
  deleted: number;
  keys: { copy: Key[]; delete: Key[] };
}

/**
 * Makes offline equal to online for the keys of a report: the missing and differing rows are read
 * online and written offline (the manual sync's upsert), the extra rows deleted only when asked.
 * Nothing else is touched. A dry run only says what would be done.
 */
export async function repairRows(
  p: Prepared,
  config: SyncConfig,
  report: Pick<RowDriftReport, 'missing' | 'extra' | 'differing'>,
  opts: { dryRun: boolean; deleteExtra: boolean; remainingMs: () => number },
): Promise<RepairResult> {
  const copy = [...report.missing, ...report.differing.map((d) => d.key)];
  const remove = opts.deleteExtra ? report.extra : [];
  const result: RepairResult = { dryRun: opts.dryRun, copied: 0, deleted: 0, keys: { copy, delete: remove } };
  if (opts.dryRun) return { ...result, copied: copy.length, deleted: remove.length };
  const onlineKey = p.offlineTable.identity.map((k) => p.pairs.find((c) => c.offline === k)?.online ?? k);
  const rows: SqlRow[] = [];
  for (const stmt of assembleSelectByKeys(
    p.onlineTable,
    onlineKey,
    copy.map((k) => rekey(k, onlineKey)),
    p.pairs.map((c) => c.online),
  )) {
    for (const r of await readOnline(p, config, (q2) => q2.select(stmt.sql, stmt.params)))
      rows.push(Object.fromEntries(p.pairs.map((c) => [c.offline, r[c.online] ?? null])));
  }
  await p.offline.session(opts.remainingMs, (s) =>
    s.transaction(async (tx) => {
      if (remove.length) {
        for (const stmt of assembleDelete(
          p.offlineTable,
          remove.map((k) => rekey(k, p.offlineTable.identity)),
          p.offlineTable.identity,
        ))
          result.deleted += (await tx.execute(stmt)).affectedRows;
      }
      for (const part of assembleUpsertParts(p.offlineTable, rows, p.offline.dialect))
        await tx.execute(part.statement);
    }),
  );
  result.copied = rows.length;
  return result;
}
