import * as z from 'zod/mini';
import type { SyncConfig } from '../config/schema';
import '../config/zod-english';
import { mapTable } from '../cdc/route';
import { getOnlineDatabase } from '../db/connection';
import { redactMessage } from '../db/errors';
import { getWriteTarget, type OfflineTarget } from '../db/guard';
import { tableName } from '../db/identifiers';
import { RunSuperseded } from '../db/tables';
import { isByteColumn } from '../formats/column-types';
import {
  findEntry,
  findInManualTargets,
  ManualSyncError,
  type Prepared,
  parseRef,
  prepare,
  TableMissingError,
} from '../manual/sync';
import { logger, MetricUnit, metrics } from '../observability';
import type { SqlValue, TableSchema } from '../types';
import { type Key, type RowDriftReport, repairRows, type VerifyProgress, verifyRows } from './rows';
import {
  claimVerifyRun,
  createVerifyRun,
  getVerifyRun,
  saveRepair,
  updateVerifyRun,
  type VerifyRun,
} from './runs';
import { type SchemaDriftReport, schemaDrift } from './schema-drift';

/**
 * POST /verify, GET /verify/{id}, POST /verify/{id}/repair: the manual-sync entries decide what may be
 * verified (source, tables, renames), the same guard and condition grammar apply, and the run and its
 * report are kept in the offline database. A run that does not finish within the entry's time budget
 * answers 202 and goes on in another invocation, as manual-sync jobs do.
 */
const verifyRequest = z.strictObject({
  source: z.string().check(z.minLength(1)),
  table: z.string().check(z.regex(/^[^.\s`]+\.[^.\s`]+$/, 'a "schema.table" name')),
  /** The rows to verify; every row when omitted. */
  where: z._default(z.string(), ''),
  chunkSize: z._default(z.int().check(z.gte(10), z.lte(100_000)), 1_000),
  /** Online rows read per second at most; 0: unpaced. */
  rowsPerSecond: z._default(z.int().check(z.gte(0)), 0),
});

const repairRequest = z.strictObject({
  dryRun: z._default(z.boolean(), true),
  /** Also delete offline rows online lacks (off by default: they may be someone's test data). */
  deleteExtra: z._default(z.boolean(), false),
});

/** The condition text; "every row" is the key being present. */
const conditionOf = (where: string, table: TableSchema) =>
  where.trim() || table.identity.map((c) => `${c} IS NOT NULL`).join(' AND ');

function parsed<T>(schema: z.ZodMiniType<T>, raw: unknown): T {
  const r = z.safeParse(schema, raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new ManualSyncError(
    'invalid',
    `invalid request: ${issue?.path.join('.') || 'body'}: ${issue?.message}`,
  );
}

export interface VerifyContext {
  config: SyncConfig;
  identity: string;
  remainingMs: () => number;
  /** Arranges for the run to go on after this invocation answers (self-invocation in AWS). */
  continueVerify: (verifyId: string, target: string, invocation: number) => Promise<void>;
}

/** A run as the API shows it: its state, progress while running, the report once done. */
function runView(run: VerifyRun): Record<string, unknown> {
  const progress = run.progress as VerifyProgress | null;
  const { progress: _p, report, ...rest } = run;
  return {
    ...rest,
    ...(run.status === 'running' && progress
      ? {
          progress: {
            rows: progress.rows,
            chunks: progress.chunks,
            chunksDiffering: progress.chunksDiffering,
          },
        }
      : {}),
    ...(report ?? {}),
  };
}

/** Scans on within this invocation's budget; done: the report is stored, else the progress, and it goes on. */
async function step(
  p: Prepared,
  run: VerifyRun,
  ctx: VerifyContext,
  progress: VerifyProgress | undefined,
  /** This invocation's claim on the run (see claimRun). */
  claim: number,
): Promise<{ statusCode: 200 | 202; body: Record<string, unknown> }> {
  const until = Date.now() + Math.min(p.entry.timeBudgetMs, Math.max(0, ctx.remainingMs() - 5_000));
  try {
    const result = await verifyRows(p, ctx.config, run.condition, {
      ...run.options,
      until,
      ...(progress ? { progress } : {}),
    });
    if (!result.done) {
      await updateVerifyRun(p.offline, run.verifyId, { progress: result.progress, fence: claim });
      await ctx.continueVerify(run.verifyId, run.target, claim);
      const view = runView((await getVerifyRun(p.offline, run.verifyId)) as VerifyRun);
      return { statusCode: 202, body: { ...view, statusUrl: `/verify/${run.verifyId}` } };
    }
    const rows = result.report;
    // The tables' shapes too: a column, key or type difference is where the next drift comes from.
    const schema = await schemaDrift(p.online, p.offline, p.onlineTable.ref, p.offlineTable.ref);
    const report = {
      rows,
      schema,
      equal: rows.missing.length + rows.extra.length + rows.differing.length === 0,
      schemaEqual: schema.differences.every((d) => d.severity === 'info'),
    };
    await updateVerifyRun(p.offline, run.verifyId, { report, status: 'succeeded', fence: claim });
    const view = runView((await getVerifyRun(p.offline, run.verifyId)) as VerifyRun);
    // Scheduled runs feed the drift alarm (a person's own check does not page anyone).
    if (run.options.scheduled) publishDrift(view);
    return { statusCode: 200, body: view };
  } catch (err) {
    if (err instanceof RunSuperseded) {
      logger.warn('verification taken over by another invocation: this one stops', {
        verifyId: run.verifyId,
      });
      return { statusCode: 200, body: runView((await getVerifyRun(p.offline, run.verifyId)) as VerifyRun) };
    }
    await updateVerifyRun(p.offline, run.verifyId, {
      status: 'failed',
      error: redactMessage(err),
      fence: claim,
    }).catch(() => undefined);
    throw err;
  }
}

export async function startVerify(
  raw: unknown,
  ctx: VerifyContext,
  scheduled = false,
): Promise<{ statusCode: 200 | 202; body: Record<string, unknown> }> {
  const req = parsed(verifyRequest, raw);
  let p: Prepared;
  try {
    p = await prepare(ctx.config, {
      source: req.source,
      table: req.table,
      where: (online) => conditionOf(req.where, online),
    });
  } catch (err) {
    // A table online that offline lacks: there are no rows to compare, but the schema report says so
    // and gives the CREATE TABLE that would add it.
    if (err instanceof TableMissingError && err.side === 'offline')
      return { statusCode: 200, body: await missingOffline(req.source, req.table, ctx.config) };
    throw err;
  }
  const verifyId = await createVerifyRun(p.offline, {
    requestedBy: ctx.identity,
    source: req.source,
    target: p.entry.target,
    sourceTable: req.table,
    targetTable: tableName(p.offlineTable.ref),
    condition: p.where,
    options: { chunkSize: req.chunkSize, rowsPerSecond: req.rowsPerSecond, scheduled },
    createdAt: p.now,
  });
  // A new run's first invocation holds the first claim.
  return step(p, (await getVerifyRun(p.offline, verifyId)) as VerifyRun, ctx, undefined, 1);
}

/** The report for a table that exists online only: its schema difference (with the CREATE TABLE). */
async function missingOffline(
  source: string,
  table: string,
  config: SyncConfig,
): Promise<Record<string, unknown>> {
  const onlineRef = parseRef(table);
  const entry = findEntry(config, source, onlineRef);
  const offlineRef = mapTable(entry.schemas, onlineRef);
  const schema = await schemaDrift(
    await getOnlineDatabase(entry.source, config),
    await getWriteTarget(entry.target, config),
    onlineRef,
    offlineRef,
  );
  return {
    status: 'succeeded',
    source,
    sourceTable: table,
    targetTable: tableName(offlineRef),
    rows: null,
    schema,
    equal: false,
    schemaEqual: false,
  };
}

/** The continuation of a run that ran out of budget: goes on from its stored progress. */
export async function continueVerify(
  verifyId: string,
  target: string,
  ctx: VerifyContext,
  /** The claim the sending invocation held; absent in continuations sent by earlier releases. */
  invocation?: number,
) {
  if (!ctx.config.manual.some((e) => e.target === target))
    throw new ManualSyncError('forbidden', `"${target}" is not a manual-sync target`);
  const offline = await getWriteTarget(target, ctx.config);
  const run = await getVerifyRun(offline, verifyId);
  if (!run) throw new ManualSyncError('not-found', `verification ${verifyId} not found`);
  if (run.status !== 'running') return { statusCode: 200 as const, body: runView(run) };
  const claim = await claimVerifyRun(offline, verifyId, invocation);
  if (claim === undefined) {
    // A second delivery of the same continuation: the first one has the run.
    logger.warn('duplicate continuation ignored', { verifyId, invocation });
    return { statusCode: 200 as const, body: runView((await getVerifyRun(offline, verifyId)) ?? run) };
  }
  const p = await prepare(ctx.config, {
    source: run.source,
    table: run.sourceTable,
    where: run.condition,
    now: run.createdAt,
  });
  return step(p, run, ctx, run.progress as VerifyProgress, claim);
}

async function findRun(id: string, config: SyncConfig): Promise<{ run: VerifyRun; offline: OfflineTarget }> {
  const { found, offline } = await findInManualTargets('verification', id, config, getVerifyRun);
  return { run: found, offline };
}

export async function getVerify(id: string, config: SyncConfig): Promise<Record<string, unknown>> {
  return runView((await findRun(id, config)).run);
}

/** Keys as stored (bytes as bytes, or `0x…` from an older report) → values for the table's key columns. */
function keysOf(keys: Key[], table: TableSchema): Key[] {
  const bytes = new Set(table.columns.filter((c) => isByteColumn(c.dataType)).map((c) => c.name));
  return keys.map((k) =>
    Object.fromEntries(
      Object.entries(k).map(([c, v]): [string, SqlValue] => [
        c,
        bytes.has(c) && typeof v === 'string' && /^0x[0-9a-f]*$/i.test(v)
          ? Buffer.from(v.slice(2), 'hex')
          : v,
      ]),
    ),
  );
}

export async function repairVerify(
  id: string,
  raw: unknown,
  ctx: VerifyContext,
): Promise<Record<string, unknown>> {
  const req = parsed(repairRequest, raw ?? {});
  const { run } = await findRun(id, ctx.config);
  if (run.status !== 'succeeded' || !run.report)
    throw new ManualSyncError(
      'conflict',
      `verification ${id} is ${run.status}: repair needs a finished report`,
    );
  const p = await prepare(ctx.config, { source: run.source, table: run.sourceTable, where: run.condition });
  const stored = (run.report as { rows: RowDriftReport }).rows;
  const drift = {
    missing: keysOf(stored.missing, p.offlineTable),
    extra: keysOf(stored.extra, p.offlineTable),
    differing: stored.differing.map((d) => ({ ...d, key: keysOf([d.key], p.offlineTable)[0] as Key })),
  };
  const result = await repairRows(p, ctx.config, drift, { ...req, remainingMs: ctx.remainingMs });
  if (req.dryRun) return { verifyId: id, ...result };
  // What is left after the repair, verified again (within this invocation).
  const after = await verifyRows(p, ctx.config, run.condition, { chunkSize: 1_000, rowsPerSecond: 0 });
  const left = after.done ? after.report : undefined;
  const answer = {
    verifyId: id,
    ...result,
    ...(left
      ? {
          remaining: {
            missing: left.missing.length,
            extra: left.extra.length,
            differing: left.differing.length,
          },
        }
      : {}),
  };
  await saveRepair(p.offline, id, answer);
  return answer;
}

/** What EventBridge sends for a scheduled verification (serverless-resources.ts writes it). */
export interface ScheduledVerifyEvent {
  cdcMirrorVerify: { source: string; table: string; where: string; rowsPerSecond: number };
}

export function isScheduledVerifyEvent(event: unknown): event is ScheduledVerifyEvent {
  return typeof (event as ScheduledVerifyEvent | null)?.cdcMirrorVerify === 'object';
}

/**
 * A scheduled verification: the report is kept as any other, and RowsDrifted published for the alarm when
 * it is done (a run that needs more invocations publishes from its last one).
 */
export async function runScheduledVerify(
  event: ScheduledVerifyEvent,
  ctx: VerifyContext,
): Promise<Record<string, unknown>> {
  const answer = await startVerify({ ...event.cdcMirrorVerify, chunkSize: 1_000 }, ctx, true);
  return summaryOf(answer.body) ?? answer.body;
}

function summaryOf(view: Record<string, unknown>) {
  const rows = view.rows as RowDriftReport | undefined;
  if (!rows) return undefined;
  return {
    verifyId: view.verifyId,
    table: view.sourceTable,
    missing: rows.missing.length,
    extra: rows.extra.length,
    differing: rows.differing.length,
    /** Differences that break or risk something (not the merely informative ones). */
    schemaDifferences: ((view.schema as SchemaDriftReport | undefined)?.differences ?? []).filter(
      (d) => d.severity !== 'info',
    ).length,
  };
}

/** For a finished scheduled run: RowsDrifted, and a log line naming the table and the run. */
function publishDrift(view: Record<string, unknown>): void {
  const summary = summaryOf(view);
  if (!summary) return;
  const drifted = summary.missing + summary.extra + summary.differing;
  metrics.addMetric('RowsDrifted', MetricUnit.Count, drifted);
  metrics.addMetric('SchemaDrift', MetricUnit.Count, summary.schemaDifferences);
  if (drifted || summary.schemaDifferences) logger.warn('verification found drift', summary);
  else logger.info('verification found no drift', summary);
}
