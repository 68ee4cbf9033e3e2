import * as z from 'zod/mini';
import {
  assembleCount,
  assembleGuardedUpsertParts,
  assembleKeysetPage,
  assembleReplaceParts,
  assembleSelectByKeys,
  assembleUpsertParts,
} from '../assembler/statements';
import { identifierProblem, isSystemSchema, mapTable, tableAllowed } from '../cdc/route';
import type { ManualEntry, SyncConfig } from '../config/schema';
import '../config/zod-english';
import {
  atClock,
  getOnlineDatabase,
  insertCounts,
  type OnlineDatabase,
  type ReadQuerier,
} from '../db/connection';
import { classifyError, redactMessage } from '../db/errors';
import { getWriteTarget, type OfflineTarget } from '../db/guard';
import { quoteIdentifier, quoteTable, tableName } from '../db/identifiers';
import { RunSuperseded, utcNow } from '../db/tables';
import { logger, MetricUnit, metrics } from '../observability';
import { keyString, rowMatcher } from '../plan/keys';
import { findCollisions } from '../plan/lookups';
import { getTableSchema } from '../schema/cache';
import type { SqlRow, SqlValue, Statement, TableRef, TableSchema } from '../types';
import { compileCondition } from './condition';
import {
  claimJob,
  createJob,
  getJob,
  getJobByClientToken,
  type Job,
  type JobCounts,
  type JobFilter,
  listJobs,
  updateJob,
} from './jobs';
import { PreflightChecks } from './preflight';

/**
 * What can be wrong with a manual-sync request, said in the domain's words; the HTTP edge maps each
 * kind to a status code. The message is for the caller.
 */
export type ManualSyncErrorKind = 'invalid' | 'forbidden' | 'not-found' | 'unprocessable' | 'conflict';
export class ManualSyncError extends Error {
  override name = 'ManualSyncError';
  constructor(
    readonly kind: ManualSyncErrorKind,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** A table the request names is missing on one side (404, as any ManualSyncError 'not-found'). */
export class TableMissingError extends ManualSyncError {
  constructor(
    readonly side: 'online' | 'offline',
    ref: TableRef,
  ) {
    super('not-found', `table ${tableName(ref)} does not exist on the ${side} database`);
  }
}

export const syncRequestSchema = z.strictObject({
  source: z.string().check(z.minLength(1)),
  table: z.string().check(z.regex(/^[^.\s`]+\.[^.\s`]+$/, 'a "schema.table" name')),
  where: z.string(),
  /** A preview first is the safe default. */
  dryRun: z._default(z.boolean(), true),
  mode: z._default(z.enum(['upsert', 'replace']), 'upsert'),
  limit: z.optional(z.int().check(z.positive())),
  /** The same caller sending the same token again gets the same job (a double click makes one job). */
  clientToken: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
});
export type SyncRequest = z.infer<typeof syncRequestSchema>;

export interface SyncContext {
  config: SyncConfig;
  identity: string;
  remainingMs: () => number;
  /** Arranges for the job to go on after this invocation answers (self-invocation in AWS). */
  continueJob: (jobId: string, target: string, invocation: number) => Promise<void>;
}

export interface ColumnPair {
  online: string;
  offline: string;
}

export interface Prepared {
  entry: ManualEntry;
  online: OnlineDatabase;
  offline: OfflineTarget;
  onlineTable: TableSchema;
  offlineTable: TableSchema;
  pairs: ColumnPair[];
  condition: Statement;
  /** The condition's text (as given, or as made for the table). */
  where: string;
  limit: number;
  /** The moment NOW() stands for in the condition (UTC), the same for every page, count and continuation. */
  now: string;
}

type Action = 'insert' | 'update' | 'unchanged' | 'conflict';
export interface PreviewRow {
  key: Record<string, SqlValue>;
  action: Action;
  changedColumns?: string[];
  /** For an update: each changed column's offline value and the online value that would replace it. */
  changes?: Record<string, { offline: SqlValue; online: SqlValue }>;
  /** For an insert: the row as it would be written. */
  row?: SqlRow;
  conflictWith?: string;
}

const PREVIEW_ROWS = 50;

export function parseRef(name: string): TableRef {
  const [schema = '', table = ''] = name.split('.');
  for (const part of [schema, table]) {
    const problem = identifierProblem(part);
    if (problem)
      throw new ManualSyncError('invalid', `"${part.slice(0, 80)}" is not a table name: it ${problem}`);
  }
  return { schema, table };
}

export function findEntry(config: SyncConfig, source: string, ref: TableRef): ManualEntry {
  const db = config.databases[source];
  if (!db) throw new ManualSyncError('forbidden', `source "${source}" is not a configured database`);
  if (db.role !== 'online')
    throw new ManualSyncError('forbidden', `source "${source}" is not an online database`);
  if (isSystemSchema(ref.schema)) {
    throw new ManualSyncError('forbidden', `schema ${ref.schema} is a system schema: never copied`);
  }
  const entries = config.manual.filter((e) => e.source === source);
  if (entries.length === 0)
    throw new ManualSyncError('forbidden', `no manual entry allows copying from "${source}"`);
  const entry = entries.find((e) => tableAllowed(e.tables, ref));
  if (!entry)
    throw new ManualSyncError('forbidden', `table ${tableName(ref)} is not allowed for source "${source}"`);
  if (isSystemSchema(mapTable(entry.schemas, ref).schema)) {
    throw new ManualSyncError('forbidden', `table ${tableName(ref)} maps to a system schema: never written`);
  }
  return entry;
}

async function schemaOr404(
  db: OnlineDatabase | OfflineTarget,
  ref: TableRef,
  side: 'online' | 'offline',
  ttlMs: number,
): Promise<TableSchema> {
  try {
    return await getTableSchema(db, db, ref, ttlMs);
  } catch (err) {
    if ((err as Error).name === 'TableNotFoundError') throw new TableMissingError(side, ref);
    throw err;
  }
}

export async function prepare(
  config: SyncConfig,
  req: Pick<SyncRequest, 'source' | 'table' | 'limit'> & {
    /** The condition, or how to make one from the online table (verify: "every row"). */
    where: string | ((online: TableSchema) => string);
    /** What NOW() and CURDATE() mean in the condition (UTC): the job's start, on every statement of it. */
    now?: string;
  },
): Promise<Prepared> {
  const onlineRef = parseRef(req.table);
  const entry = findEntry(config, req.source, onlineRef);
  const limit = req.limit ?? entry.defaultLimit;
  if (limit > entry.maxLimit)
    throw new ManualSyncError('unprocessable', `limit ${limit} is above the maximum of ${entry.maxLimit}`);
  const online = await getOnlineDatabase(entry.source, config);
  // The writer only ever gets the offline side, through the guard.
  const offline = await getWriteTarget(entry.target, config);
  const ttl = config.schemaCacheTtlSeconds * 1000;
  const onlineTable = await schemaOr404(online, onlineRef, 'online', ttl);
  const offlineTable = await schemaOr404(offline, mapTable(entry.schemas, onlineRef), 'offline', ttl);
  if (onlineTable.identity.length === 0 || offlineTable.identity.length === 0) {
    throw new ManualSyncError(
      'unprocessable',
      `table ${req.table} has no primary key or NOT NULL unique key`,
    );
  }
  const offlineCols = new Map(
    offlineTable.columns.filter((c) => !c.generated).map((c) => [c.name.toLowerCase(), c.name]),
  );
  const pairs = onlineTable.columns
    .filter((c) => offlineCols.has(c.name.toLowerCase()))
    .map((c) => ({ online: c.name, offline: offlineCols.get(c.name.toLowerCase()) as string }));
  const carried = new Set(pairs.map((p) => p.offline));
  const missingKey = offlineTable.identity.filter((c) => !carried.has(c));
  if (missingKey.length)
    throw new ManualSyncError(
      'unprocessable',
      `offline key column(s) ${missingKey.join(', ')} do not exist online`,
    );
  // Parsed against the online table's real columns before anything is sent to a server.
  const where = typeof req.where === 'function' ? req.where(onlineTable) : req.where;
  const condition = compileCondition(
    where,
    onlineTable.columns.map((c) => c.name),
    quoteIdentifier,
  );
  return {
    entry,
    online,
    offline,
    onlineTable,
    offlineTable,
    pairs,
    condition,
    where,
    limit,
    now: req.now ?? utcNow(),
  };
}

/** Reads on the online database: read-only transaction with a per-statement time limit. */
export function readOnline<T>(
  p: Prepared,
  config: SyncConfig,
  fn: (q: ReadQuerier) => Promise<T>,
): Promise<T> {
  return p.online.readTransaction(
    config.databases[p.entry.source]?.statementTimeoutMs ?? 20_000,
    // A condition's NOW() must not slide while a job pages through a table (or resumes an hour later):
    // the session's clock is the job's start.
    (q) => atClock(q, p.now, () => fn(q)),
  );
}

function same(a: SqlValue | undefined, b: SqlValue | undefined): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return (a ?? null) === (b ?? null);
}

interface ChunkPlan {
  rows: { row: SqlRow; before?: SqlRow; action: Action; changed: string[]; conflictWith?: string }[];
  nextCursor: SqlRow | null;
  done: boolean;
}

/** One page of online rows in key order, renamed to the offline columns. */
interface Page {
  rows: SqlRow[];
  nextCursor: SqlRow | null;
  done: boolean;
}

async function readPage(p: Prepared, config: SyncConfig, cursor: SqlRow | null, size: number): Promise<Page> {
  const page = assembleKeysetPage(p.onlineTable, p.condition, cursor, size);
  const onlineRows = await readOnline(p, config, (q) => q.select(page.sql, page.params));
  const rows = onlineRows.map(
    (r) => Object.fromEntries(p.pairs.map((c) => [c.offline, r[c.online] ?? null])) as SqlRow,
  );
  const last = onlineRows[onlineRows.length - 1];
  const nextCursor = last
    ? (Object.fromEntries(p.onlineTable.identity.map((c) => [c, last[c] ?? null])) as SqlRow)
    : cursor;
  return { rows, nextCursor, done: onlineRows.length < size };
}

/**
 * The online pages after `from`, each next page read while the caller decides and writes the current
 * one: the online and the offline server work at the same time. A page read ahead that is never
 * consumed (the job stops for its time budget) is dropped, its error too.
 */
async function* pagesOf(p: Prepared, config: SyncConfig, from: SqlRow | null): AsyncGenerator<Page> {
  const read = (cursor: SqlRow | null) => {
    const page = readPage(p, config, cursor, p.entry.chunkSize);
    page.catch(() => undefined);
    return page;
  };
  let next = read(from);
  for (;;) {
    const page = await next;
    if (!page.done) next = read(page.nextCursor);
    yield page;
    if (page.done) return;
  }
}

/**
 * The key columns of the offline rows the condition selects, for the offline-only-rows warning; undefined
 * when the condition names a column the offline table lacks (it cannot be evaluated there).
 */
async function offlineRange(p: Prepared, where: string): Promise<SqlRow[] | undefined> {
  let condition: Statement;
  try {
    condition = compileCondition(
      where,
      p.offlineTable.columns.map((c) => c.name),
      quoteIdentifier,
    );
  } catch {
    return undefined;
  }
  const id = p.offlineTable.identity;
  return p.offline.select(
    `SELECT ${id.map(quoteIdentifier).join(', ')} FROM ${quoteTable(p.offlineTable.ref)} WHERE (${condition.sql}) LIMIT ${p.entry.maxLimit + 1}`,
    condition.params,
  );
}

/** Decides each row of an online page against the offline table. */
async function planChunk(p: Prepared, page: Page, mode: SyncRequest['mode']): Promise<ChunkPlan> {
  const { rows, nextCursor, done } = page;
  const id = p.offlineTable.identity;
  const found: SqlRow[] = [];
  if (rows.length) {
    for (const stmt of assembleSelectByKeys(
      p.offlineTable,
      id,
      rows,
      p.pairs.map((c) => c.offline),
    )) {
      found.push(...(await p.offline.select(stmt.sql, stmt.params)));
    }
  }
  // Offline rows matched to online ones as the server matches keys (collations), never by lower-casing.
  const existing = rowMatcher(p.offlineTable, found, id);
  // Replace resolves unique-key collisions itself; upsert must not update a different row, so it reports them.
  const collisions = mode === 'upsert' ? await findCollisions(p.offline, p.offlineTable, rows) : new Map();
  const planned = rows.map((row) => {
    const key = keyString(p.offlineTable, row, id);
    const before = existing(row);
    const changed = before ? p.pairs.map((c) => c.offline).filter((c) => !same(row[c], before[c])) : [];
    const clash = collisions.get(key)?.[0];
    if (clash && (!before || changed.length)) {
      return {
        row,
        action: 'conflict' as const,
        changed,
        conflictWith: `${clash.keyName} held by ${JSON.stringify(clash.other)}`,
      };
    }
    return {
      row,
      ...(before ? { before } : {}),
      action: (!before ? 'insert' : changed.length ? 'update' : 'unchanged') as Action,
      changed,
    };
  });
  return { rows: planned, nextCursor, done };
}

function countsOf(plan: ChunkPlan): Omit<JobCounts, 'matched'> {
  const n = (a: Action) => plan.rows.filter((r) => r.action === a).length;
  return {
    processed: plan.rows.length,
    inserted: n('insert'),
    updated: n('update'),
    unchanged: n('unchanged'),
    conflicts: n('conflict'),
  };
}

function previewOf(p: Prepared, plan: ChunkPlan): PreviewRow[] {
  return plan.rows.map((r) => ({
    key: Object.fromEntries(p.offlineTable.identity.map((c) => [c, r.row[c] ?? null])),
    action: r.action,
    ...(r.action === 'update'
      ? {
          changedColumns: r.changed,
          changes: Object.fromEntries(
            r.changed.map((c) => [c, { offline: r.before?.[c] ?? null, online: r.row[c] ?? null }]),
          ),
        }
      : {}),
    ...(r.action === 'insert' ? { row: r.row } : {}),
    ...(r.conflictWith ? { conflictWith: r.conflictWith } : {}),
  }));
}

/** Writes one planned chunk and its job progress in one offline transaction. */
async function writeChunk(
  p: Prepared,
  job: JobClaim,
  plan: ChunkPlan,
  mode: SyncRequest['mode'],
  remainingMs: () => number,
): Promise<void> {
  const toWrite = plan.rows.filter((r) => r.action === 'insert' || r.action === 'update').map((r) => r.row);
  await p.offline.session(remainingMs, (s) =>
    s.transaction(async (tx) => {
      const parts =
        mode === 'replace'
          ? assembleReplaceParts(p.offlineTable, toWrite)
          : assembleUpsertParts(p.offlineTable, toWrite, p.offline.dialect);
      for (const part of parts) await tx.execute(part.statement);
      await updateJob(tx, job.jobId, { ...countsOf(plan), cursor: plan.nextCursor, fence: job.claim });
    }),
  );
}

/**
 * The common case of a run, without the lookups a dry run needs for its diff: guarded multi-row upserts
 * (a unique value held by another offline row makes the server refuse the statement rather than update
 * that row; see assembleGuardedUpsertParts), counted from the server's own answer. False when the server
 * refused a row: the chunk then goes the careful way (planChunk), which reports conflicts and finds the
 * refused row's key. Single rows always go the careful way: the server's count for one row cannot tell an
 * insert from an unchanged row.
 */
async function writePageFast(
  p: Prepared,
  job: JobClaim,
  page: Page,
  remainingMs: () => number,
): Promise<boolean> {
  if (page.rows.length < 2) return false;
  const counts = { processed: page.rows.length, inserted: 0, updated: 0, unchanged: 0, conflicts: 0 };
  try {
    await p.offline.session(remainingMs, (s) =>
      s.transaction(async (tx) => {
        for (const part of assembleGuardedUpsertParts(p.offlineTable, page.rows, p.offline.dialect)) {
          const result = await tx.execute(part.statement);
          // With CLIENT_FOUND_ROWS (mysql2's default) each inserted or unchanged row counts 1 in
          // affectedRows, each updated row 2.
          const sent = insertCounts(result);
          if (!sent)
            throw new Error('the server answered a multi-row upsert without its Records/Duplicates counts');
          const { records, duplicates } = sent;
          const updated = result.affectedRows - records;
          counts.inserted += records - duplicates;
          counts.updated += updated;
          counts.unchanged += duplicates - updated;
        }
        await updateJob(tx, job.jobId, { ...counts, cursor: page.nextCursor, fence: job.claim });
      }),
    );
    return true;
  } catch (err) {
    if (classifyError(err) === 'data') return false;
    throw err;
  }
}

export interface SyncAnswer {
  statusCode: 200 | 202 | 422;
  body: Record<string, unknown>;
}

async function countMatches(p: Prepared, config: SyncConfig, capped = true): Promise<number> {
  const stmt = assembleCount(p.onlineTable, p.condition, capped ? p.limit : undefined);
  const [row] = await readOnline(p, config, (q) => q.select(stmt.sql, stmt.params));
  return Number(row?.n ?? 0);
}

/** A running job whose progress (heartbeat) stopped this long ago is reported stale, and may be resumed. */
export const STALE_AFTER_MS = 120_000;

const hexed = (row: Record<string, SqlValue> | null) =>
  row
    ? Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : v]),
      )
    : null;

const utcMs = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);

export function jobView(job: Job, now = Date.now()): Record<string, unknown> {
  const { cursor, failedKey, clientToken: _token, ...rest } = job;
  const seconds = Math.max(0.001, (utcMs(job.updatedAt) - utcMs(job.createdAt)) / 1000);
  const rate = job.processed / seconds;
  const stale = job.status === 'running' && now - utcMs(job.updatedAt) > STALE_AFTER_MS;
  return {
    ...rest,
    stale,
    rowsPerSecond: Math.round(rate),
    etaSeconds:
      job.status === 'running' && rate > 0 ? Math.max(0, (job.matched - job.processed) / rate) : null,
    lastKey: hexed(cursor),
    failedKey: hexed(failedKey),
  };
}

/** POST /sync: validate, count, then preview (dry run) or copy, continuing asynchronously past the budget. */
export async function startManualSync(raw: unknown, ctx: SyncContext): Promise<SyncAnswer> {
  const parsed = syncRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ManualSyncError(
      'invalid',
      `invalid request: ${issue?.path.join('.') || 'body'}: ${issue?.message}`,
    );
  }
  const req = parsed.data;
  const started = Date.now();
  const p = await prepare(ctx.config, req);
  if (req.clientToken) {
    const earlier = await getJobByClientToken(p.offline, ctx.identity, req.clientToken);
    if (earlier)
      return {
        statusCode: earlier.status === 'running' ? 202 : 200,
        body: { ...jobView(earlier), repeated: true },
      };
  }
  const matched = await countMatches(p, ctx.config);
  const base = {
    requestedBy: ctx.identity,
    source: req.source,
    target: p.entry.target,
    sourceTable: req.table,
    targetTable: tableName(p.offlineTable.ref),
    condition: req.where,
    mode: req.mode,
    dryRun: req.dryRun,
    limit: p.limit,
    matched,
    ...(req.clientToken ? { clientToken: req.clientToken } : {}),
    createdAt: p.now,
  };
  if (matched > p.limit) {
    // The capped count only says "more": count for real (bounded by the statement time limit) to say how many.
    const real = await countMatches(p, ctx.config, false).catch(() => undefined);
    await createJob(p.offline, {
      ...base,
      matched: real ?? matched,
      status: 'refused',
      error: `matches ${real ?? `more than ${p.limit}`} rows, above the limit of ${p.limit}`,
    });
    throw new ManualSyncError(
      'unprocessable',
      `the condition matches ${real === undefined ? `more than ${p.limit}` : real} rows, above the limit of ${p.limit}; narrow it or raise "limit" (at most ${p.entry.maxLimit})`,
      { matched: real ?? null, matchedAtLeast: matched, limit: p.limit, maxLimit: p.entry.maxLimit },
    );
  }
  const jobId = await createJob(p.offline, { ...base, status: 'running' });
  if (req.dryRun) {
    const preview: PreviewRow[] = [];
    const totals = { processed: 0, inserted: 0, updated: 0, unchanged: 0, conflicts: 0 };
    const carried = new Set(p.pairs.map((c) => c.online));
    const checks = new PreflightChecks(
      p.offlineTable,
      p.onlineTable.columns.filter((c) => !carried.has(c.name)).map((c) => c.name),
    );
    for await (const page of pagesOf(p, ctx.config, null)) {
      const plan = await planChunk(p, page, req.mode);
      checks.add(
        page.rows,
        plan.rows.filter((r) => r.action === 'insert' || r.action === 'update').map((r) => r.row),
      );
      const c = countsOf(plan);
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += c[k];
      if (preview.length < PREVIEW_ROWS)
        preview.push(...previewOf(p, plan).slice(0, PREVIEW_ROWS - preview.length));
    }
    const warnings = checks.warnings(await offlineRange(p, req.where));
    await updateJob(p.offline, jobId, { ...totals, status: 'succeeded' });
    return {
      statusCode: 200,
      body: {
        jobId,
        dryRun: true,
        mode: req.mode,
        source: req.source,
        table: req.table,
        targetTable: tableName(p.offlineTable.ref),
        matched,
        wouldInsert: totals.inserted,
        wouldUpdate: totals.updated,
        unchanged: totals.unchanged,
        conflicts: totals.conflicts,
        preview,
        previewCount: preview.length,
        previewTruncated: matched > preview.length,
        warnings,
        durationMs: Date.now() - started,
      },
    };
  }
  // A new job's first invocation holds the first claim.
  return runJob(p, { jobId, claim: 1 }, null, ctx, started, req.mode);
}

/** A job and the claim the running invocation holds on it (see claimRun). */
interface JobClaim {
  jobId: string;
  claim: number;
}

async function runJob(
  p: Prepared,
  job: JobClaim,
  from: SqlRow | null,
  ctx: SyncContext,
  started: number,
  mode: SyncRequest['mode'],
): Promise<SyncAnswer> {
  const { jobId, claim } = job;
  const deadline = started + Math.min(p.entry.timeBudgetMs, Math.max(0, ctx.remainingMs() - 5_000));
  const view = async (
    statusCode: SyncAnswer['statusCode'],
    extra: Record<string, unknown> = {},
  ): Promise<SyncAnswer> => {
    const stored = await getJob(p.offline, jobId);
    return { statusCode, body: { ...(stored ? jobView(stored) : { jobId }), ...extra } };
  };
  let plan: ChunkPlan | undefined;
  try {
    for await (const page of pagesOf(p, ctx.config, from)) {
      if (mode === 'upsert' && (await writePageFast(p, job, page, ctx.remainingMs))) {
        plan = undefined;
        if (page.done) break;
      } else {
        plan = await planChunk(p, page, mode);
        await writeChunk(p, job, plan, mode, ctx.remainingMs);
        if (plan.done) break;
      }
      // A cancel (another request) stops the job between chunks; what was written stays written.
      if ((await getJob(p.offline, jobId))?.status === 'cancelled') return view(200);
      if (Date.now() >= deadline) {
        await ctx.continueJob(jobId, p.entry.target, claim);
        return view(202, { statusUrl: `/sync/${jobId}` });
      }
    }
    await updateJob(p.offline, jobId, { status: 'succeeded', onlyIfRunning: true, fence: claim });
  } catch (err) {
    if (err instanceof RunSuperseded) {
      // Its chunk rolled back; the invocation that took the job over goes on from the stored cursor.
      logger.warn('job taken over by another invocation: this one stops', { jobId });
      return view(200);
    }
    // A row the offline server refuses (too long, out of range…): find which, keep the reason, stop
    // here; the job can be resumed from its cursor once the cause is fixed.
    const refused = classifyError(err) === 'data' && plan ? await findRefusedRow(p, plan, mode) : undefined;
    await updateJob(p.offline, jobId, {
      status: 'failed',
      error: redactMessage(refused?.error ?? err),
      ...(refused ? { failedKey: refused.key } : {}),
      onlyIfRunning: true,
      fence: claim,
    }).catch(() => undefined);
    if (classifyError(err) === 'data') return view(422, { error: redactMessage(refused?.error ?? err) });
    throw err;
  }
  const answer = await view(200, { durationMs: Date.now() - started });
  metrics.addMetric(
    'ManualSyncRowsWritten',
    MetricUnit.Count,
    Number(answer.body.inserted ?? 0) + Number(answer.body.updated ?? 0),
  );
  return answer;
}

/**
 * The first row of a chunk the offline server refuses, found by writing the chunk's rows one at a time
 * in a transaction that is always rolled back: nothing is written, the key and the server's reason are
 * known.
 */
async function findRefusedRow(
  p: Prepared,
  plan: ChunkPlan,
  mode: SyncRequest['mode'],
): Promise<{ key: Record<string, SqlValue>; error: unknown } | undefined> {
  const rows = plan.rows.filter((r) => r.action === 'insert' || r.action === 'update').map((r) => r.row);
  let found: { key: Record<string, SqlValue>; error: unknown } | undefined;
  const probe = new Error('probe: rolled back on purpose');
  await p.offline
    .session(
      () => 60_000,
      (s) =>
        s.transaction(async (tx) => {
          for (const row of rows) {
            const parts =
              mode === 'replace'
                ? assembleReplaceParts(p.offlineTable, [row])
                : assembleUpsertParts(p.offlineTable, [row], p.offline.dialect);
            try {
              for (const part of parts) await tx.execute(part.statement);
            } catch (error) {
              found = {
                key: Object.fromEntries(p.offlineTable.identity.map((c) => [c, row[c] ?? null])),
                error,
              };
              break;
            }
          }
          throw probe;
        }),
    )
    .catch((err: unknown) => {
      if (err !== probe) throw err;
    });
  return found;
}

/** The asynchronous continuation of a job that ran out of budget: picks up after the stored cursor. */
export async function continueManualSync(
  jobId: string,
  target: string,
  ctx: SyncContext,
  /** The claim the sending invocation held; absent in continuations sent by earlier releases. */
  invocation?: number,
): Promise<SyncAnswer> {
  // The event names its target: only a database a manual entry writes to, and only through the guard.
  if (!ctx.config.manual.some((e) => e.target === target)) {
    throw new ManualSyncError('forbidden', `"${target}" is not a manual-sync target`);
  }
  const offline = await getWriteTarget(target, ctx.config);
  const job = await getJob(offline, jobId);
  if (!job) throw new ManualSyncError('not-found', `job ${jobId} not found`);
  if (job.status !== 'running') return { statusCode: 200, body: jobView(job) };
  const claim = await claimJob(offline, jobId, invocation);
  if (claim === undefined) {
    // A second delivery of the same continuation, or the job was resumed meanwhile: it has its invocation.
    logger.warn('duplicate continuation ignored', { jobId, invocation });
    return { statusCode: 200, body: jobView((await getJob(offline, jobId)) ?? job) };
  }
  return goOn(job, claim, ctx);
}

async function goOn(job: Job, claim: number, ctx: SyncContext): Promise<SyncAnswer> {
  const p = await prepare(ctx.config, {
    source: job.source,
    table: job.sourceTable,
    where: job.condition,
    limit: job.limit,
    now: job.createdAt,
  });
  return runJob(p, { jobId: job.jobId, claim }, job.cursor, ctx, Date.now(), job.mode);
}

/**
 * A record kept in an offline database (a job, a verification), by its UUID: every database a manual entry
 * writes to is asked, through the guard.
 */
export async function findInManualTargets<T>(
  what: string,
  id: string,
  config: SyncConfig,
  read: (offline: OfflineTarget, id: string) => Promise<T | undefined>,
): Promise<{ found: T; offline: OfflineTarget }> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new ManualSyncError('invalid', `a ${what} id is a UUID`);
  for (const target of new Set(config.manual.map((e) => e.target))) {
    const offline = await getWriteTarget(target, config);
    const found = await read(offline, id);
    if (found) return { found, offline };
  }
  throw new ManualSyncError('not-found', `${what} ${id} not found`);
}

async function findJob(jobId: string, config: SyncConfig): Promise<{ job: Job; offline: OfflineTarget }> {
  const { found, offline } = await findInManualTargets('job', jobId, config, getJob);
  return { job: found, offline };
}

/** GET /sync/{jobId}. */
export async function getJobStatus(jobId: string, config: SyncConfig): Promise<Record<string, unknown>> {
  return jobView((await findJob(jobId, config)).job);
}

/** GET /sync: jobs of every manual target, newest first. */
export async function listJobViews(
  config: SyncConfig,
  filter: JobFilter,
): Promise<Record<string, unknown>[]> {
  const jobs: Job[] = [];
  for (const target of new Set(config.manual.map((e) => e.target)))
    jobs.push(...(await listJobs(await getWriteTarget(target, config), filter)));
  return jobs
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))
    .slice(0, filter.limit)
    .map((j) => jobView(j));
}

/** POST /sync/{jobId}/cancel: a running job stops after its current chunk; what it wrote stays. */
export async function cancelJob(
  jobId: string,
  config: SyncConfig,
  identity: string,
): Promise<Record<string, unknown>> {
  const { job, offline } = await findJob(jobId, config);
  if (job.status !== 'running')
    throw new ManualSyncError(
      'conflict',
      `job ${jobId} is ${job.status}: only a running job can be cancelled`,
    );
  await updateJob(offline, jobId, {
    status: 'cancelled',
    error: `cancelled by ${identity}`,
    onlyIfRunning: true,
  });
  return jobView((await getJob(offline, jobId)) as Job);
}

/** POST /sync/{jobId}/resume: a failed, cancelled or stale job goes on from its saved cursor. */
export async function resumeJob(jobId: string, ctx: SyncContext): Promise<SyncAnswer> {
  const { job, offline } = await findJob(jobId, ctx.config);
  const stale = jobView(job).stale === true;
  if (job.dryRun) throw new ManualSyncError('conflict', `job ${jobId} is a dry run: run the sync instead`);
  if (!(job.status === 'failed' || job.status === 'cancelled' || stale))
    throw new ManualSyncError(
      'conflict',
      `job ${jobId} is ${job.status}: only a failed, cancelled or stale job can be resumed`,
    );
  await updateJob(offline, jobId, { status: 'running', error: null, failedKey: null });
  // The claim fences out an invocation of a stale job that still works: its next chunk rolls back.
  const claim = await claimJob(offline, jobId);
  const resumed = (await getJob(offline, jobId)) as Job;
  if (claim === undefined) return { statusCode: 200, body: jobView(resumed) };
  return goOn(resumed, claim, ctx);
}

export interface CatalogSource {
  source: string;
  target: string;
  schemas: Record<string, string>;
  tables: { table: string; targetTable: string }[];
  defaultLimit: number;
  maxLimit: number;
  /** Set when the online database could not be listed (the rest of the catalog still answers). */
  error?: string;
}

/** GET /catalog: per manual entry, the online tables it allows and the offline table each goes to. */
export async function catalogOf(config: SyncConfig): Promise<CatalogSource[]> {
  const out: CatalogSource[] = [];
  for (const entry of config.manual) {
    const base = {
      source: entry.source,
      target: entry.target,
      schemas: entry.schemas,
      defaultLimit: entry.defaultLimit,
      maxLimit: entry.maxLimit,
    };
    try {
      const online = await getOnlineDatabase(entry.source, config);
      const rows = await online.select<{ s: string; t: string }>(
        `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES
          WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME LIMIT 5000`,
      );
      const tables = rows
        .map((r) => ({ schema: String(r.s), table: String(r.t) }))
        .filter(
          (ref) => tableAllowed(entry.tables, ref) && !isSystemSchema(mapTable(entry.schemas, ref).schema),
        )
        .map((ref) => ({ table: tableName(ref), targetTable: tableName(mapTable(entry.schemas, ref)) }));
      out.push({ ...base, tables });
    } catch (err) {
      out.push({ ...base, tables: [], error: redactMessage(err) });
    }
  }
  return out;
}
