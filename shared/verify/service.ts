import * as z from 'zod/mini';
import type { SyncConfig } from '../config/schema';
import '../config/zod-english';
import { getWriteTarget } from '../db/guard';
import { tableName } from '../db/identifiers';
import { BINARY_TYPES, GEOMETRY_TYPES } from '../formats/column-types';
import { ManualSyncError, prepare } from '../manual/sync';
import { logger, MetricUnit, metrics } from '../observability';
import type { SqlValue, TableSchema } from '../types';
import { type Key, type RowDriftReport, repairRows, verifyRows } from './rows';
import { getVerifyRun, saveRepair, saveVerifyRun } from './runs';

/**
 * POST /verify, GET /verify/{id}, POST /verify/{id}/repair: the manual-sync entries decide what may be
 * verified (source, tables, renames), the same guard and condition grammar apply, and the report is
 * kept in the offline database.
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

interface Ctx {
  config: SyncConfig;
  identity: string;
  remainingMs: () => number;
}

export async function startVerify(raw: unknown, ctx: Ctx): Promise<Record<string, unknown>> {
  const req = parsed(verifyRequest, raw);
  const p = await prepare(ctx.config, {
    source: req.source,
    table: req.table,
    where: (online) => conditionOf(req.where, online),
  });
  const where = p.where;
  const rows = await verifyRows(p, ctx.config, where, {
    chunkSize: req.chunkSize,
    rowsPerSecond: req.rowsPerSecond,
  });
  const report = { rows, equal: rows.missing.length + rows.extra.length + rows.differing.length === 0 };
  const verifyId = await saveVerifyRun(p.offline, {
    requestedBy: ctx.identity,
    source: req.source,
    target: p.entry.target,
    sourceTable: req.table,
    targetTable: tableName(p.offlineTable.ref),
    condition: where,
    report,
  });
  return {
    verifyId,
    source: req.source,
    table: req.table,
    targetTable: tableName(p.offlineTable.ref),
    condition: where,
    ...report,
  };
}

async function findRun(id: string, config: SyncConfig) {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new ManualSyncError('invalid', 'a verification id is a UUID');
  for (const target of new Set(config.manual.map((e) => e.target))) {
    const run = await getVerifyRun(await getWriteTarget(target, config), id);
    if (run) return run;
  }
  throw new ManualSyncError('not-found', `verification ${id} not found`);
}

export async function getVerify(id: string, config: SyncConfig): Promise<Record<string, unknown>> {
  return findRun(id, config) as unknown as Promise<Record<string, unknown>>;
}

/** Keys as stored (bytes written `0x…`) → values to send for the table's key columns. */
function keysOf(keys: Key[], table: TableSchema): Key[] {
  const bytes = new Set(
    table.columns
      .filter((c) => BINARY_TYPES.has(c.dataType) || GEOMETRY_TYPES.has(c.dataType) || c.dataType === 'bit')
      .map((c) => c.name),
  );
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

export async function repairVerify(id: string, raw: unknown, ctx: Ctx): Promise<Record<string, unknown>> {
  const req = parsed(repairRequest, raw ?? {});
  const run = await findRun(id, ctx.config);
  const p = await prepare(ctx.config, { source: run.source, table: run.sourceTable, where: run.condition });
  const stored = (run.report as { rows: RowDriftReport }).rows;
  const drift = {
    missing: keysOf(stored.missing, p.offlineTable),
    extra: keysOf(stored.extra, p.offlineTable),
    differing: stored.differing.map((d) => ({ ...d, key: keysOf([d.key], p.offlineTable)[0] as Key })),
  };
  const result = await repairRows(p, ctx.config, drift, { ...req, remainingMs: ctx.remainingMs });
  if (req.dryRun) return { verifyId: id, ...result };
  // What is left after the repair, verified again.
  const after = await verifyRows(p, ctx.config, run.condition, { chunkSize: 1_000, rowsPerSecond: 0 });
  const answer = {
    verifyId: id,
    ...result,
    remaining: {
      missing: after.missing.length,
      extra: after.extra.length,
      differing: after.differing.length,
    },
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

/** A scheduled verification: the report is kept as any other, RowsDrifted published for the alarm. */
export async function runScheduledVerify(
  event: ScheduledVerifyEvent,
  ctx: Ctx,
): Promise<Record<string, unknown>> {
  const report = (await startVerify({ ...event.cdcMirrorVerify, chunkSize: 1_000 }, ctx)) as {
    verifyId: string;
    rows: RowDriftReport;
  };
  const { missing, extra, differing } = report.rows;
  const drifted = missing.length + extra.length + differing.length;
  metrics.addMetric('RowsDrifted', MetricUnit.Count, drifted);
  const summary = {
    verifyId: report.verifyId,
    table: event.cdcMirrorVerify.table,
    missing: missing.length,
    extra: extra.length,
    differing: differing.length,
  };
  if (drifted) logger.warn('verification found drift', summary);
  else logger.info('verification found no drift', summary);
  return summary;
}
