import type { Database, Querier } from '../db/connection';
import { ensureTables, utcNow } from '../db/tables';
import type { SourcePosition, SqlValue } from '../types';

/**
 * Records that cannot be applied as they are (undecodable, a value the offline column cannot hold,
 * a table with no usable key) are kept in the offline database instead of blocking their partition.
 * One row per (topic, partition, offset, row index): a replayed batch bumps `attempts`, never duplicates.
 */
export const DEAD_LETTER_TABLE = '`cdc_mirror`.`dead_letters`';

const CREATE = [
  'CREATE DATABASE IF NOT EXISTS `cdc_mirror`',
  `CREATE TABLE IF NOT EXISTS ${DEAD_LETTER_TABLE} (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    topic VARCHAR(249) NOT NULL,
    kafka_partition INT NOT NULL,
    kafka_offset BIGINT NOT NULL,
    row_index INT NOT NULL DEFAULT 0,
    target VARCHAR(64) NOT NULL,
    table_name VARCHAR(200) NULL,
    record_key LONGBLOB NULL,
    raw_value LONGBLOB NULL,
    error TEXT NOT NULL,
    error_class VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL DEFAULT 'open',
    attempts INT NOT NULL DEFAULT 1,
    first_seen DATETIME(6) NOT NULL,
    last_seen DATETIME(6) NOT NULL,
    UNIQUE KEY uk_position (topic, kafka_partition, kafka_offset, row_index),
    KEY k_status (status, last_seen)
  ) DEFAULT CHARSET=utf8mb4`,
];

export interface DeadLetter {
  position: SourcePosition;
  target: string;
  table?: string;
  key: Buffer | null;
  value: Buffer | null;
  error: string;
  errorClass: 'decode' | 'value' | 'table' | 'data';
}

export interface StoredDeadLetter {
  id: string;
  topic: string;
  partition: number;
  offset: string;
  rowIndex: number;
  target: string;
  table: string | null;
  error: string;
  errorClass: string;
  status: string;
  attempts: number;
  firstSeen: string;
  lastSeen: string;
  key: Buffer | null;
  value: Buffer | null;
}

export function ensureDeadLetterTable(db: Database): Promise<void> {
  return ensureTables(db, 'dead_letters', CREATE);
}

export async function recordDeadLetters(db: Database, letters: readonly DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await ensureDeadLetterTable(db);
  const ts = utcNow();
  for (const l of letters) {
    const params: SqlValue[] = [
      l.position.topic,
      String(l.position.partition),
      l.position.offset,
      String(l.position.index),
      l.target,
      l.table ?? null,
      l.key,
      l.value,
      l.error.slice(0, 60_000),
      l.errorClass,
      ts,
      ts,
    ];
    await db.execute({
      sql: `INSERT INTO ${DEAD_LETTER_TABLE}
        (topic, kafka_partition, kafka_offset, row_index, target, table_name, record_key, raw_value, error, error_class, first_seen, last_seen)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON DUPLICATE KEY UPDATE attempts = attempts + 1, last_seen = VALUES(last_seen), error = VALUES(error),
          error_class = VALUES(error_class), status = 'open'`,
      params,
    });
  }
}

function toStored(r: Record<string, SqlValue>): StoredDeadLetter {
  return {
    id: String(r.id),
    topic: String(r.topic),
    partition: Number(r.kafka_partition),
    offset: String(r.kafka_offset),
    rowIndex: Number(r.row_index),
    target: String(r.target),
    table: r.table_name === null ? null : String(r.table_name),
    error: String(r.error),
    errorClass: String(r.error_class),
    status: String(r.status),
    attempts: Number(r.attempts),
    firstSeen: String(r.first_seen),
    lastSeen: String(r.last_seen),
    key: (r.record_key as Buffer | null) ?? null,
    value: (r.raw_value as Buffer | null) ?? null,
  };
}

export async function listDeadLetters(
  db: Database,
  opts: { status?: string; limit?: number; afterId?: string } = {},
): Promise<StoredDeadLetter[]> {
  await ensureDeadLetterTable(db);
  const params: SqlValue[] = [];
  let where = '1 = 1';
  if (opts.status) {
    where += ' AND status = ?';
    params.push(opts.status);
  }
  if (opts.afterId) {
    where += ' AND id > ?';
    params.push(opts.afterId);
  }
  const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? 100)), 1000);
  const rows = await db.select(
    `SELECT * FROM ${DEAD_LETTER_TABLE} WHERE ${where} ORDER BY id LIMIT ${limit}`,
    params,
  );
  return rows.map(toStored);
}

export async function getDeadLetter(q: Querier, id: string): Promise<StoredDeadLetter | undefined> {
  const [row] = await q.select(`SELECT * FROM ${DEAD_LETTER_TABLE} WHERE id = ?`, [id]);
  return row ? toStored(row) : undefined;
}

export async function markDeadLetter(
  q: Querier,
  id: string,
  status: 'resolved' | 'open',
  error?: string,
): Promise<void> {
  await q.execute({
    sql: `UPDATE ${DEAD_LETTER_TABLE} SET status = ?, attempts = attempts + 1, last_seen = ?, error = COALESCE(?, error) WHERE id = ?`,
    params: [status, utcNow(), error ?? null, id],
  });
}
