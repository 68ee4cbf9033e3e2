import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeAllDatabases } from '../shared/db/connection';
import { exampleColumns, hostileConditions, legitimateConditions } from '../shared/manual/condition-corpus';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';
import { httpRequest } from './support/http';
import { lambdaContext } from './support/kafka';
import { EXACT_COLUMNS_SQL, insertTypeRowsSql, TYPE_TABLE_COLUMNS } from './support/type-corpus';

type Handler = (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;

const src = uniqueSchema('man');
const dst = `${src}_off`;
let online: Connection;
let offline: Connection;
let handler: Handler;

async function call(method: string, path: string, body?: unknown) {
  const res = await handler(httpRequest(method, path, body), lambdaContext(30_000));
  return {
    status: res.statusCode as number,
    body: res.body?.startsWith('{') ? JSON.parse(res.body) : res.body,
  };
}

const sync = (body: Record<string, unknown>) => call('POST', '/sync', { source: 'shop_online', ...body });

async function exact(conn: Connection, schema: string, where = '1=1'): Promise<unknown[]> {
  const [rows] = await conn.query(
    `SELECT ${EXACT_COLUMNS_SQL} FROM \`${schema}\`.types WHERE ${where} ORDER BY id`,
  );
  return rows as unknown[];
}

beforeAll(async () => {
  online = await rawConnection(onlineUrl());
  offline = await rawConnection(offlineUrl());
  const ddl = `(${TYPE_TABLE_COLUMNS}) DEFAULT CHARSET=utf8mb4`;
  await online.query(
    `CREATE DATABASE \`${src}\` CHARACTER SET utf8mb4; CREATE TABLE \`${src}\`.types ${ddl}`,
  );
  await online.query(insertTypeRowsSql(`\`${src}\`.types`));
  await online.query(
    `CREATE TABLE \`${src}\`.cfg (id INT PRIMARY KEY, name VARCHAR(32) NOT NULL UNIQUE, v VARCHAR(32)) DEFAULT CHARSET=utf8mb4`,
  );
  await online.query(
    `CREATE TABLE \`${src}\`.example (${exampleColumns.map((c) => `${c} VARCHAR(64)`).join(', ')}, PRIMARY KEY (id))`,
  );
  await online.query(`CREATE TABLE \`${src}\`.secret (id INT PRIMARY KEY)`);
  await online.query(`CREATE TABLE \`${src}\`.big (id INT PRIMARY KEY, v VARCHAR(16))`);
  await online.query(`INSERT INTO \`${src}\`.big SELECT seq, CONCAT('v', seq) FROM \`${src}\`.seq_1_to_250`);
  await offline.query(
    `CREATE DATABASE \`${dst}\` CHARACTER SET utf8mb4; CREATE TABLE \`${dst}\`.types ${ddl}`,
  );
  await offline.query(
    `CREATE TABLE \`${dst}\`.cfg (id INT PRIMARY KEY, name VARCHAR(32) NOT NULL UNIQUE, v VARCHAR(32), extra VARCHAR(16) DEFAULT 'dflt') DEFAULT CHARSET=utf8mb4`,
  );
  await offline.query(
    `CREATE TABLE \`${dst}\`.example (${exampleColumns.map((c) => `${c} VARCHAR(64)`).join(', ')}, PRIMARY KEY (id))`,
  );
  await offline.query(`CREATE TABLE \`${dst}\`.big (id INT PRIMARY KEY, v VARCHAR(16))`);
  useConfig({
    databases: {
      shop_online: { role: 'online', url: onlineUrl() },
      shop_offline: { role: 'offline', url: offlineUrl() },
    },
    manual: [
      {
        source: 'shop_online',
        target: 'shop_offline',
        schemas: { [src]: dst },
        tables: [`${src}.types`, `${src}.cfg`, `${src}.example`, `${src}.big`, `${src}.missing`],
        defaultLimit: 1000,
        maxLimit: 5000,
        chunkSize: 40,
        timeBudgetMs: 0,
      },
    ],
  });
  handler = (await import('../functions/manual-sync')).handler as unknown as Handler;
});

afterAll(async () => {
  // Continuations run in the background locally: let them finish before closing pools.
  await new Promise((r) => setTimeout(r, 200));
  await online.query(`DROP DATABASE \`${src}\``);
  await offline.query(`DROP DATABASE \`${dst}\``);
  await online.end();
  await offline.end();
  await closeAllDatabases();
});

async function waitForJob(jobId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const { body } = await call('GET', `/sync/${jobId}`);
    if (body.status !== 'running') return body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('job did not finish');
}

describe('copying rows', () => {
  beforeEach(async () => {
    await offline.query(`TRUNCATE TABLE \`${dst}\`.types`);
  });

  it.each([
    ['an IN list', 'id IN (1, 18446744073709551615)'],
    ['a range', 'id < 3'],
    ['a compound condition', "(id BETWEEN 1 AND 2 AND vc LIKE 'emoji%') OR (id > 2 AND tx IS NULL)"],
  ])('by %s makes offline rows byte-for-byte equal to online', async (_what, where) => {
    const res = await sync({ table: `${src}.types`, where, dryRun: false });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    const [matched] = (await online.query(
      `SELECT COUNT(*) AS n FROM \`${src}\`.types WHERE ${where}`,
    )) as unknown as [{ n: string }[]];
    expect(await exact(offline, dst)).toEqual(await exact(online, src, where));
    expect(await exact(offline, dst)).toHaveLength(Number(matched[0]?.n));
    expect(res.body.inserted).toBe(Number(matched[0]?.n));
  });

  it('dry run writes nothing and says what would happen', async () => {
    await sync({ table: `${src}.types`, where: 'id = 1', dryRun: false });
    await offline.query(`UPDATE \`${dst}\`.types SET vc = 'drifted' WHERE id = 1`);
    const before = await exact(offline, dst);
    const res = await sync({ table: `${src}.types`, where: 'id <= 2' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      dryRun: true,
      matched: 2,
      wouldInsert: 1,
      wouldUpdate: 1,
      unchanged: 0,
    });
    expect(res.body.preview).toMatchObject([
      {
        key: { id: '1' },
        action: 'update',
        changedColumns: ['vc'],
        changes: { vc: { offline: 'drifted', online: `emoji 😀 and "quotes" 'single' back\\slash` } },
      },
      { key: { id: '2' }, action: 'insert', row: { id: '2', uk: 'u2', bin: '0x00000000' } },
    ]);
    expect(await exact(offline, dst)).toEqual(before);
    const again = await sync({ table: `${src}.types`, where: 'id = 1', dryRun: false });
    expect(again.body).toMatchObject({ updated: 1 });
    const same = await sync({ table: `${src}.types`, where: 'id = 1' });
    expect(same.body).toMatchObject({ unchanged: 1, wouldUpdate: 0 });
  });

  it('keeps an audit trail of who copied what', async () => {
    const res = await sync({ table: `${src}.types`, where: 'id = 2', dryRun: false });
    const [audit] = (await offline.query(
      'SELECT requested_by, condition_text, status, source_table FROM cdc_mirror.sync_jobs WHERE job_id = ?',
      [res.body.jobId],
    )) as unknown as [Record<string, string>[]];
    expect(audit).toEqual([
      {
        requested_by: 'qa-alice',
        condition_text: 'id = 2',
        status: 'succeeded',
        source_table: `${src}.types`,
      },
    ]);
  });
});

describe('upsert and replace', () => {
  beforeEach(async () => {
    await online.query(`DELETE FROM \`${src}\`.cfg`);
    await offline.query(`DELETE FROM \`${dst}\`.cfg`);
    await online.query(`INSERT INTO \`${src}\`.cfg VALUES (1, 'a', 'online'), (2, 'b', 'online')`);
    await offline.query(
      `INSERT INTO \`${dst}\`.cfg VALUES (1, 'a', 'stale', 'mine'), (9, 'b', 'other row', 'mine')`,
    );
  });

  const offlineRows = async () => (await offline.query(`SELECT * FROM \`${dst}\`.cfg ORDER BY id`))[0];

  it('upsert keeps offline-only columns and reports a unique-key collision instead of touching the other row', async () => {
    const res = await sync({ table: `${src}.cfg`, where: 'id IN (1, 2)', dryRun: false, mode: 'upsert' });
    expect(res.body).toMatchObject({ updated: 1, inserted: 0, conflicts: 1 });
    expect(await offlineRows()).toEqual([
      { id: '1', name: 'a', v: 'online', extra: 'mine' },
      { id: '9', name: 'b', v: 'other row', extra: 'mine' },
    ]);
  });

  it('replace resets offline-only columns and removes the colliding row', async () => {
    const res = await sync({ table: `${src}.cfg`, where: 'id IN (1, 2)', dryRun: false, mode: 'replace' });
    expect(res.status).toBe(200);
    expect(await offlineRows()).toEqual([
      { id: '1', name: 'a', v: 'online', extra: 'dflt' },
      { id: '2', name: 'b', v: 'online', extra: 'dflt' },
    ]);
  });
});

describe('large jobs', () => {
  it('continue past the time budget and chunk size, with progress visible, until done', async () => {
    await offline.query(`TRUNCATE TABLE \`${dst}\`.big`);
    const res = await sync({ table: `${src}.big`, where: 'id > 0', dryRun: false });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'running', matched: 250, processed: 40 });
    const progress = await call('GET', `/sync/${res.body.jobId}`);
    expect(progress.status).toBe(200);
    const done = await waitForJob(res.body.jobId);
    expect(done).toMatchObject({ status: 'succeeded', processed: 250, inserted: 250 });
    expect(Number(done.invocations)).toBeGreaterThan(1);
    const [[count]] = (await offline.query(`SELECT COUNT(*) AS n FROM \`${dst}\`.big`)) as unknown as [
      [{ n: string }],
    ];
    expect(count.n).toBe('250');
  });

  it('are refused with the count when the condition matches more than the limit', async () => {
    const res = await sync({ table: `${src}.big`, where: 'id > 0', dryRun: false, limit: 100 });
    expect(res.status).toBe(422);
    // The real count, not limit + 1: the person learns how far to narrow.
    expect(res.body).toMatchObject({ matched: 250, matchedAtLeast: 101, limit: 100 });
    expect(res.body.error).toMatch(/matches 250 rows, above the limit of 100/);
  });
});

describe('bad requests', () => {
  it.each([
    ['malformed JSON', '{"source":', 400, /not valid JSON/],
    ['a missing field', { source: 'shop_online', where: 'id = 1' }, 400, /table/],
    [
      'an unknown source',
      { source: 'nope', table: `${src}.cfg`, where: 'id = 1' },
      403,
      /not a configured database/,
    ],
    [
      'an offline source',
      { source: 'shop_offline', table: `${src}.cfg`, where: 'id = 1' },
      403,
      /not an online database/,
    ],
    [
      'a table the entry does not allow',
      { source: 'shop_online', table: `${src}.secret`, where: 'id = 1' },
      403,
      /not allowed/,
    ],
    [
      'a table that does not exist',
      { source: 'shop_online', table: `${src}.missing`, where: 'id = 1' },
      404,
      /does not exist/,
    ],
    [
      'a limit above the maximum',
      { source: 'shop_online', table: `${src}.cfg`, where: 'id = 1', limit: 9999 },
      422,
      /maximum/,
    ],
  ])('%s → %i', async (_what, body, status, message) => {
    const res = await call('POST', '/sync', body);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatch(message);
    expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at /);
  });

  it('serves the web page, which renders values as text only', async () => {
    const page = await call('GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<form id="sync-form"');
    expect(page.body).not.toContain('innerHTML');
  });

  it('unknown routes are 404, unknown jobs are 404', async () => {
    expect((await call('GET', '/nope')).status).toBe(404);
    expect((await call('GET', '/sync/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });
});

describe('hostile conditions never reach a server', () => {
  it('rejects every one with 4xx and a reason; the online server sees none of their text', async () => {
    const admin = await rawConnection(onlineUrl());
    await admin.query("SET GLOBAL log_output = 'TABLE', GLOBAL general_log = 'ON'");
    try {
      for (const [where] of hostileConditions) {
        const res = await sync({ table: `${src}.example`, where });
        expect(res.status, where).toBeGreaterThanOrEqual(400);
        expect(res.status, where).toBeLessThan(500);
        expect(res.body.error, where).toBeTruthy();
      }
      // Control: the log does see what does reach the server.
      expect((await sync({ table: `${src}.example`, where: "name = 'control'" })).status).toBe(200);
      await admin.query("SET GLOBAL general_log = 'OFF'");
      const [control] = (await admin.query(
        "SELECT COUNT(*) AS n FROM mysql.general_log WHERE argument LIKE '%example%control%'",
      )) as unknown as [{ n: string }[]];
      expect(Number(control[0]?.n)).toBeGreaterThan(0);
      const [logged] = (await admin.query(
        "SELECT argument FROM mysql.general_log WHERE command_type = 'Query' AND (argument LIKE '%SLEEP%' OR argument LIKE '%BENCHMARK%' OR argument LIKE '%LOAD_FILE%' OR argument LIKE '%mysql.user%' OR argument LIKE '%@@version%' OR argument LIKE '%OUTFILE%')",
      )) as unknown as [{ argument: string | Buffer }[]];
      expect(logged.map((r) => String(r.argument))).toEqual([]);
    } finally {
      await admin.query("SET GLOBAL general_log = 'OFF'");
      await admin.query('TRUNCATE TABLE mysql.general_log');
      await admin.end();
    }
  });

  it('accepts every legitimate condition', async () => {
    for (const [where] of legitimateConditions) {
      const res = await sync({ table: `${src}.example`, where });
      expect(res.status, `${where}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });
});
