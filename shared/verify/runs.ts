import { randomUUID } from 'node:crypto';
import type { ReadQuerier } from '../db/connection';
import type { OfflineTarget } from '../db/guard';
import { type BookkeepingTable, ensureTable, selectOrEmpty, utcNow } from '../db/tables';

/** Verification runs and their reports, in the offline database they verified (`cdc_mirror.verify_runs`). */
const TABLE: BookkeepingTable = {
  name: 'verify_runs',
  create: `CREATE TABLE IF NOT EXISTS \`cdc_mirror\`.\`verify_runs\` (
    verify_id CHAR(36) NOT NULL PRIMARY KEY,
    created_at DATETIME(6) NOT NULL,
    requested_by VARCHAR(255) NOT NULL,
    source_db VARCHAR(64) NOT NULL,
    target_db VARCHAR(64) NOT NULL,
    source_table VARCHAR(200) NOT NULL,
    target_table VARCHAR(200) NOT NULL,
    condition_text TEXT NOT NULL,
    report LONGTEXT NOT NULL,
    repaired_at DATETIME(6) NULL,
    repair LONGTEXT NULL,
    KEY k_created (created_at)
  ) DEFAULT CHARSET=utf8mb4`,
};

export interface VerifyRun {
  verifyId: string;
  createdAt: string;
  requestedBy: string;
  source: string;
  target: string;
  sourceTable: string;
  targetTable: string;
  condition: string;
  report: Record<string, unknown>;
  repairedAt: string | null;
  repair: Record<string, unknown> | null;
}

/** Reports hold keys as JSON; bytes are written as `0x…` text. */
const toJson = (v: unknown) =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && (x as { type?: string }).type === 'Buffer'
      ? `0x${Buffer.from((x as { data: number[] }).data).toString('hex')}`
      : x,
  );

export async function saveVerifyRun(
  db: OfflineTarget,
  run: Omit<VerifyRun, 'verifyId' | 'createdAt' | 'repairedAt' | 'repair'>,
): Promise<string> {
  await ensureTable(db, TABLE);
  const id = randomUUID();
  await db.execute({
    sql: `INSERT INTO \`cdc_mirror\`.\`verify_runs\` (verify_id, created_at, requested_by, source_db, target_db,
      source_table, target_table, condition_text, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    params: [
      id,
      utcNow(),
      run.requestedBy.slice(0, 255),
      run.source,
      run.target,
      run.sourceTable,
      run.targetTable,
      run.condition,
      toJson(run.report),
    ],
  });
  return id;
}

export async function saveRepair(db: OfflineTarget, id: string, repair: unknown): Promise<void> {
  await db.execute({
    sql: 'UPDATE `cdc_mirror`.`verify_runs` SET repaired_at = ?, repair = ? WHERE verify_id = ?',
    params: [utcNow(), toJson(repair), id],
  });
}

export async function getVerifyRun(db: ReadQuerier, id: string): Promise<VerifyRun | undefined> {
  const [r] = await selectOrEmpty(() =>
    db.select('SELECT * FROM `cdc_mirror`.`verify_runs` WHERE verify_id = ?', [id]),
  );
  if (!r) return undefined;
  return {
    verifyId: String(r.verify_id),
    createdAt: String(r.created_at),
    requestedBy: String(r.requested_by),
    source: String(r.source_db),
    target: String(r.target_db),
    sourceTable: String(r.source_table),
    targetTable: String(r.target_table),
    condition: String(r.condition_text),
    report: JSON.parse(String(r.report)),
    repairedAt: r.repaired_at === null ? null : String(r.repaired_at),
    repair: r.repair === null ? null : JSON.parse(String(r.repair)),
  };
}
