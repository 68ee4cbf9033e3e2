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
import type { SqlRow, SqlValue } from '../types';

/**
 * Manual-sync jobs and their audit trail live in the offline database (`cdc_mirror.sync_jobs`),
 * created on first use. A job row is updated in the same transaction as the chunk it describes, so
 * its cursor and counts are exactly what has been written.
 */
export const JOBS_TABLE = '`cdc_mirror`.`sync_jobs`';

const TABLE: BookkeepingTable = {
  name: 'sync_jobs',
  create: `CREATE TABLE IF NOT EXISTS ${JOBS_TABLE} (
    job_id CHAR(36) NOT NULL PRIMARY KEY,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    finished_at DATETIME(6) NULL,
    requested_by VARCHAR(255) NOT NULL,
    source_db VARCHAR(64) NOT NULL,
    target_db VARCHAR(64) NOT NULL,
    source_table VARCHAR(200) NOT NULL,
    target_table VARCHAR(200) NOT NULL,
    condition_text TEXT NOT NULL,
    mode VARCHAR(16) NOT NULL,
    dry_run TINYINT(1) NOT NULL,
    row_limit INT NOT NULL,
    status VARCHAR(16) NOT NULL,
    matched BIGINT NOT NULL DEFAULT 0,
    processed BIGINT NOT NULL DEFAULT 0,
    inserted BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    conflicts BIGINT NOT NULL DEFAULT 0,
    invocations INT NOT NULL DEFAULT 1,
    cursor_json TEXT NULL,
    error TEXT NULL,
    failed_key TEXT NULL,
    client_token VARCHAR(64) NULL,
    KEY k_created (created_at),
    UNIQUE KEY uk_client (client_token, requested_by)
  ) DEFAULT CHARSET=utf8mb4`,
  // For tables created by earlier releases.
  added: {
    failed_key: 'failed_key TEXT NULL',
    client_token: 'client_token VARCHAR(64) NULL, ADD UNIQUE KEY uk_client (client_token, requested_by)',
  },
};

export type JobStatus = 'running' | 'succeeded' | 'failed' | 'refused' | 'cancelled';

export interface JobCounts {
  matched: number;
  processed: number;
  inserted: number;
  updated: number;
  unchanged: number;
  conflicts: number;
}

export interface Job extends JobCounts {
  jobId: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  requestedBy: string;
  source: string;
  target: string;
  sourceTable: string;
  targetTable: string;
  condition: string;
  mode: 'upsert' | 'replace';
  dryRun: boolean;
  limit: number;
  status: JobStatus;
  invocations: number;
  cursor: SqlRow | null;
  error: string | null;
  /** The key of the row the server refused, when a run failed on one. */
  failedKey: Record<string, SqlValue> | null;
  clientToken: string | null;
}

export function ensureJobsTable(target: OfflineTarget): Promise<void> {
  return ensureTable(target, TABLE);
}

/** A keyset cursor as JSON: bytes are tagged so a Buffer comes back as a Buffer. */
export function encodeCursor(row: SqlRow | null): string | null {
  return row ? storeJson(row) : null;
}

export function decodeCursor(text: string | null): SqlRow | null {
  if (!text) return null;
  const doc = loadJson(text) as Record<string, SqlValue | { hex: string }>;
  // Cursors stored by earlier releases wrote bytes as `{"hex": "…"}`.
  return Object.fromEntries(
    Object.entries(doc).map(([k, v]) => [
      k,
      v !== null && typeof v === 'object' && !Buffer.isBuffer(v) ? Buffer.from(v.hex, 'hex') : v,
    ]),
  ) as SqlRow;
}

export type NewJob = Pick<
  Job,
  | 'requestedBy'
  | 'source'
  | 'target'
  | 'sourceTable'
  | 'targetTable'
  | 'condition'
  | 'mode'
  | 'dryRun'
  | 'limit'
  | 'status'
  | 'matched'
> & {
  error?: string;
  clientToken?: string;
  /** When the job starts (UTC): also what NOW() means in its condition. Default: now. */
  createdAt?: string;
};

export async function createJob(db: OfflineTarget, job: NewJob): Promise<string> {
  await ensureJobsTable(db);
  const jobId = randomUUID();
  const ts = job.createdAt ?? utcNow();
  const done = job.status !== 'running';
  await db.execute({
    sql: `INSERT INTO ${JOBS_TABLE} (job_id, created_at, updated_at, finished_at, requested_by, source_db, target_db,
      source_table, target_table, condition_text, mode, dry_run, row_limit, status, matched, error, client_token)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    params: [
      jobId,
      ts,
      ts,
      done ? ts : null,
      job.requestedBy.slice(0, 255),
      job.source,
      job.target,
      job.sourceTable,
      job.targetTable,
      job.condition,
      job.mode,
      job.dryRun ? '1' : '0',
      String(job.limit),
      job.status,
      String(job.matched),
      job.error ?? null,
      job.clientToken ?? null,
    ],
  });
  return jobId;
}

/** Records progress; `q` is the transaction that wrote the chunk, so both commit or neither. */
export async function updateJob(
  q: Querier,
  jobId: string,
  change: Partial<JobCounts> & {
    status?: JobStatus;
    cursor?: SqlRow | null;
    error?: string | null;
    failedKey?: Record<string, SqlValue> | null;
    /** Change the job only while it is running (a cancel in between wins). */
    onlyIfRunning?: boolean;
    /**
     * The invocation's claim (see claimRun): change the job only while it is still this invocation's.
     * Otherwise RunSuperseded is thrown, rolling back the chunk this update belongs to (unless
     * onlyIfRunning, where changing nothing is an answer).
     */
    fence?: number;
  },
): Promise<void> {
  const sets: string[] = ['updated_at = ?'];
  const params: SqlValue[] = [utcNow()];
  for (const key of ['processed', 'inserted', 'updated', 'unchanged', 'conflicts'] as const) {
    const v = change[key];
    if (v !== undefined) {
      sets.push(`${key} = ${key} + ?`);
      params.push(String(v));
    }
  }
  if (change.status) {
    sets.push('status = ?');
    params.push(change.status);
    if (change.status !== 'running') sets.push('finished_at = updated_at');
  }
  if (change.cursor !== undefined) {
    sets.push('cursor_json = ?');
    params.push(encodeCursor(change.cursor));
  }
  if (change.error !== undefined) {
    sets.push('error = ?');
    params.push(change.error);
  }
  if (change.failedKey !== undefined) {
    sets.push('failed_key = ?');
    params.push(encodeCursor(change.failedKey));
  }
  const fence = claimFence(change.fence);
  params.push(jobId, ...fence.params);
  const result = await q.execute({
    sql: `UPDATE ${JOBS_TABLE} SET ${sets.join(', ')} WHERE job_id = ?${fence.sql}${change.onlyIfRunning ? " AND status = 'running'" : ''}`,
    params,
  });
  if (change.fence !== undefined && !change.onlyIfRunning && result.affectedRows === 0)
    throw new RunSuperseded(`job ${jobId} was taken over by another invocation`);
}

/** This invocation's claim on a running job (see claimRun); undefined when another one has it. */
export function claimJob(q: Querier, jobId: string, expected?: number): Promise<number | undefined> {
  return claimRun(q, { table: JOBS_TABLE, idColumn: 'job_id', id: jobId }, expected);
}

/** Reads a job; a target where no job was ever created has none (nothing is created to find out). */
export async function getJob(db: ReadQuerier, jobId: string): Promise<Job | undefined> {
  const [r] = await selectOrEmpty(() => db.select(`SELECT * FROM ${JOBS_TABLE} WHERE job_id = ?`, [jobId]));
  return r ? jobOf(r) : undefined;
}

/** The job a caller already submitted with this client token (a double click), if any. */
export async function getJobByClientToken(
  db: ReadQuerier,
  requestedBy: string,
  clientToken: string,
): Promise<Job | undefined> {
  const [r] = await selectOrEmpty(() =>
    db.select(`SELECT * FROM ${JOBS_TABLE} WHERE client_token = ? AND requested_by = ?`, [
      clientToken,
      requestedBy.slice(0, 255),
    ]),
  );
  return r ? jobOf(r) : undefined;
}

export interface JobFilter {
  requestedBy?: string;
  table?: string;
  status?: JobStatus;
  limit: number;
}

/** Jobs newest first, filtered by who asked, the source table and the status. */
export async function listJobs(db: ReadQuerier, f: JobFilter): Promise<Job[]> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (f.requestedBy) {
    where.push('requested_by = ?');
    params.push(f.requestedBy);
  }
  if (f.table) {
    where.push('source_table = ?');
    params.push(f.table);
  }
  if (f.status) {
    where.push('status = ?');
    params.push(f.status);
  }
  const rows = await selectOrEmpty(() =>
    db.select(
      `SELECT * FROM ${JOBS_TABLE}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT ${Math.floor(f.limit)}`,
      params,
    ),
  );
  return rows.map(jobOf);
}

function jobOf(r: Record<string, SqlValue>): Job {
  const n = (k: string) => Number(r[k]);
  const s = (k: string) => String(r[k]);
  return {
    jobId: s('job_id'),
    createdAt: s('created_at'),
    updatedAt: s('updated_at'),
    finishedAt: r.finished_at === null ? null : s('finished_at'),
    requestedBy: s('requested_by'),
    source: s('source_db'),
    target: s('target_db'),
    sourceTable: s('source_table'),
    targetTable: s('target_table'),
    condition: s('condition_text'),
    mode: s('mode') as Job['mode'],
    dryRun: s('dry_run') === '1',
    limit: n('row_limit'),
    status: s('status') as JobStatus,
    matched: n('matched'),
    processed: n('processed'),
    inserted: n('inserted'),
    updated: n('updated'),
    unchanged: n('unchanged'),
    conflicts: n('conflicts'),
    invocations: n('invocations'),
    cursor: decodeCursor(r.cursor_json === null ? null : s('cursor_json')),
    error: r.error === null ? null : s('error'),
    failedKey: decodeCursor(r.failed_key === null || r.failed_key === undefined ? null : s('failed_key')),
    clientToken: r.client_token === null || r.client_token === undefined ? null : s('client_token'),
  };
}
