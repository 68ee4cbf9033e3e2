import { createHash } from 'node:crypto';
import type { Querier, ReadQuerier } from '../db/connection';
import { classifyError, redactMessage } from '../db/errors';
import type { OfflineTarget } from '../db/guard';
import { type BookkeepingTable, ensureTable, selectOrEmpty, truncateUtf8, utcNow } from '../db/tables';
import { logger, positionLabel } from '../observability';
import type { SourcePosition, SqlValue } from '../types';

/**
 * Records that cannot be applied as they are (undecodable, a value the offline column cannot hold,
 * a table with no usable key, a refused DDL) are kept in the offline database instead of blocking
 * their partition. One row per (topic, partition, offset, row index): a replayed batch bumps
 * `attempts`, never duplicates. The store accepts anything: every text is cut byte-safely to fit its
 * column, a payload too large for the server's packet is kept cut with its full length and SHA-256,
 * and when even that cannot be stored a row with the position alone is. A record that cannot be
 * stored at all is logged with its position and skipped; it never blocks the partition.
 */
export const DEAD_LETTER_TABLE = '`cdc_mirror`.`dead_letters`';

const TABLE: BookkeepingTable = {
  name: 'dead_letters',
  create: `CREATE TABLE IF NOT EXISTS ${DEAD_LETTER_TABLE} (
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
    row_key_hash CHAR(64) NULL,
    value_bytes BIGINT NULL,
    value_sha256 CHAR(64) NULL,
    value_truncated TINYINT(1) NOT NULL DEFAULT 0,
    superseded_by VARCHAR(300) NULL,
    discarded_by VARCHAR(255) NULL,
    UNIQUE KEY uk_position (topic, kafka_partition, kafka_offset, row_index),
    KEY k_status (status, last_seen),
    KEY k_row (row_key_hash, status)
  ) DEFAULT CHARSET=utf8mb4`,
  // For tables created by earlier releases.
  added: {
    row_key_hash: 'row_key_hash CHAR(64) NULL, ADD KEY k_row (row_key_hash, status)',
    value_bytes: 'value_bytes BIGINT NULL',
    value_sha256: 'value_sha256 CHAR(64) NULL',
    value_truncated: 'value_truncated TINYINT(1) NOT NULL DEFAULT 0',
    superseded_by: 'superseded_by VARCHAR(300) NULL',
    discarded_by: 'discarded_by VARCHAR(255) NULL',
  },
};

/** Byte budgets of the text columns (VARCHAR counts characters, up to 4 bytes each; TEXT holds 65,535 bytes). */
const LIMITS = { topic: 249, target: 64, table: 200, error: 16_000, key: 64 * 1024 };

export type DeadLetterClass = 'decode' | 'value' | 'table' | 'data' | 'ddl';

export interface DeadLetter {
  position: SourcePosition;
  target: string;
  table?: string;
  /** Identifies the row the record changes (see rowKeyHash): a later change to it supersedes this letter. */
  rowKeyHash?: string;
  key: Buffer | null;
  value: Buffer | null;
  error: string;
  errorClass: DeadLetterClass;
}

export type DeadLetterStatus = 'open' | 'resolved' | 'superseded' | 'discarded';

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
  status: DeadLetterStatus;
  attempts: number;
  firstSeen: string;
  lastSeen: string;
  key: Buffer | null;
  value: Buffer | null;
  valueBytes: number | null;
  valueSha256: string | null;
  valueTruncated: boolean;
  supersededBy: string | null;
  discardedBy: string | null;
}

/** The hash that names one row of one offline table, from its exact identity key string. */
export function rowKeyHash(table: string, keyString: string): string {
  return createHash('sha256').update(`${table.toLowerCase()}\u0000${keyString}`).digest('hex');
}

export function ensureDeadLetterTable(target: OfflineTarget): Promise<void> {
  return ensureTable(target, TABLE);
}

/** Characters of `text` that fit in a VARCHAR(n) of utf8mb4, cut on a character boundary. */
const chars = (text: string, n: number) => {
  const cps = [...text];
  return cps.length <= n ? text : `${cps.slice(0, n - 1).join('')}…`;
};

function cutBytes(b: Buffer | null, max: number): Buffer | null {
  return b && b.length > max ? b.subarray(0, max) : b;
}

const UPSERT_TAIL = `ON DUPLICATE KEY UPDATE attempts = attempts + 1, last_seen = VALUES(last_seen), error = VALUES(error),
  error_class = VALUES(error_class), status = IF(status = 'superseded', status, 'open')`;

/**
 * Stores dead letters on `q` (the transaction that applied the rest of their batch, so both commit
 * or neither). `maxAllowedPacket` is the server's: parameters travel escaped (up to twice their
 * bytes), so a payload keeps at most what fits in half the packet.
 */
export async function storeDeadLetters(
  q: Querier,
  letters: readonly DeadLetter[],
  maxAllowedPacket: number,
): Promise<void> {
  const payloadBudget = Math.max(
    1024,
    Math.floor((maxAllowedPacket - 256 * 1024) / 2) - LIMITS.key - LIMITS.error,
  );
  const ts = utcNow();
  for (const l of letters) {
    const position = [
      chars(l.position.topic, LIMITS.topic),
      String(l.position.partition),
      l.position.offset,
      String(l.position.index),
    ];
    const value = l.value;
    const stored = cutBytes(value, payloadBudget);
    const error = truncateUtf8(l.error, LIMITS.error);
    const full: SqlValue[] = [
      ...position,
      chars(l.target, LIMITS.target),
      l.table === undefined ? null : chars(l.table, LIMITS.table),
      l.rowKeyHash ?? null,
      cutBytes(l.key, LIMITS.key),
      stored,
      value ? String(value.length) : null,
      value ? createHash('sha256').update(value).digest('hex') : null,
      value && stored && stored.length < value.length ? '1' : '0',
      error,
      l.errorClass,
      ts,
      ts,
    ];
    try {
      await q.execute({
        sql: `INSERT INTO ${DEAD_LETTER_TABLE} (topic, kafka_partition, kafka_offset, row_index, target, table_name,
          row_key_hash, record_key, raw_value, value_bytes, value_sha256, value_truncated, error, error_class, first_seen, last_seen)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ${UPSERT_TAIL}`,
        params: full,
      });
    } catch (err) {
      if (classifyError(err) === 'transient') throw err;
      logger.warn('dead letter stored without its payload', {
        position: positionLabel(l.position),
        error: redactMessage(err),
      });
      try {
        // The last resort: where it was and why, nothing else.
        await q.execute({
          sql: `INSERT INTO ${DEAD_LETTER_TABLE} (topic, kafka_partition, kafka_offset, row_index, target, error,
            error_class, value_truncated, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?) ${UPSERT_TAIL}`,
          params: [
            ...position,
            chars(l.target, LIMITS.target),
            truncateUtf8(`${l.errorClass}: payload not storable (${redactMessage(err)})`, 2_000),
            l.errorClass,
            ts,
            ts,
          ],
        });
      } catch (last) {
        if (classifyError(last) === 'transient') throw last;
        logger.error('record could not be dead-lettered: skipped', {
          position: positionLabel(l.position),
          error: redactMessage(last),
        });
      }
    }
  }
}

/** True when the target has open dead letters (cheap: the status index answers it). */
export async function hasOpenDeadLetters(q: ReadQuerier): Promise<boolean> {
  const rows = await selectOrEmpty(() =>
    q.select(`SELECT 1 AS x FROM ${DEAD_LETTER_TABLE} WHERE status = 'open' LIMIT 1`),
  );
  return rows.length > 0;
}

export interface AppliedRow {
  rowKeyHash: string;
  position: SourcePosition;
}

/**
 * Marks open dead letters `superseded` when a later record of the same topic-partition changed the
 * same row: replaying them would put older values over newer ones.
 */
export async function markSuperseded(q: Querier, applied: readonly AppliedRow[]): Promise<number> {
  let marked = 0;
  for (let i = 0; i < applied.length; i += 200) {
    const part = applied.slice(i, i + 200);
    const params: SqlValue[] = [];
    const ors = part.map((a) => {
      params.push(a.rowKeyHash, a.position.topic, String(a.position.partition), a.position.offset);
      return '(row_key_hash = ? AND topic = ? AND kafka_partition = ? AND kafka_offset < ?)';
    });
    const result = await q.execute({
      sql: `UPDATE ${DEAD_LETTER_TABLE} SET status = 'superseded',
        superseded_by = CONCAT(topic, '-', kafka_partition, '@', ?) WHERE status = 'open' AND (${ors.join(' OR ')})`,
      params: [part[part.length - 1]?.position.offset ?? null, ...params],
    });
    marked += result.affectedRows;
  }
  return marked;
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
    status: String(r.status) as DeadLetterStatus,
    attempts: Number(r.attempts),
    firstSeen: String(r.first_seen),
    lastSeen: String(r.last_seen),
    key: (r.record_key as Buffer | null) ?? null,
    value: (r.raw_value as Buffer | null) ?? null,
    valueBytes: r.value_bytes === null || r.value_bytes === undefined ? null : Number(r.value_bytes),
    valueSha256: r.value_sha256 === null || r.value_sha256 === undefined ? null : String(r.value_sha256),
    valueTruncated: String(r.value_truncated) === '1',
    supersededBy: r.superseded_by === null || r.superseded_by === undefined ? null : String(r.superseded_by),
    discardedBy: r.discarded_by === null || r.discarded_by === undefined ? null : String(r.discarded_by),
  };
}

export interface ListOptions {
  status?: DeadLetterStatus;
  topic?: string;
  table?: string;
  errorClass?: string;
  limit: number;
  afterId?: string;
}

export async function listDeadLetters(q: ReadQuerier, opts: ListOptions): Promise<StoredDeadLetter[]> {
  const params: SqlValue[] = [];
  let where = '1 = 1';
  if (opts.status) {
    where += ' AND status = ?';
    params.push(opts.status);
  }
  for (const [column, value] of [
    ['topic', opts.topic],
    ['table_name', opts.table],
    ['error_class', opts.errorClass],
  ] as const) {
    if (value === undefined) continue;
    where += ` AND ${column} = ?`;
    params.push(value);
  }
  if (opts.afterId) {
    where += ' AND id > ?';
    params.push(opts.afterId);
  }
  const rows = await selectOrEmpty(() =>
    q.select(
      `SELECT * FROM ${DEAD_LETTER_TABLE} WHERE ${where} ORDER BY id LIMIT ${Math.floor(opts.limit)}`,
      params,
    ),
  );
  return rows.map(toStored);
}

export async function getDeadLetter(q: ReadQuerier, id: string): Promise<StoredDeadLetter | undefined> {
  const [row] = await selectOrEmpty(() => q.select(`SELECT * FROM ${DEAD_LETTER_TABLE} WHERE id = ?`, [id]));
  return row ? toStored(row) : undefined;
}

/**
 * Gives up on an open letter on purpose (a record nobody can or wants to apply, e.g. undecodable): kept,
 * with who decided, never replayed.
 */
export async function discardDeadLetter(q: Querier, id: string, by: string): Promise<boolean> {
  const result = await q.execute({
    sql: `UPDATE ${DEAD_LETTER_TABLE} SET status = 'discarded', discarded_by = ?, last_seen = ? WHERE id = ? AND status = 'open'`,
    params: [by.slice(0, 255), utcNow(), id],
  });
  return result.affectedRows === 1;
}

export async function markDeadLetter(q: Querier, id: string, status: 'resolved'): Promise<void> {
  await q.execute({
    sql: `UPDATE ${DEAD_LETTER_TABLE} SET status = ?, attempts = attempts + 1, last_seen = ? WHERE id = ? AND status = 'open'`,
    params: [status, utcNow(), id],
  });
}
