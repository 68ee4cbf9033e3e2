import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncBatch } from '../shared/cdc/sync-batch';
import { parseConfig } from '../shared/config/load';
import type { SyncConfig } from '../shared/config/schema';
import { closeAllDatabases } from '../shared/db/connection';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema } from './support/env';
import { mskEvent } from './support/kafka';

/**
 * Numbers and YEAR values reach the offline server exactly as the producer wrote them: DECIMAL digits,
 * YEAR 0 as 0 (not 2000), and a Maxwell JSON column (an embedded object) with its numerals' text.
 * Messages are written by hand so each numeral's text is exactly what is being tested.
 */
const schema = uniqueSchema('fidelity');
const TOPIC = `fidelity-${process.pid}`;
const EMBEDDED = '{"a":1.0,"b":[1e400,0.10]}';

let offline: Connection;
let config: SyncConfig;

const maxwell = (type: 'insert' | 'update', data: string, old?: string) =>
  `{"database":"${schema}","table":"t","type":"${type}","ts":1700000000,"xid":7,"commit":true,"data":${data}${old ? `,"old":${old}` : ''}}`;

const canal = (data: Record<string, string | null>) =>
  JSON.stringify({
    data: [data],
    database: schema,
    table: 't',
    es: 1_700_000_000_000,
    ts: 1_700_000_000_003,
    id: 1,
    isDdl: false,
    type: 'INSERT',
    pkNames: ['id'],
    mysqlType: { id: 'int', d: 'decimal(30,20)', f: 'double', j: 'json', y: 'year(4)' },
    sqlType: { id: 4, d: 3, f: 8, j: 12, y: 12 },
    old: null,
    sql: '',
  });

const debezium = (after: string) =>
  `{"op":"c","source":{"db":"${schema}","table":"t","ts_ms":1700000000000},"before":null,"after":${after},"ts_ms":1700000000005}`;

async function deliver(...values: string[]) {
  return syncBatch(mskEvent(values.map((value) => ({ topic: TOPIC, value }))), config, () => 60_000);
}

async function rows(): Promise<Record<string, unknown>[]> {
  const [result] = await offline.query(
    `SELECT id, CAST(d AS CHAR) AS d, f = 0.0000001 AS f_is_1e_7, f = 1 AS f_is_1,
            CAST(j AS CHAR) AS j, HEX(j) AS j_hex, CAST(y AS CHAR) AS y, CAST(y + 0 AS CHAR) AS y_number
       FROM \`${schema}\`.t ORDER BY id`,
  );
  return result as Record<string, unknown>[];
}

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex').toUpperCase();

beforeAll(async () => {
  offline = await rawConnection(offlineUrl());
  // MariaDB's JSON is LONGTEXT with a json_valid check: the text is stored as sent.
  await offline.query(
    `CREATE DATABASE \`${schema}\`;
     CREATE TABLE \`${schema}\`.t (id INT PRIMARY KEY, d DECIMAL(30,20), f DOUBLE, j JSON, y YEAR)`,
  );
  config = parseConfig({
    databases: {
      online: { role: 'online', url: onlineUrl() },
      offline: { role: 'offline', url: offlineUrl() },
    },
    cdc: [{ topics: [TOPIC], target: 'offline' }],
  });
});

afterAll(async () => {
  await offline.query(`DROP DATABASE \`${schema}\``);
  await offline.end();
  await closeAllDatabases();
});

describe('number and YEAR fidelity, Maxwell/Canal/Debezium to the offline server', () => {
  it('inserts exact DECIMALs, YEAR 0 as 0 and the JSON column text as sent', async () => {
    const summary = await deliver(
      maxwell('insert', `{"id":1,"d":1.0,"f":0.0000001,"j":${EMBEDDED},"y":0}`),
      maxwell('insert', '{"id":2,"d":0.0000001,"f":1.0,"j":{"n":-0,"e":1E+2},"y":2155}'),
      canal({ id: '3', d: '1.0', f: '0.0000001', j: EMBEDDED, y: '0000' }),
      debezium('{"id":4,"d":"0.0000001","f":0.0000001,"j":null,"y":0}'),
    );
    expect(summary).toMatchObject({ deadLettered: 0, batchItemFailures: [] });
    expect(await rows()).toEqual([
      {
        id: '1',
        d: '1.00000000000000000000',
        f_is_1e_7: '1',
        f_is_1: '0',
        j: EMBEDDED,
        j_hex: hex(EMBEDDED),
        y: '0000',
        y_number: '0',
      },
      {
        id: '2',
        d: '0.00000010000000000000',
        f_is_1e_7: '0',
        f_is_1: '1',
        j: '{"n":-0,"e":1E+2}',
        j_hex: hex('{"n":-0,"e":1E+2}'),
        y: '2155',
        y_number: '2155',
      },
      {
        id: '3',
        d: '1.00000000000000000000',
        f_is_1e_7: '1',
        f_is_1: '0',
        j: EMBEDDED,
        j_hex: hex(EMBEDDED),
        y: '0000',
        y_number: '0',
      },
      {
        id: '4',
        d: '0.00000010000000000000',
        f_is_1e_7: '1',
        f_is_1: '0',
        j: null,
        j_hex: null,
        y: '0000',
        y_number: '0',
      },
    ]);
  });

  it('updates to YEAR 0 and keeps JSON text through a Maxwell update', async () => {
    const summary = await deliver(
      maxwell('update', `{"id":2,"d":1.0,"f":1.0,"j":${EMBEDDED},"y":0}`, '{"d":0.0000001,"y":2155}'),
    );
    expect(summary).toMatchObject({ deadLettered: 0, batchItemFailures: [] });
    expect((await rows())[1]).toMatchObject({
      id: '2',
      d: '1.00000000000000000000',
      j: EMBEDDED,
      y: '0000',
      y_number: '0',
    });
  });

  it('dead-letters a YEAR the column cannot hold instead of storing another year', async () => {
    const summary = await deliver(maxwell('insert', '{"id":5,"d":1,"f":1,"j":null,"y":69}'));
    expect(summary).toMatchObject({ deadLettered: 1 });
    expect((await rows()).map((r) => r.id)).toEqual(['1', '2', '3', '4']);
    const [letters] = await offline.query(
      'SELECT error_class, error FROM cdc_mirror.dead_letters WHERE topic = ?',
      [TOPIC],
    );
    expect(letters).toEqual([
      expect.objectContaining({ error: expect.stringMatching(/column y .*YEAR out of range/) }),
    ]);
  });
});
