import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinlogCapture, type CaptureFormat, ddlTable, float32Text } from '../dev/capture';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { closeAllDatabases } from '../shared/db/connection';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';
import { lambdaContext } from './support/kafka';
import { EXACT_COLUMNS_SQL, insertTypeRowsSql, TYPE_TABLE_COLUMNS } from './support/type-corpus';

/**
 * Real change messages: rows changed online with SQL, read from the binlog by the local capture,
 * encoded as each connector would, delivered as MSK events to the real handler, and compared byte for
 * byte with the online table.
 */
type Handler = (event: unknown, context: unknown) => Promise<BatchSummary>;

const formats: CaptureFormat[] = ['debezium', 'canal', 'maxwell'];
const src = uniqueSchema('cap');
let online: Connection;
let offline: Connection;
let handler: Handler;

async function exactRows(conn: Connection, schema: string): Promise<Record<string, unknown>[]> {
  const [rows] = await conn.query(`SELECT ${EXACT_COLUMNS_SQL} FROM \`${schema}\`.types ORDER BY id`);
  return rows as Record<string, unknown>[];
}

/** Debezium itself sends zero dates as null for nullable columns (documented connector behaviour). */
function reachable(format: CaptureFormat, rows: Record<string, unknown>[]): Record<string, unknown>[] {
  if (format !== 'debezium') return rows;
  return rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && v.startsWith('0000-00-00') ? null : v]),
    ),
  );
}

beforeAll(async () => {
  online = await rawConnection(onlineUrl());
  offline = await rawConnection(offlineUrl());
  await online.query(`CREATE DATABASE \`${src}\` CHARACTER SET utf8mb4`);
  await online.query(`CREATE TABLE \`${src}\`.types (${TYPE_TABLE_COLUMNS}) DEFAULT CHARSET=utf8mb4`);
  const topics = formats.map((f) => `cap-${f}.${src}.types`);
  useConfig({
    databases: {
      online: { role: 'online', url: onlineUrl() },
      offline: { role: 'offline', url: offlineUrl() },
    },
    cdc: formats.map((f, i) => ({
      topics: [topics[i], `cap-${f}`],
      target: 'offline',
      format: f,
      schemas: { [src]: `${src}_${f}` },
      applyDdl: true,
    })),
  });
  for (const f of formats) {
    await offline.query(`CREATE DATABASE \`${src}_${f}\` CHARACTER SET utf8mb4`);
    await offline.query(`CREATE TABLE \`${src}_${f}\`.types (${TYPE_TABLE_COLUMNS}) DEFAULT CHARSET=utf8mb4`);
  }
  handler = (await import('../functions/cdc-sync')).handler as unknown as Handler;
});

afterAll(async () => {
  await online.query(`DROP DATABASE IF EXISTS \`${src}\``);
  for (const f of formats) await offline.query(`DROP DATABASE IF EXISTS \`${src}_${f}\``);
  await online.end();
  await offline.end();
  await closeAllDatabases();
});

describe('local change capture', () => {
  it('prints FLOAT as its shortest 32-bit text and names the table a DDL changes', () => {
    expect(float32Text(Math.fround(1.1))).toBe('1.1');
    expect(float32Text(Math.fround(3.40282e38))).toBe('3.40282e+38');
    expect(float32Text(Math.fround(-1.5))).toBe('-1.5');
    expect(ddlTable('ALTER TABLE `shop`.`t_config` ADD COLUMN x INT')).toEqual({
      schema: 'shop',
      table: 't_config',
    });
    expect(ddlTable('create table if not exists t (id int)')).toEqual({ table: 't' });
    expect(ddlTable('DROP TABLE IF EXISTS `a b`')).toEqual({ table: 'a b' });
    expect(ddlTable('INSERT INTO t VALUES (1)')).toBeUndefined();
  });

  it.each(formats)('carries every column type from the binlog as %s, byte for byte', async (format) => {
    const dst = `${src}_${format}`;
    const summaries: BatchSummary[] = [];
    const capture = new BinlogCapture({
      onlineUrl: onlineUrl(),
      schemas: [src],
      format,
      serverName: `cap-${format}`,
      batchSize: 50,
      batchWindowMs: 20,
      deliver: async (event) => {
        summaries.push(await handler(event, lambdaContext()));
      },
      onError: (err) => {
        throw err;
      },
    });
    await capture.start();
    try {
      await online.query(`DELETE FROM \`${src}\`.types`);
      await online.query(insertTypeRowsSql(`\`${src}\`.types`));
      await capture.caughtUp();
      expect(await exactRows(offline, dst)).toEqual(reachable(format, await exactRows(online, src)));

      // Every row updated (a multi-row update event: before and after images), then one deleted.
      await online.query(
        `UPDATE \`${src}\`.types SET vc = CONCAT('upd ', COALESCE(vc, '')), d = -d, tm6 = '-12:00:00.5', ` +
          `b64 = b'1010', js = '{"u": 1}', uk = CONCAT('v', id % 1000), f = 0.1, yr = 0, dtm6 = '2024-06-30 23:59:59.999999'`,
      );
      await online.query(`DELETE FROM \`${src}\`.types WHERE id = 2`);
      await capture.caughtUp();
      const [letters] = await offline.query(
        "SELECT error FROM cdc_mirror.dead_letters WHERE topic LIKE ? AND status = 'open'",
        [`cap-${format}%`],
      );
      expect(letters).toEqual([]);
      expect(summaries.filter((s) => s.deadLettered > 0 || s.batchItemFailures.length > 0)).toEqual([]);
      expect(await exactRows(offline, dst)).toEqual(reachable(format, await exactRows(online, src)));
      expect(capture.stats.records).toBeGreaterThanOrEqual(7);

      if (format === 'debezium') {
        // A DDL online reaches the schema-change topic in its place, between the changes around it.
        // As an application runs it: in its own database, the table unqualified.
        await online.query(`USE \`${src}\``);
        await online.query('ALTER TABLE types ADD COLUMN extra VARCHAR(8) NULL');
        await online.query(`UPDATE \`${src}\`.types SET extra = 'x' WHERE id = 1`);
        await capture.caughtUp();
        const [ddlLetters] = await offline.query(
          "SELECT error FROM cdc_mirror.dead_letters WHERE topic = ? AND status = 'open'",
          [`cap-${format}`],
        );
        expect(ddlLetters).toEqual([]);
        const [extra] = await offline.query(`SELECT id, extra FROM \`${dst}\`.types ORDER BY id`);
        expect(extra).toEqual([
          { id: '1', extra: 'x' },
          { id: '18446744073709551615', extra: null },
        ]);
        await online.query('ALTER TABLE types DROP COLUMN extra');
        await capture.caughtUp();
      }
    } finally {
      await capture.stop();
    }
  });
});
