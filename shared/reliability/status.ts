import type { Querier, ReadQuerier } from '../db/connection';
import type { OfflineTarget } from '../db/guard';
import { type BookkeepingTable, ensureTable, selectOrEmpty, utcNow } from '../db/tables';
import type { SqlValue } from '../types';
import { DEAD_LETTER_TABLE } from './dead-letters';

/**
 * What the CDC status view shows per offline target: each partition's position and lag (from
 * `cdc_mirror.positions`), what was applied per hour (`cdc_mirror.apply_stats`, written in the same
 * transaction as the rows; a re-delivered batch counts again), and the dead letters still open.
 */
const STATS: BookkeepingTable = {
  name: 'apply_stats',
  create: `CREATE TABLE IF NOT EXISTS \`cdc_mirror\`.\`apply_stats\` (
    target VARCHAR(64) NOT NULL,
    table_name VARCHAR(200) NOT NULL,
    hour DATETIME NOT NULL,
    inserted BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    deleted BIGINT NOT NULL DEFAULT 0,
    conflicts BIGINT NOT NULL DEFAULT 0,
    dead_lettered BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (target, table_name, hour)
  ) DEFAULT CHARSET=utf8mb4`,
};

export function ensureApplyStatsTable(target: OfflineTarget): Promise<void> {
  return ensureTable(target, STATS);
}

export interface AppliedCounts {
  table: string;
  inserted: number;
  updated: number;
  deleted: number;
  conflicts: number;
  deadLettered: number;
}

/** Adds one batch's counts to the current hour, in the batch's transaction. */
export async function recordApplyStats(
  q: Querier,
  target: string,
  counts: readonly AppliedCounts[],
): Promise<void> {
  const rows = counts.filter((c) => c.inserted + c.updated + c.deleted + c.conflicts + c.deadLettered > 0);
  if (rows.length === 0) return;
  const hour = `${utcNow().slice(0, 13)}:00:00`;
  const params: SqlValue[] = [];
  for (const c of rows) {
    params.push(
      target,
      c.table.slice(0, 200),
      hour,
      ...[c.inserted, c.updated, c.deleted, c.conflicts, c.deadLettered].map(String),
    );
  }
  await q.execute({
    sql: `INSERT INTO \`cdc_mirror\`.\`apply_stats\` (target, table_name, hour, inserted, updated, deleted, conflicts, dead_lettered)
      VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ON DUPLICATE KEY UPDATE
      inserted = inserted + VALUES(inserted), updated = updated + VALUES(updated), deleted = deleted + VALUES(deleted),
      conflicts = conflicts + VALUES(conflicts), dead_lettered = dead_lettered + VALUES(dead_lettered)`,
    params,
  });
}

export interface Totals {
  inserted: number;
  updated: number;
  deleted: number;
  conflicts: number;
  deadLettered: number;
}

export interface TargetStatus {
  target: string;
  partitions: {
    topic: string;
    partition: number;
    appliedOffset: string;
    sourceTime: string | null;
    appliedAt: string;
    /** Source commit → applied. */
    lagMs: number | null;
    /** Since the last applied batch. */
    sinceAppliedMs: number;
  }[];
  lastHour: Totals;
  lastDay: Totals;
  deadLettersOpen: number;
}

const utcMs = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);

async function totalsSince(q: ReadQuerier, target: string, hours: number): Promise<Totals> {
  const since = new Date(Date.now() - hours * 3_600_000).toISOString().slice(0, 13).replace('T', ' ');
  const [r] = await selectOrEmpty(() =>
    q.select(
      `SELECT COALESCE(SUM(inserted), 0) AS i, COALESCE(SUM(updated), 0) AS u, COALESCE(SUM(deleted), 0) AS d,
              COALESCE(SUM(conflicts), 0) AS c, COALESCE(SUM(dead_lettered), 0) AS l
         FROM \`cdc_mirror\`.\`apply_stats\` WHERE target = ? AND hour >= ?`,
      [target, `${since}:00:00`],
    ),
  );
  return {
    inserted: Number(r?.i ?? 0),
    updated: Number(r?.u ?? 0),
    deleted: Number(r?.d ?? 0),
    conflicts: Number(r?.c ?? 0),
    deadLettered: Number(r?.l ?? 0),
  };
}

/** The status of one offline target (reads only; tables never created read as empty). */
export async function readTargetStatus(
  q: ReadQuerier,
  target: string,
  now = Date.now(),
): Promise<TargetStatus> {
  const positions = await selectOrEmpty(() =>
    q.select(
      `SELECT topic, kafka_partition, applied_offset, CAST(source_time AS CHAR) AS source_time,
              CAST(updated_at AS CHAR) AS updated_at FROM \`cdc_mirror\`.\`positions\` WHERE target = ? ORDER BY topic, kafka_partition`,
      [target],
    ),
  );
  const [open] = await selectOrEmpty(() =>
    q.select(`SELECT COUNT(*) AS n FROM ${DEAD_LETTER_TABLE} WHERE target = ? AND status = 'open'`, [target]),
  );
  return {
    target,
    partitions: positions.map((p) => {
      const appliedAt = String(p.updated_at);
      const sourceTime = p.source_time === null ? null : String(p.source_time);
      return {
        topic: String(p.topic),
        partition: Number(p.kafka_partition),
        appliedOffset: String(p.applied_offset),
        sourceTime,
        appliedAt,
        lagMs: sourceTime === null ? null : Math.max(0, utcMs(appliedAt) - utcMs(sourceTime)),
        sinceAppliedMs: Math.max(0, now - utcMs(appliedAt)),
      };
    }),
    lastHour: await totalsSince(q, target, 1),
    lastDay: await totalsSince(q, target, 24),
    deadLettersOpen: Number(open?.n ?? 0),
  };
}
