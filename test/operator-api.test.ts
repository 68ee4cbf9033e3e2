import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAllDatabases } from '../shared/db/connection';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';
import { httpRequest } from './support/http';
import { lambdaContext, mskEvent } from './support/kafka';

/**
 * The operator API the console and the CLI use (docs/http-api.md): catalog, dry-run warnings, one job
 * per client token, a failed run naming its key, cancel and resume, job lists, dead-letter discard and
 * bulk retry, and the CDC status view; each checked against what the offline database holds.
 */
type Handler = (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
type CdcHandler = (event: unknown, context: unknown) => Promise<unknown>;

const src = uniqueSchema('ops');
const dst = `${src}_off`;
const TOPIC = `ops-${process.pid}`;
let online: Connection;
let offline: Connection;
let http: Handler;
let cdc: CdcHandler;

async function call(
  method: string,
  path: string,
  body?: unknown,
  who = 'qa-alice',
  query: Record<string, string> = {},
) {
  const res = await http(httpRequest(method, path, body, { sub: who }, query), lambdaContext(30_000));
  return {
    status: res.statusCode as number,
    body: res.body?.startsWith('{') ? JSON.parse(res.body) : res.body,
  };
}
const sync = (body: Record<string, unknown>, who?: string) =>
  call('POST', '/sync', { source: 'shop_online', ...body }, who);

async function waitForJob(jobId: string, until = (s: string) => s !== 'running') {
  for (let i = 0; i < 400; i++) {
    const { body } = await call('GET', `/sync/${jobId}`);
    if (until(body.status)) return body;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${jobId} did not reach the state`);
}

const count = async (sql: string, params: unknown[] = []) =>
  Number(((await offline.query(sql, params))[0] as { n: string }[])[0]?.n);

beforeAll(async () => {
  online = await rawConnection(onlineUrl());
  offline = await rawConnection(offlineUrl());
  await online.query(`CREATE DATABASE \`${src}\``);
  await offline.query(`CREATE DATABASE \`${dst}\``);
  // Online has a column offline lacks (dropped), offline's name is shorter (a value will not fit).
  await online.query(`CREATE TABLE \`${src}\`.cfg (id INT PRIMARY KEY, name VARCHAR(32), only_online INT)`);
  await offline.query(`CREATE TABLE \`${dst}\`.cfg (id INT PRIMARY KEY, name VARCHAR(8))`);
  await online.query(
    `INSERT INTO \`${src}\`.cfg VALUES (1, 'short', 1), (2, 'a name far too long', 2), (3, 'same', 3)`,
  );
  await offline.query(`INSERT INTO \`${dst}\`.cfg VALUES (3, 'same'), (4, 'qa row')`);
  await online.query(`CREATE TABLE \`${src}\`.big (id INT PRIMARY KEY, v VARCHAR(16))`);
  await offline.query(`CREATE TABLE \`${dst}\`.big (id INT PRIMARY KEY, v VARCHAR(16))`);
  await online.query(`INSERT INTO \`${src}\`.big SELECT seq, CONCAT('v', seq) FROM \`${src}\`.seq_1_to_400`);
  await offline.query(`CREATE TABLE \`${dst}\`.kv (id INT PRIMARY KEY, v VARCHAR(4))`);
  useConfig({
    databases: {
      shop_online: { role: 'online', url: onlineUrl() },
      shop_offline: { role: 'offline', url: offlineUrl() },
    },
    cdc: [{ topics: [TOPIC], target: 'shop_offline', schemas: { [src]: dst } }],
    manual: [
      {
        source: 'shop_online',
        target: 'shop_offline',
        schemas: { [src]: dst },
        tables: [`${src}.*`],
        chunkSize: 10,
        timeBudgetMs: 0,
      },
    ],
  });
  http = (await import('../functions/manual-sync')).handler as unknown as Handler;
  cdc = (await import('../functions/cdc-sync')).handler as unknown as CdcHandler;
});

afterAll(async () => {
  await new Promise((r) => setTimeout(r, 300));
  await online.query(`DROP DATABASE \`${src}\``);
  await offline.query(`DROP DATABASE \`${dst}\``);
  await online.end();
  await offline.end();
  await closeAllDatabases();
});

describe('operator API', () => {
  it('lists what may be synced, with the offline table each goes to', async () => {
    const { status, body } = await call('GET', '/catalog');
    expect(status).toBe(200);
    const source = body.sources.find((s: { source: string }) => s.source === 'shop_online');
    expect(source.tables).toEqual(
      expect.arrayContaining([{ table: `${src}.cfg`, targetTable: `${dst}.cfg` }]),
    );
    expect(body.grammar.allowed.length).toBeGreaterThan(0);
    expect(body.cdc[0]).toMatchObject({ topics: [TOPIC], target: 'shop_offline', enabled: true });
  });

  it('warns before writing: dropped columns, values that will not fit, offline-only rows in range', async () => {
    const { status, body } = await sync({ table: `${src}.cfg`, where: 'id < 10' });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      targetTable: `${dst}.cfg`,
      matched: 3,
      wouldInsert: 2,
      unchanged: 1,
      previewCount: 3,
    });
    const kinds = Object.fromEntries(body.warnings.map((w: { kind: string }) => [w.kind, w]));
    expect(kinds['dropped-columns']).toMatchObject({ columns: ['only_online'] });
    expect(kinds['value-too-long']).toMatchObject({ column: 'name', keys: [{ id: '2' }] });
    expect(kinds['offline-only-rows']).toMatchObject({ count: 1, keys: [{ id: '4' }] });
    expect(await count(`SELECT COUNT(*) AS n FROM \`${dst}\`.cfg`)).toBe(2);
  });

  it('counts inserts, updates and unchanged rows of a multi-row run exactly (no lookups on the common path)', async () => {
    await online.query(`CREATE TABLE \`${src}\`.counts (id INT PRIMARY KEY, v VARCHAR(8))`);
    await offline.query(`CREATE TABLE \`${dst}\`.counts (id INT PRIMARY KEY, v VARCHAR(8))`);
    await online.query(
      `INSERT INTO \`${src}\`.counts VALUES (1, 'same'), (2, 'new'), (3, 'x'), (4, 'y'), (5, 'A')`,
    );
    await offline.query(`INSERT INTO \`${dst}\`.counts VALUES (1, 'same'), (2, 'old'), (5, 'a')`);
    const run = await sync({ table: `${src}.counts`, where: 'id <= 5', dryRun: false });
    // 'A' over 'a' is a change (the bytes differ), though a _ci collation compares them equal.
    expect(run.body).toMatchObject({
      status: 'succeeded',
      processed: 5,
      inserted: 2,
      updated: 2,
      unchanged: 1,
    });
    const [rows] = await offline.query(`SELECT id, v FROM \`${dst}\`.counts ORDER BY id`);
    expect(rows).toEqual([
      { id: '1', v: 'same' },
      { id: '2', v: 'new' },
      { id: '3', v: 'x' },
      { id: '4', v: 'y' },
      { id: '5', v: 'A' },
    ]);
  });

  it("a job's NOW() is its start on every read, and the session clock is given back afterwards", async () => {
    const { parseConfig } = await import('../shared/config/load');
    const { prepare, readOnline } = await import('../shared/manual/sync');
    const config = parseConfig({
      databases: {
        shop_online: { role: 'online', url: onlineUrl() },
        shop_offline: { role: 'offline', url: offlineUrl() },
      },
      manual: [
        { source: 'shop_online', target: 'shop_offline', schemas: { [src]: dst }, tables: [`${src}.*`] },
      ],
    });
    const p = await prepare(config, {
      source: 'shop_online',
      table: `${src}.cfg`,
      where: 'id > 0',
      now: '2020-02-29 12:00:00.250000',
    });
    const frozen = await readOnline(p, config, (q) =>
      q.select(
        'SELECT CAST(NOW(6) AS CHAR) AS n, CAST(CURDATE() AS CHAR) AS d, CAST(UTC_TIMESTAMP() AS CHAR) AS u',
      ),
    );
    expect(frozen).toEqual([{ n: '2020-02-29 12:00:00.250000', d: '2020-02-29', u: '2020-02-29 12:00:00' }]);
    // Every connection of the pool is back on the real clock.
    for (let i = 0; i < 3; i++) {
      const [live] = await p.online.select<{ fresh: string }>("SELECT NOW() > '2025-01-01' AS fresh");
      expect(live?.fresh).toBe('1');
    }
  });

  it('makes one job of a double submit (same client token)', async () => {
    const token = `tok-${Date.now()}`;
    const body = { table: `${src}.cfg`, where: 'id = 1', dryRun: false, clientToken: token };
    const [a, b] = [await sync(body), await sync(body)];
    expect(a.body.jobId).toBe(b.body.jobId);
    expect(b.body.repeated).toBe(true);
    expect(
      await count('SELECT COUNT(*) AS n FROM cdc_mirror.sync_jobs WHERE client_token = ?', [token]),
    ).toBe(1);
    // Another person with the same token is another job.
    const c = await sync(body, 'qa-bob');
    expect(c.body.jobId).not.toBe(a.body.jobId);
  });

  it('a run the server refuses answers 422 with the key and reason; resumed after the fix, it finishes', async () => {
    const run = await sync({ table: `${src}.cfg`, where: 'id IN (2, 3)', dryRun: false });
    expect(run.status).toBe(422);
    expect(run.body).toMatchObject({ status: 'failed', failedKey: { id: '2' } });
    expect(run.body.error).toMatch(/too long|Data too long/i);
    expect(await count(`SELECT COUNT(*) AS n FROM \`${dst}\`.cfg WHERE id = 2`)).toBe(0);
    await offline.query(`ALTER TABLE \`${dst}\`.cfg MODIFY name VARCHAR(32)`);
    const resumed = await call('POST', `/sync/${run.body.jobId}/resume`);
    expect([200, 202]).toContain(resumed.status);
    const done = await waitForJob(run.body.jobId);
    expect(done).toMatchObject({ status: 'succeeded', failedKey: null, error: null });
    const [rows] = await offline.query(`SELECT id, name FROM \`${dst}\`.cfg WHERE id = 2`);
    expect(rows).toEqual([{ id: '2', name: 'a name far too long' }]);
  });

  it('cancels a running job between chunks, and resumes it from its cursor', async () => {
    const started = await sync({ table: `${src}.big`, where: 'id > 0', dryRun: false });
    expect(started.status).toBe(202);
    const cancelled = await call('POST', `/sync/${started.body.jobId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 200));
    const stopped = (await call('GET', `/sync/${started.body.jobId}`)).body;
    expect(stopped.status).toBe('cancelled');
    expect(stopped.processed).toBeLessThan(400);
    expect(await count(`SELECT COUNT(*) AS n FROM \`${dst}\`.big`)).toBe(stopped.processed);
    expect((await call('POST', `/sync/${started.body.jobId}/cancel`)).status).toBe(409);
    await call('POST', `/sync/${started.body.jobId}/resume`);
    const done = await waitForJob(started.body.jobId);
    expect(done).toMatchObject({ status: 'succeeded', processed: 400 });
    expect(await count(`SELECT COUNT(*) AS n FROM \`${dst}\`.big`)).toBe(400);
  });

  it('under `serverless invoke local` a job that continues past its budget finishes (pools stay open for it)', async () => {
    process.env.IS_LOCAL = 'true';
    try {
      await offline.query(`DELETE FROM \`${dst}\`.big`);
      const started = await sync({ table: `${src}.big`, where: 'id <= 100', dryRun: false });
      expect(started.status).toBe(202);
      expect(await waitForJob(started.body.jobId)).toMatchObject({
        status: 'succeeded',
        processed: 100,
        error: null,
      });
      expect(await count(`SELECT COUNT(*) AS n FROM \`${dst}\`.big`)).toBe(100);
    } finally {
      delete process.env.IS_LOCAL;
    }
  });

  it('lists jobs with filters, and marks a job with no heartbeat stale', async () => {
    const all = await call('GET', '/sync', undefined, 'qa-alice', { table: `${src}.big` });
    expect(all.body.jobs.length).toBeGreaterThan(0);
    expect(all.body.jobs.every((j: { sourceTable: string }) => j.sourceTable === `${src}.big`)).toBe(true);
    const bobs = await call('GET', '/sync', undefined, 'qa-alice', { requestedBy: 'qa-bob' });
    expect(bobs.body.jobs.map((j: { requestedBy: string }) => j.requestedBy)).toEqual(['qa-bob']);
    expect((await call('GET', '/sync', undefined, 'qa-alice', { status: 'nope' })).status).toBe(400);
    const jobId = all.body.jobs[0].jobId;
    await offline.query(
      `UPDATE cdc_mirror.sync_jobs SET status = 'running', updated_at = UTC_TIMESTAMP(6) - INTERVAL 10 MINUTE WHERE job_id = ?`,
      [jobId],
    );
    expect((await call('GET', `/sync/${jobId}`)).body).toMatchObject({ status: 'running', stale: true });
    await call('POST', `/sync/${jobId}/resume`);
    expect(await waitForJob(jobId)).toMatchObject({ status: 'succeeded', stale: false });
  });

  it('discards and bulk-retries dead letters, and shows the CDC status', async () => {
    const dbz = (id: number, v: string) =>
      JSON.stringify({
        op: 'c',
        source: { db: src, table: 'kv', ts_ms: 1_700_000_000_000 },
        before: null,
        after: { id, v },
      });
    await cdc(
      mskEvent([
        { topic: TOPIC, value: dbz(1, 'ok') },
        { topic: TOPIC, value: dbz(2, 'far too long') },
        { topic: TOPIC, value: dbz(3, 'also too long') },
        { topic: TOPIC, value: '{not json' },
      ]),
      lambdaContext(),
    );
    const list = await call('GET', '/dead-letters', undefined, 'qa-alice', { topic: TOPIC, status: 'open' });
    expect(list.body.deadLetters).toHaveLength(3);
    const undecodable = list.body.deadLetters.find((d: { errorClass: string }) => d.errorClass === 'decode');
    const tooLong = list.body.deadLetters.filter((d: { errorClass: string }) => d.errorClass === 'value');
    expect(tooLong[0].payload).toMatchObject({ op: 'c', after: { v: 'far too long' } });
    expect(undecodable.payload).toBeNull();

    const discarded = await call('POST', `/dead-letters/${undecodable.id}/discard`, undefined, 'qa-carol');
    expect(discarded.body).toEqual({ id: undecodable.id, status: 'discarded', discardedBy: 'qa-carol' });
    expect((await call('POST', `/dead-letters/${undecodable.id}/retry`)).status).toBe(409);
    expect((await call('POST', `/dead-letters/${undecodable.id}/discard`)).status).toBe(409);

    await offline.query(`ALTER TABLE \`${dst}\`.kv MODIFY v VARCHAR(32)`);
    const retried = await call('POST', '/dead-letters/retry', {
      ids: tooLong.map((d: { id: string }) => d.id),
    });
    expect(retried.body.results.map((r: { ok: boolean }) => r.ok)).toEqual([true, true]);
    const [rows] = await offline.query(`SELECT id, v FROM \`${dst}\`.kv ORDER BY id`);
    expect(rows).toEqual([
      { id: '1', v: 'ok' },
      { id: '2', v: 'far too long' },
      { id: '3', v: 'also too long' },
    ]);

    const status = (await call('GET', '/status')).body;
    const target = status.targets.find((t: { target: string }) => t.target === 'shop_offline');
    const partition = target.partitions.find((p: { topic: string }) => p.topic === TOPIC);
    expect(partition).toMatchObject({ partition: 0, sourceTime: '2023-11-14 22:13:20.000' });
    expect(target.lastHour.inserted).toBeGreaterThanOrEqual(1);
    expect(target.lastHour.deadLettered).toBeGreaterThanOrEqual(3);
    expect(status.entries).toEqual([{ name: TOPIC, topics: [TOPIC], target: 'shop_offline', enabled: true }]);
  });
});
