import { randomUUID } from 'node:crypto';
import type { Querier, ReadQuerier } from '../db/connection';
import type { OfflineTarget } from '../db/guard';
import {
  type BookkeepingTable,
  claimFence,
  claimRun,
  ensureTable,
  loadJson,
  RunSuperseded,
  selectOrEmpty,
  storeJson,
  utcNow,
} from '../db/tables';

/**
 * Verification runs in the offline database they verify (`cdc_mirror.verify_runs`): who asked, what, the
 * progress of a run that goes on over several invocations, and the report.
 */
const TABLE: BookkeepingTable = {
  name: 'verify_runs',
  create: `CREATE TABLE IF NOT EXISTS \`cdc_mirror\`.\`verify_runs\` (
    verify_id CHAR(36) NOT NULL PRIMARY KEY,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    requested_by VARCHAR(255) NOT NULL,
    source_db VARCHAR(64) NOT NULL,
    target_db VARCHAR(64) NOT NULL,
    source_table VARCHAR(200) NOT NULL,
    target_table VARCHAR(200) NOT NULL,
    condition_text TEXT NOT NULL,
    options TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    progress LONGTEXT NULL,
    report LONGTEXT NULL,
    error TEXT NULL,
    repaired_at DATETIME(6) NULL,
    repair LONGTEXT NULL,
    invocations INT NOT NULL DEFAULT 1,
    KEY k_created (created_at)
  ) DEFAULT CHARSET=utf8mb4`,
  // For tables created by earlier releases.
  added: { invocations: 'invocations INT NOT NULL DEFAULT 1' },
};

const RUNS_TABLE = '`cdc_mirror`.`verify_runs`';

/** This invocation's claim on a running verification (see claimRun); undefined when another has it. */
export function claimVerifyRun(q: Querier, id: string, expected?: number): Promise<number | undefined> {
  return claimRun(q, { table: RUNS_TABLE, idColumn: 'verify_id', id }, expected);
}

export type VerifyStatus = 'running' | 'succeeded' | 'failed';

export interface VerifyRun {
  verifyId: string;
  createdAt: string;
  updatedAt: string;
  requestedBy: string;
  source: string;
  target: string;
  sourceTable: string;
  targetTable: string;
  condition: string;
  options: { chunkSize: number; rowsPerSecond: number; scheduled?: boolean };
  status: VerifyStatus;
  progress: unknown;
  report: Record<string, unknown> | null;
  error: string | null;
  repairedAt: string | null;
  repair: Record<string, unknown> | null;
}

export async function createVerifyRun(
  db: OfflineTarget,
  run: Pick<
    VerifyRun,
    'requestedBy' | 'source' | 'target' | 'sourceTable' | 'targetTable' | 'condition' | 'options'
  > & {
    /** When the run starts (UTC): also what NOW() means in its condition. */
    createdAt: string;
  },
): Promise<string> {
  await ensureTable(db, TABLE);
  const id = randomUUID();
  const now = run.createdAt;
  await db.execute({
    sql: `INSERT INTO ${RUNS_TABLE} (verify_id, created_at, updated_at, requested_by, source_db,
      target_db, source_table, target_table, condition_text, options, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')`,
    params: [
      id,
      now,
      now,
      run.requestedBy.slice(0, 255),
      run.source,
      run.target,
      run.sourceTable,
      run.targetTable,
      run.condition,
      JSON.stringify(run.options),
    ],
  });
  return id;
}

/**
 * Records progress (a run going on), the report (done), or the error (failed); with `fence` (the
 * invocation's claim) only while the run is still that invocation's, else RunSuperseded.
 */
export async function updateVerifyRun(
  q: Querier,
  id: string,
  change: { progress?: unknown; report?: unknown; status?: VerifyStatus; error?: string; fence?: number },
): Promise<void> {
  const sets = ['updated_at = ?'];
  const params: (string | null)[] = [utcNow()];
  if (change.progress !== undefined) {
    sets.push('progress = ?');
    params.push(storeJson(change.progress));
  }
  if (change.report !== undefined) {
    sets.push('report = ?');
    params.push(storeJson(change.report));
  }
  if (change.status) {
    sets.push('status = ?');
    params.push(change.status);
  }
  if (change.error !== undefined) {
    sets.push('error = ?');
    params.push(change.error.slice(0, 16_000));
  }
  const fence = claimFence(change.fence);
  params.push(id, ...fence.params);
  const result = await q.execute({
    sql: `UPDATE ${RUNS_TABLE} SET ${sets.join(', ')} WHERE verify_id = ?${fence.sql}`,
    params,
  });
  if (change.fence !== undefined && result.affectedRows === 0)
    throw new RunSuperseded(`verification ${id} was taken over by another invocation`);
}

export async function saveRepair(db: OfflineTarget, id: string, repair: unknown): Promise<void> {
  await db.execute({
    sql: `UPDATE ${RUNS_TABLE} SET repaired_at = ?, repair = ? WHERE verify_id = ?`,
    params: [utcNow(), storeJson(repair), id],
  });
}

export async function getVerifyRun(db: ReadQuerier, id: string): Promise<VerifyRun | undefined> {
  const [r] = await selectOrEmpty(() => db.select(`SELECT * FROM ${RUNS_TABLE} WHERE verify_id = ?`, [id]));
  if (!r) return undefined;
  const text = (k: string) => (r[k] === null || r[k] === undefined ? null : String(r[k]));
  return {
    verifyId: String(r.verify_id),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
    requestedBy: String(r.requested_by),
    source: String(r.source_db),
    target: String(r.target_db),
    sourceTable: String(r.source_table),
    targetTable: String(r.target_table),
    condition: String(r.condition_text),
    options: JSON.parse(String(r.options)),
    status: String(r.status) as VerifyStatus,
    progress: text('progress') === null ? null : loadJson(text('progress') as string),
    report: text('report') === null ? null : (loadJson(text('report') as string) as Record<string, unknown>),
    error: text('error'),
    repairedAt: text('repaired_at'),
    repair: text('repair') === null ? null : (loadJson(text('repair') as string) as Record<string, unknown>),
  };
}
