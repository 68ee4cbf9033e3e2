import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCanal, encodeDebezium, encodeMaxwell } from '../dev/encode';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { closeAllDatabases } from '../shared/db/connection';
import { introspectTable } from '../shared/schema/introspect';
import type { ColumnInfo, SqlValue } from '../shared/types';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';
import { lambdaContext, mskEvent, type TestRecord } from './support/kafka';
import { readOnlyQuerier } from './support/raw-connection';
import { EXACT_COLUMNS_SQL, insertTypeRowsSql, TYPE_TABLE_COLUMNS } from './support/type-corpus';

type RawDbRow = Record<string, SqlValue>;
type Handler = (event: unknown, context: unknown) => Promise<BatchSummary>;

const src = uniqueSchema('shop');
const dst = `${src}_test`;
const TOPIC = 'dbserver1.shop.types';

let online: Connection;
let offline: Connection;
let handler: Handler;
let columns: ColumnInfo[];

async function exactRows(conn: Connection, schema: string, table = 'types'): Promise<unknown[]> {
  const [rows] = await conn.query(`SELECT ${EXACT_COLUMNS_SQL} FROM \`${schema}\`.\`${table}\` ORDER BY id`);
  return rows as unknown[];
}

async function onlineRows(where = '1=1'): Promise<RawDbRow[]> {
  const [rows] = await online.query(`SELECT * FROM \`${src}\`.types WHERE ${where} ORDER BY id`);
  return rows as RawDbRow[];
}

async function deliver(records: TestRecord[]): Promise<BatchSummary> {
  return handler(mskEvent(records), lambdaContext());
}

type Format = 'debezium' | 'debezium-noschema' | 'canal' | 'maxwell';
const formats: Format[] = ['debezium', 'debezium-noschema', 'canal', 'maxwell'];

function encode(
  format: Format,
  op: 'c' | 'u' | 'd',
  before: RawDbRow | undefined,
  after: RawDbRow | undefined,
): string {
  const base = { db: src, table: 'types', columns };
  switch (format) {
    case 'debezium':
    case 'debezium-noschema':
      return encodeDebezium({
        ...base,
        op,
        ...(before ? { before } : {}),
        ...(after ? { after } : {}),
        withSchema: format === 'debezium',
      });
    case 'canal': {
      const type = op === 'c' ? 'INSERT' : op === 'u' ? 'UPDATE' : 'DELETE';
      const row = (op === 'd' ? before : after) as RawDbRow;
      return encodeCanal({
        ...base,
        type,
        pkNames: ['id'],
        rows: [row],
        ...(op === 'u' && before ? { old: [changedColumns(before, row)] } : {}),
      });
    }
    case 'maxwell': {
      const type = op === 'c' ? 'insert' : op === 'u' ? 'update' : 'delete';
      const data = (op === 'd' ? before : after) as RawDbRow;
      return encodeMaxwell({
        ...base,
        type,
        data,
        ...(op === 'u' && before ? { old: changedColumns(before, data) } : {}),
      });
    }
  }
}

/**
 * What the offline side can hold after a trip through `format`. Debezium itself sends zero dates
 * ('0000-00-00') as null for nullable columns (documented connector behaviour), so they arrive as NULL.
 */
function reachable(format: Format, rows: unknown[]): unknown[] {
  if (!format.startsWith('debezium')) return rows;
  return (rows as Record<string, unknown>[]).map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && v.startsWith('0000-00-00') ? null : v]),
    ),
  );
}

function same(a: SqlValue | undefined, b: SqlValue | undefined): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

function changedColumns(before: RawDbRow, after: RawDbRow): RawDbRow {
  const old: RawDbRow = {};
  for (const [k, v] of Object.entries(before)) if (!same(v, after[k])) old[k] = v;
  return old;
}

beforeAll(async () => {
  online = await rawConnection(onlineUrl());
  offline = await rawConnection(offlineUrl());
  await online.query(`CREATE DATABASE \`${src}\` CHARACTER SET utf8mb4`);
  await offline.query(`CREATE DATABASE \`${dst}\` CHARACTER SET utf8mb4`);
  const ddl = `(${TYPE_TABLE_COLUMNS}) DEFAULT CHARSET=utf8mb4`;
  await online.query(`CREATE TABLE \`${src}\`.types ${ddl}`);
  await offline.query(`CREATE TABLE \`${dst}\`.types ${ddl}`);
  await online.query(insertTypeRowsSql(`\`${src}\`.types`));
  columns = (await introspectTable(readOnlyQuerier(online), { schema: src, table: 'types' })).columns;
  useConfig({
    databases: {
      online: { role: 'online', url: onlineUrl() },
      offline: { role: 'offline', url: offlineUrl() },
    },
    cdc: [{ topics: [TOPIC], target: 'offline', schemas: { [src]: dst } }],
  });
  handler = (await import('../functions/cdc-sync')).handler as unknown as Handler;
});

afterAll(async () => {
  await online.query(`DROP DATABASE \`${src}\``);
  await offline.query(`DROP DATABASE \`${dst}\``);
  await online.end();
  await offline.end();
  await closeAllDatabases();
});

describe.each(formats)('every column type survives %s byte for byte', (format) => {
  it('inserts, updates and deletes', async () => {
    await offline.query(`TRUNCATE TABLE \`${dst}\`.types`);
    const inserted = await onlineRows();
    const summary = await deliver(
      inserted.map((r) => ({ topic: TOPIC, value: encode(format, 'c', undefined, r) })),
    );
    expect(summary.deadLettered).toBe(0);
    expect(summary.tables[`offline/${dst}.types`]).toMatchObject({ inserted: 3, failed: 0 });
    expect(await exactRows(offline, dst)).toEqual(reachable(format, await exactRows(online, src)));

    // Update every row online, deliver before/after images, compare again.
    await online.query(
      `UPDATE \`${src}\`.types SET vc = CONCAT('upd ', COALESCE(vc, '')), d = -d, tm6 = '-12:00:00.5', ` +
        `b64 = b'1010', js = '{"u": 1}', uk = CONCAT('v', id % 1000)`,
    );
    const updated = await onlineRows();
    await deliver(updated.map((r, i) => ({ topic: TOPIC, value: encode(format, 'u', inserted[i], r) })));
    expect(await exactRows(offline, dst)).toEqual(reachable(format, await exactRows(online, src)));

    // Delete one row online and replay the whole history: the end state is the same.
    const gone = updated[1] as RawDbRow;
    await online.query(`DELETE FROM \`${src}\`.types WHERE id = 2`);
    const history: TestRecord[] = [
      ...inserted.map((r) => ({ topic: TOPIC, value: encode(format, 'c', undefined, r) })),
      ...updated.map((r, i) => ({ topic: TOPIC, value: encode(format, 'u', inserted[i], r) })),
      { topic: TOPIC, value: encode(format, 'd', gone, undefined) },
    ];
    await deliver(history);
    await deliver(history);
    expect(await exactRows(offline, dst)).toEqual(reachable(format, await exactRows(online, src)));

    // Put row 2 back online for the next format.
    await online.query(`DELETE FROM \`${src}\`.types`);
    await online.query(insertTypeRowsSql(`\`${src}\`.types`));
  });
});
