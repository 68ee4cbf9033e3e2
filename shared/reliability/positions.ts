import type { Querier, ReadQuerier } from '../db/connection';
import type { OfflineTarget } from '../db/guard';
import { type BookkeepingTable, ensureTable, selectOrEmpty, utcNow } from '../db/tables';
import type { SqlValue } from '../types';

/**
 * Per target and topic-partition: the last offset applied, and the last DDL executed there (its
 * offset and a hash of its text). Updated in the transaction that applied the records, so it is
 * exactly what has committed. The DDL fence makes a re-delivered batch safe: a batch that already
 * ran past a DDL (whose effects cannot be rolled back) skips what came before it instead of applying
 * old rows to the table the DDL rebuilt.
 */
const TABLE: BookkeepingTable = {
  name: 'positions',
  create: `CREATE TABLE IF NOT EXISTS \`cdc_mirror\`.\`positions\` (
    target VARCHAR(64) NOT NULL,
    topic VARCHAR(249) NOT NULL,
    kafka_partition INT NOT NULL,
    applied_offset BIGINT NOT NULL,
    ddl_offset BIGINT NULL,
    ddl_hash CHAR(64) NULL,
    updated_at DATETIME(6) NOT NULL,
    source_time DATETIME(3) NULL,
    PRIMARY KEY (target, topic, kafka_partition)
  ) DEFAULT CHARSET=utf8mb4`,
  // For tables created by earlier releases.
  added: {
    // When the last applied change committed online (UTC), when the message says: lag = updated_at - source_time.
    source_time: 'source_time DATETIME(3) NULL',
  },
};

export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
  /** Source commit time of the record at `offset`, when its message carries one. */
  eventTimeMs?: number;
}

const utcMillis = (ms: number | undefined) =>
  ms === undefined || !Number.isFinite(ms)
    ? null
    : new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export interface DdlFence {
  offset: string;
  hash: string;
}

export function ensurePositionsTable(target: OfflineTarget): Promise<void> {
  return ensureTable(target, TABLE);
}

export const partitionLabel = (p: { topic: string; partition: number }) => `${p.topic}-${p.partition}`;

/**
 * Moves each partition's applied offset forward (never back: a replayed dead letter is older), with the
 * source commit time of that record (kept from before when that record carries none, e.g. undecodable). For visibility (position, lag) and the DDL fence only.
 */
export async function recordApplied(
  q: Querier,
  target: string,
  offsets: readonly PartitionOffset[],
): Promise<void> {
  for (const o of offsets) {
    await q.execute({
      sql: `INSERT INTO \`cdc_mirror\`.\`positions\` (target, topic, kafka_partition, applied_offset, source_time, updated_at)
        VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE
        source_time = IF(VALUES(applied_offset) >= applied_offset, COALESCE(VALUES(source_time), source_time), source_time),
        applied_offset = GREATEST(applied_offset, VALUES(applied_offset)), updated_at = VALUES(updated_at)`,
      params: [target, o.topic, String(o.partition), o.offset, utcMillis(o.eventTimeMs), utcNow()],
    });
  }
}

export async function recordDdlFence(
  q: Querier,
  target: string,
  at: PartitionOffset,
  hash: string,
): Promise<void> {
  await q.execute({
    sql: `INSERT INTO \`cdc_mirror\`.\`positions\` (target, topic, kafka_partition, applied_offset, ddl_offset, ddl_hash, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE applied_offset = GREATEST(applied_offset, VALUES(applied_offset)),
      ddl_offset = VALUES(ddl_offset), ddl_hash = VALUES(ddl_hash), updated_at = VALUES(updated_at)`,
    params: [target, at.topic, String(at.partition), at.offset, at.offset, hash, utcNow()],
  });
}

/** The last DDL fence of each of `partitions` (by partitionLabel). */
export async function readDdlFences(
  q: ReadQuerier,
  target: string,
  partitions: readonly { topic: string; partition: number }[],
): Promise<Map<string, DdlFence>> {
  const out = new Map<string, DdlFence>();
  if (partitions.length === 0) return out;
  const params: SqlValue[] = [target];
  const ors = partitions.map((p) => {
    params.push(p.topic, String(p.partition));
    return '(topic = ? AND kafka_partition = ?)';
  });
  const rows = await selectOrEmpty(() =>
    q.select(
      `SELECT topic, kafka_partition, ddl_offset, ddl_hash FROM \`cdc_mirror\`.\`positions\`
        WHERE target = ? AND ddl_offset IS NOT NULL AND (${ors.join(' OR ')})`,
      params,
    ),
  );
  for (const r of rows) {
    out.set(partitionLabel({ topic: String(r.topic), partition: Number(r.kafka_partition) }), {
      offset: String(r.ddl_offset),
      hash: String(r.ddl_hash),
    });
  }
  return out;
}
