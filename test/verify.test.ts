import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAllDatabases } from '../shared/db/connection';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';
import { httpRequest } from './support/http';
import { lambdaContext } from './support/kafka';
import { EXACT_COLUMNS_SQL, insertTypeRowsSql, TYPE_TABLE_COLUMNS } from './support/type-corpus';

/**
 * Verify and repair against real servers: a table of every column type, equal on both sides (no false
 * drift), then one planted difference of each kind (a missing row, an extra row, one microsecond, one
 * decimal digit, one byte, NULL vs empty, a case-only difference under a _bin collation, an integer off
 * by one), found exactly; repair makes the tables equal byte for byte and touches nothing else.
 */
type Handler = (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
const src = uniqueSchema('ver');
const dst = `${src}_off`;
let online: Connection;
let offline: Connection;
let http: Handler;

async function call(method: string, path: string, body?: unknown) {
  const res = await http(httpRequest(method, path, body), lambdaContext(60_000));
  return { status: res.statusCode as number, body: JSON.parse(res.body ?? '{}') };
}

async function exact(conn: Connection, schema: string): Promise<unknown[]> {
  const [rows] = await conn.query(`SELECT ${EXACT_COLUMNS_SQL} FROM \`${schema}\`.types ORDER BY id`);
  return rows as unknown[];
}

/** Copies every online row offline exactly (values read as text and bytes, written as parameters). */
async function copyAll(): Promise<void> {
  const [rows] = (await online.query(`SELECT * FROM \`${src}\`.types`)) as unknown as [
    Record<string, unknown>[],
  ];
  await offline.query(`DELETE FROM \`${dst}\`.types`);
  for (const r of rows) {
    const cols = Object.keys(r);
    await offline.query(
      `INSERT INTO \`${dst}\`.types (${cols.map((c) => `\`${c}\``).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      cols.map((c) => r[c]),
    );
  }
}

beforeAll(async () => {
  online = await rawConnection(onlineUrl());
  offline = await rawConnection(offlineUrl());
  const ddl = `(${TYPE_TABLE_COLUMNS}) DEFAULT CHARSET=utf8mb4`;
  await online.query(`CREATE DATABASE \`${src}\`; CREATE TABLE \`${src}\`.types ${ddl}`);
  await offline.query(`CREATE DATABASE \`${dst}\`; CREATE TABLE \`${dst}\`.types ${ddl}`);
  for (const [conn, schema] of [
    [online, src],
    [offline, dst],
  ] as const)
    await conn.query(
      `ALTER TABLE \`${schema}\`.types MODIFY c CHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  await online.query(insertTypeRowsSql(`\`${src}\`.types`));
  await online.query(
    `INSERT INTO \`${src}\`.types (id, bi, d, dtm6, vc, vb, c)
       SELECT seq, seq * 1000, seq / 7, '2024-01-01 00:00:00.000001' + INTERVAL seq SECOND, CONCAT('row ', seq),
              UNHEX(LPAD(HEX(seq), 8, '0')), 'abc'
         FROM \`${src}\`.seq_10_to_60`,
  );
  await online.query(`UPDATE \`${src}\`.types SET vc = '' WHERE id = 14`);
  await copyAll();
  for (const [conn, schema] of [
    [online, src],
    [offline, dst],
  ] as const)
    await conn.query(
      `CREATE TABLE \`${schema}\`.slow (id INT PRIMARY KEY, v VARCHAR(8)); INSERT INTO \`${schema}\`.slow SELECT seq, 'v' FROM \`${schema}\`.seq_1_to_100`,
    );
  await offline.query(`UPDATE \`${dst}\`.slow SET v = 'x' WHERE id = 77`);
  useConfig({
    databases: {
      shop_online: { role: 'online', url: onlineUrl() },
      shop_offline: { role: 'offline', url: offlineUrl() },
    },
    manual: [
      // No time budget: every verification of this table goes on in another invocation (202).
      {
        source: 'shop_online',
        target: 'shop_offline',
        schemas: { [src]: dst },
        tables: [`${src}.slow`],
        timeBudgetMs: 0,
      },
      { source: 'shop_online', target: 'shop_offline', schemas: { [src]: dst }, tables: [`${src}.*`] },
    ],
  });
  http = (await import('../functions/manual-sync')).handler as unknown as Handler;
});

afterAll(async () => {
  await online.query(`DROP DATABASE \`${src}\``);
  await offline.query(`DROP DATABASE \`${dst}\``);
  await online.end();
  await offline.end();
  await closeAllDatabases();
});

describe('verify and repair', () => {
  it('finds no drift on equal tables of every column type', async () => {
    const { status, body } = await call('POST', '/verify', {
      source: 'shop_online',
      table: `${src}.types`,
      chunkSize: 10,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ equal: true, rows: { missing: [], extra: [], differing: [], rows: 54 } });
    expect(body).toMatchObject({ schemaEqual: true, schema: { differences: [], ddl: [] } });
    expect(body.rows.chunks).toBeGreaterThan(5);
    expect(body.rows.chunksDiffering).toBe(0);
  });

  it('finds every planted difference, exactly, and repair makes the tables equal byte for byte', async () => {
    const t = `\`${dst}\`.types`;
    await offline.query(`DELETE FROM ${t} WHERE id = 10`);
    await offline.query(`INSERT INTO ${t} (id, vc) VALUES (999999, 'only offline')`);
    await offline.query(`UPDATE ${t} SET dtm6 = dtm6 + INTERVAL 1 MICROSECOND WHERE id = 11`);
    await offline.query(`UPDATE ${t} SET d = d + 0.000000000000000000000000000001 WHERE id = 12`);
    await offline.query(
      `UPDATE ${t} SET vb = CONCAT(LEFT(vb, 3), CHAR(ASCII(RIGHT(vb, 1)) + 1)) WHERE id = 13`,
    );
    await offline.query(`UPDATE ${t} SET vc = NULL WHERE id = 14`);
    await offline.query(`UPDATE ${t} SET c = 'ABC' WHERE id = 15`);
    await offline.query(`UPDATE ${t} SET bi = bi + 1 WHERE id = 16`);

    const { body } = await call('POST', '/verify', {
      source: 'shop_online',
      table: `${src}.types`,
      chunkSize: 10,
    });
    expect(body.equal).toBe(false);
    expect(body.rows.missing).toEqual([{ id: '10' }]);
    expect(body.rows.extra).toEqual([{ id: '999999' }]);
    expect(body.rows.differing).toEqual([
      { key: { id: '11' }, columns: ['dtm6'] },
      { key: { id: '12' }, columns: ['d'] },
      { key: { id: '13' }, columns: ['vb'] },
      { key: { id: '14' }, columns: ['vc'] },
      { key: { id: '15' }, columns: ['c'] },
      { key: { id: '16' }, columns: ['bi'] },
    ]);
    // Only digests cross the network for equal chunks: far less than the rows themselves.
    expect(body.rows.chunksDiffering).toBeLessThan(body.rows.chunks);

    const stored = await call('GET', `/verify/${body.verifyId}`);
    expect(stored.body.rows.missing).toEqual([{ id: '10' }]);

    const dry = await call('POST', `/verify/${body.verifyId}/repair`, { dryRun: true, deleteExtra: true });
    expect(dry.body).toMatchObject({ dryRun: true, copied: 7, deleted: 1 });
    expect(await exact(offline, dst)).not.toEqual(await exact(online, src));

    const kept = await call('POST', `/verify/${body.verifyId}/repair`, { dryRun: false });
    expect(kept.body).toMatchObject({
      copied: 7,
      deleted: 0,
      remaining: { missing: 0, extra: 1, differing: 0 },
    });
    const [[extra]] = (await offline.query(`SELECT vc FROM ${t} WHERE id = 999999`)) as unknown as [
      [{ vc: string }],
    ];
    expect(extra.vc).toBe('only offline');

    const all = await call('POST', `/verify/${body.verifyId}/repair`, { dryRun: false, deleteExtra: true });
    expect(all.body).toMatchObject({ deleted: 1, remaining: { missing: 0, extra: 0, differing: 0 } });
    expect(await exact(offline, dst)).toEqual(await exact(online, src));
  });

  /** One column of row 1 changed offline by the smallest step its type has; the expression is offline SQL. */
  const NUDGES: [column: string, expression: string][] = [
    ...['ti', 'tiu', 'si', 'siu', 'mi', 'miu', 'i', 'iu', 'bi', 'biu', 'yr'].map((c): [string, string] => [
      c,
      `IF(${c} > 0, ${c} - 1, ${c} + 1)`,
    ]),
    ['d', 'd + 0.000000000000000000000000000001'],
    ['d2', 'd2 - 0.01'],
    ['f', 'f * 0.999'],
    ['dbl', 'dbl * 0.5'],
    ['b1', "b'0'"],
    ['b64', 'b64 ^ 1'],
    ['b5', 'b5 ^ 1'],
    ['dt', 'dt + INTERVAL 1 DAY'],
    ['dtm0', 'dtm0 - INTERVAL 1 SECOND'],
    ['dtm3', 'dtm3 - INTERVAL 1000 MICROSECOND'],
    ['dtm6', 'dtm6 - INTERVAL 1 MICROSECOND'],
    ['ts6', 'ts6 - INTERVAL 1 MICROSECOND'],
    ['tm6', "ADDTIME(tm6, '00:00:00.000001')"],
    ['tm0', "SUBTIME(tm0, '00:00:01')"],
    ...['c', 'vc', 'tx'].map((c): [string, string] => [c, `CONCAT(LEFT(${c}, CHAR_LENGTH(${c}) - 1), 'X')`]),
    ...['bin', 'vb', 'bl'].map((c): [string, string] => [
      c,
      `CONCAT(LEFT(${c}, LENGTH(${c}) - 1), CHAR(ASCII(RIGHT(${c}, 1)) ^ 1))`,
    ]),
    ['js', `REPLACE(js, '"x"', '"y"')`],
    ['en', "'small'"],
    ['st', "'a,b'"],
    ['geo', "ST_GeomFromText('POLYGON((0 0,10 0,10 11,0 10,0 0))')"],
    ['pt', "ST_GeomFromText('POINT(1.5 -2.5)')"],
    ['uk', "'u9'"],
  ];

  it.each(NUDGES)('finds %s changed by one step (%s), and repairs it', async (column, expression) => {
    await offline.query(`UPDATE \`${dst}\`.types SET \`${column}\` = ${expression} WHERE id = 1`);
    const { body } = await call('POST', '/verify', {
      source: 'shop_online',
      table: `${src}.types`,
      where: 'id = 1',
    });
    expect(body.rows.differing).toEqual([{ key: { id: '1' }, columns: [column] }]);
    const fixed = await call('POST', `/verify/${body.verifyId}/repair`, { dryRun: false });
    expect(fixed.body).toMatchObject({ copied: 1, remaining: { missing: 0, extra: 0, differing: 0 } });
  });

  it('narrows differing chunks of a signed integer key by buckets, either side of zero, to the exact rows', async () => {
    for (const [conn, schema] of [
      [online, src],
      [offline, dst],
    ] as const)
      await conn.query(
        `CREATE TABLE \`${schema}\`.signed (id BIGINT PRIMARY KEY, v VARCHAR(8));
         INSERT INTO \`${schema}\`.signed SELECT CAST(seq AS SIGNED) - 700, 'v' FROM \`${schema}\`.seq_0_to_1400`,
      );
    const t = `\`${dst}\`.signed`;
    // Bucket 0 of `id DIV width` spans both signs; neighbours of zero and of chunk edges.
    await offline.query(`UPDATE ${t} SET v = 'x' WHERE id IN (-650, -1, 0, 1, 333, 699)`);
    await offline.query(`DELETE FROM ${t} WHERE id IN (-77, 500)`);
    await offline.query(`INSERT INTO ${t} VALUES (900, 'extra'), (-900, 'extra')`);
    const { body } = await call('POST', '/verify', {
      source: 'shop_online',
      table: `${src}.signed`,
      chunkSize: 200,
    });
    const ids = (keys: { id: string }[]) => keys.map((k) => Number(k.id)).sort((a, b) => a - b);
    expect(ids(body.rows.differing.map((d: { key: { id: string } }) => d.key))).toEqual([
      -650, -1, 0, 1, 333, 699,
    ]);
    expect(ids(body.rows.missing)).toEqual([-77, 500]);
    expect(ids(body.rows.extra)).toEqual([-900, 900]);
    expect(body.rows.rows).toBe(1401);
  });

  it('does not report a row that CDC brought back in step while the scan ran', async () => {
    // Offline differs in the first chunk; the scan is paced so it takes a while; meanwhile the row is
    // fixed offline, as the CDC stream would. The end-of-scan re-check must drop it.
    await offline.query(`UPDATE \`${dst}\`.types SET vc = 'stale' WHERE id = 1`);
    const scan = call('POST', '/verify', {
      source: 'shop_online',
      table: `${src}.types`,
      chunkSize: 10,
      rowsPerSecond: 60,
    });
    await new Promise((r) => setTimeout(r, 300));
    const [[fresh]] = (await online.query(`SELECT vc FROM \`${src}\`.types WHERE id = 1`)) as unknown as [
      [{ vc: string }],
    ];
    await offline.query(`UPDATE \`${dst}\`.types SET vc = ? WHERE id = 1`, [fresh.vc]);
    const { body } = await scan;
    expect(body.rows.chunksDiffering).toBeGreaterThanOrEqual(1);
    expect(body.rows.differing).toEqual([]);
    expect(body.equal).toBe(true);
  });

  it('runs a scheduled verification (as EventBridge invokes it) and keeps its report', async () => {
    await offline.query(`UPDATE \`${dst}\`.types SET vc = 'drift' WHERE id = 40`);
    const summary = (await http(
      {
        cdcMirrorVerify: { source: 'shop_online', table: `${src}.types`, where: 'id < 50', rowsPerSecond: 0 },
      },
      lambdaContext(60_000),
    )) as unknown as Record<string, unknown>;
    expect(summary).toMatchObject({ table: `${src}.types`, missing: 0, extra: 0, differing: 1 });
    const stored = await call('GET', `/verify/${summary.verifyId}`);
    expect(stored.body).toMatchObject({ requestedBy: 'schedule', condition: 'id < 50' });
    expect(stored.body.rows.differing).toEqual([{ key: { id: '40' }, columns: ['vc'] }]);
    await offline.query(`UPDATE \`${dst}\`.types SET vc = 'row 40' WHERE id = 40`);
  });

  it('reports schema drift with what it breaks and the DDL that aligns offline', async () => {
    await offline.query(`ALTER TABLE \`${dst}\`.slow MODIFY v VARCHAR(4)`);
    const { body } = await call('POST', '/verify', {
      source: 'shop_online',
      table: `${src}.slow`,
      where: 'id < 5',
    });
    expect(body.schemaEqual).toBe(false);
    expect(body.schema.differences).toEqual([
      expect.objectContaining({ kind: 'type', column: 'v', severity: 'breaks' }),
    ]);
    expect(body.schema.ddl).toEqual([expect.stringMatching(/MODIFY COLUMN `v` varchar\(8\)/i)]);
    await offline.query(`ALTER TABLE \`${dst}\`.slow MODIFY v VARCHAR(8)`);
  });

  it('a table online only: no rows to compare, the schema report gives the CREATE TABLE', async () => {
    await online.query(`CREATE TABLE \`${src}\`.only_online (id INT PRIMARY KEY, v VARCHAR(8))`);
    const { status, body } = await call('POST', '/verify', {
      source: 'shop_online',
      table: `${src}.only_online`,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ equal: false, rows: null, schemaEqual: false });
    expect(body.schema.differences).toEqual([
      expect.objectContaining({ kind: 'table-missing-offline', severity: 'breaks' }),
    ]);
    await offline.query(body.schema.ddl[0]);
    const again = await call('POST', '/verify', { source: 'shop_online', table: `${src}.only_online` });
    expect(again.body).toMatchObject({ equal: true, schemaEqual: true });
  });

  it('goes on past its time budget in further invocations (202), with progress, to the same report', async () => {
    const started = await call('POST', '/verify', {
      source: 'shop_online',
      table: `${src}.slow`,
      chunkSize: 10,
    });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'running', progress: { chunks: 1 } });
    let view = started.body;
    for (let i = 0; i < 200 && view.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      view = (await call('GET', `/verify/${started.body.verifyId}`)).body;
    }
    expect(view).toMatchObject({
      status: 'succeeded',
      equal: false,
      rows: { rows: 100, missing: [], extra: [] },
    });
    expect(view.rows.differing).toEqual([{ key: { id: '77' }, columns: ['v'] }]);
    expect(view.rows.chunks).toBeGreaterThanOrEqual(10);
  });

  it('verifies only the rows a condition names, and refuses a hostile one', async () => {
    await offline.query(`UPDATE \`${dst}\`.types SET vc = 'drift' WHERE id IN (20, 50)`);
    const { body } = await call('POST', '/verify', {
      source: 'shop_online',
      table: `${src}.types`,
      where: 'id < 30',
    });
    expect(body.rows.differing).toEqual([{ key: { id: '20' }, columns: ['vc'] }]);
    const bad = await call('POST', '/verify', {
      source: 'shop_online',
      table: `${src}.types`,
      where: 'id < 30; DROP TABLE x',
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatch(/condition rejected/);
  });
});
