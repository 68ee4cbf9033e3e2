import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { syncBatch } from '../shared/cdc/sync-batch';
import { parseConfig } from '../shared/config/load';
import type { SyncConfig } from '../shared/config/schema';
import { closeAllDatabases, getOnlineDatabase } from '../shared/db/connection';
import { handleContinuation, handleHttpRequest } from '../shared/manual/http';
import { freePort, startThrowawayServer, type ThrowawayServer } from './harness/mysql-server';
import { offlineUrl, rawConnection } from './support/env';
import { httpRequest } from './support/http';
import { lambdaContext, mskEvent } from './support/kafka';

/**
 * Never write online, tried as an attacker would: the offline URL is an alias of the online server
 * (127.1, `localhost`, its --extra-port), the online database cannot be reached (wrong password,
 * max_connections), and every path that writes is driven at such a target. Each test then reads the
 * online server's general log: nothing but reads may have reached it.
 */
let prod: ThrowawayServer;
let extraPort: number;
let admin: Connection;
let adminThread: string;

const message = (id: number) =>
  JSON.stringify({ op: 'c', source: { db: 'prod', table: 't' }, before: null, after: { id, v: 'x' } });
const ddl = JSON.stringify({
  database: 'prod',
  table: 't',
  isDdl: true,
  type: 'CREATE',
  sql: 'CREATE TABLE t2 (id INT PRIMARY KEY)',
  data: null,
});

function config(offlineUrlText: string, onlineUrlText = prod.url): SyncConfig {
  return parseConfig({
    databases: {
      prod: { role: 'online', url: onlineUrlText, connectTimeoutMs: 2_000 },
      disguised: { role: 'offline', url: offlineUrlText, connectTimeoutMs: 2_000 },
    },
    cdc: [{ topics: ['t'], target: 'disguised', applyDdl: true }],
    manual: [{ source: 'prod', target: 'disguised' }],
  });
}

/** Statements other than reads that reached the online server since the last call, from anyone but us. */
async function onlineWrites(): Promise<string[]> {
  const [rows] = (await admin.query(
    "SELECT argument FROM mysql.general_log WHERE command_type = 'Query' AND thread_id <> ?",
    [adminThread],
  )) as unknown as [{ argument: string | Buffer }[]];
  await admin.query('TRUNCATE TABLE mysql.general_log');
  const read = /^\s*(SELECT|SET|SHOW|START TRANSACTION READ ONLY|COMMIT|ROLLBACK)\b/i;
  return rows.map((r) => String(r.argument)).filter((sql) => !read.test(sql));
}

async function prodRows(): Promise<unknown[]> {
  const [rows] = await admin.query('SELECT * FROM prod.t');
  return rows as unknown[];
}

beforeAll(async () => {
  extraPort = await freePort();
  prod = await startThrowawayServer({ binlog: true, extraArgs: [`--extra-port=${extraPort}`] });
  admin = await rawConnection(prod.url);
  await admin.query(
    "CREATE DATABASE prod; CREATE TABLE prod.t (id INT PRIMARY KEY, v VARCHAR(8)); CREATE USER 'reader'@'%' IDENTIFIED BY 'rp'; GRANT SELECT ON *.* TO 'reader'@'%'",
  );
  const [[thread]] = (await admin.query('SELECT CONNECTION_ID() AS id')) as unknown as [{ id: string }[]];
  adminThread = String(thread?.id);
  await admin.query("SET GLOBAL log_output = 'TABLE', GLOBAL general_log = 'ON'");
}, 120_000);

beforeEach(async () => {
  await closeAllDatabases();
  await admin.query('TRUNCATE TABLE mysql.general_log');
});

afterAll(async () => {
  await closeAllDatabases();
  await admin.end();
  await prod.stop();
});

const run = (cfg: SyncConfig, value: string) =>
  syncBatch(mskEvent([{ topic: 't', value }]), cfg, () => 8_000);

describe('the guard refuses a target that is the online server', () => {
  it.each([
    ['127.1 on the extra port', () => `mysql://root@127.1:${extraPort}`],
    [
      'localhost (a name that resolves to the online host) on the extra port',
      () => `mysql://root@localhost:${extraPort}`,
    ],
  ])('%s', async (_what, url) => {
    await expect(run(config(url()), message(1))).rejects.toThrow(
      /same server as online database "prod": refusing to write/,
    );
    expect(await prodRows()).toEqual([]);
    expect(await onlineWrites()).toEqual([]);
  });
});

describe('the guard fails closed when an online database cannot be checked', () => {
  it('wrong online password, offline an alias of online: nothing written, the error names the online database', async () => {
    const cfg = config(`mysql://root@127.1:${extraPort}`, `mysql://reader:wrong@127.0.0.1:${prod.port}`);
    await expect(run(cfg, message(2))).rejects.toThrow(
      /cannot prove offline database "disguised" is not online database "prod"/,
    );
    expect(await prodRows()).toEqual([]);
    expect(await onlineWrites()).toEqual([]);
  });

  it('wrong online password, offline a genuinely different server: still nothing written', async () => {
    const raw = await rawConnection(offlineUrl());
    await raw.query(
      'CREATE DATABASE IF NOT EXISTS prod; CREATE TABLE IF NOT EXISTS prod.t (id INT PRIMARY KEY, v VARCHAR(8))',
    );
    const cfg = config(offlineUrl(), `mysql://reader:wrong@127.0.0.1:${prod.port}`);
    await expect(run(cfg, message(3))).rejects.toThrow(/"prod" did not answer/);
    const [rows] = await raw.query('SELECT * FROM prod.t WHERE id = 3');
    expect(rows).toEqual([]);
    await raw.query('DROP DATABASE prod');
    await raw.end();
  });

  it('online at max_connections: nothing written', async () => {
    const held: Connection[] = [];
    await admin.query('SET GLOBAL max_connections = 10');
    try {
      // Readers fill the server (root's extra SUPER slot does not help a reader) until it refuses one.
      for (let i = 0; i < 12; i++) {
        const conn = await rawConnection(`mysql://reader:rp@127.0.0.1:${prod.port}`).catch(() => undefined);
        if (!conn) break;
        held.push(conn);
      }
      const cfg = config(`mysql://root@127.1:${extraPort}`, `mysql://reader:rp@127.0.0.1:${prod.port}`);
      await expect(run(cfg, message(4))).rejects.toThrow(/"prod" did not answer \(Too many connections/);
    } finally {
      await Promise.all(held.map((c) => c.end()));
      await admin.query('SET GLOBAL max_connections = 500');
    }
    expect(await prodRows()).toEqual([]);
    expect(await onlineWrites()).toEqual([]);
  });
});

describe('online connections are read-only at the server', () => {
  it('a write attempted through an online handle is refused by the server itself', async () => {
    const online = await getOnlineDatabase('prod', config(offlineUrl()));
    for (const sql of [
      'INSERT INTO prod.t VALUES (9, "x")',
      'CREATE TABLE prod.x (a INT)',
      'CREATE DATABASE cdc_mirror',
    ]) {
      await expect(online.select(sql)).rejects.toMatchObject({ errno: 1792 });
    }
    await expect(
      online.readTransaction(5_000, (q) => q.select('UPDATE prod.t SET v = "y"')),
    ).rejects.toMatchObject({ errno: 1792 });
    expect(await prodRows()).toEqual([]);
  });
});

describe('every path that writes goes through the guard', () => {
  const alias = () => config(`mysql://root@127.1:${extraPort}`);
  const http = async (method: string, path: string, body?: unknown, query: Record<string, string> = {}) => {
    const res = await handleHttpRequest(
      httpRequest(method, path, body, undefined, query),
      lambdaContext(20_000),
      alias(),
    );
    return { status: res.statusCode, body: JSON.parse(res.body ?? '{}') as { error?: string } };
  };

  it.each([
    [
      'manual sync (dry run)',
      () => http('POST', '/sync', { source: 'prod', table: 'prod.t', where: 'id = 1' }),
    ],
    [
      'manual sync (copy)',
      () => http('POST', '/sync', { source: 'prod', table: 'prod.t', where: 'id = 1', dryRun: false }),
    ],
    ['job status', () => http('GET', '/sync/00000000-0000-0000-0000-000000000000')],
    ['dead-letter list', () => http('GET', '/dead-letters')],
    ['dead-letter retry', () => http('POST', '/dead-letters/1/retry')],
    ['dead-letter bulk retry', () => http('POST', '/dead-letters/retry', { ids: ['1'] })],
    ['dead-letter discard', () => http('POST', '/dead-letters/1/discard')],
    ['job list', () => http('GET', '/sync')],
    ['job cancel', () => http('POST', '/sync/00000000-0000-0000-0000-000000000000/cancel')],
    ['job resume', () => http('POST', '/sync/00000000-0000-0000-0000-000000000000/resume')],
    ['CDC status', () => http('GET', '/status')],
    ['verify', () => http('POST', '/verify', { source: 'prod', table: 'prod.t' })],
    ['verify report', () => http('GET', '/verify/00000000-0000-0000-0000-000000000000')],
    ['repair', () => http('POST', '/verify/00000000-0000-0000-0000-000000000000/repair', { dryRun: false })],
  ])('%s answers 403 and creates nothing online', async (_what, call) => {
    const res = await call();
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/same server as online database "prod"/);
    expect(await onlineWrites()).toEqual([]);
  });

  it('a job continuation naming the alias target is refused', async () => {
    await expect(
      handleContinuation(
        { cdcMirrorContinueJob: '00000000-0000-0000-0000-000000000000', target: 'disguised' },
        lambdaContext(),
        alias(),
      ),
    ).rejects.toThrow(/same server as online database "prod"/);
    expect(await onlineWrites()).toEqual([]);
  });

  it('a job continuation naming an online database is refused before anything connects', async () => {
    await expect(
      handleContinuation(
        { cdcMirrorContinueJob: '00000000-0000-0000-0000-000000000000', target: 'prod' },
        lambdaContext(),
        alias(),
      ),
    ).rejects.toThrow(/"prod" is not a manual-sync target/);
    expect(await onlineWrites()).toEqual([]);
  });

  it('a DDL message (applyDdl on) is refused', async () => {
    await expect(run(alias(), ddl)).rejects.toThrow(/refusing to write/);
    const [dbs] = await admin.query("SHOW TABLES FROM prod LIKE 't2'");
    expect(dbs).toEqual([]);
    expect(await onlineWrites()).toEqual([]);
  });

  it('verify and repair against a real offline twin: the online server sees only reads', async () => {
    const offline = await rawConnection(offlineUrl());
    const twin = `prod_twin_${process.pid}`;
    await offline.query(`CREATE DATABASE ${twin}; CREATE TABLE ${twin}.t (id INT PRIMARY KEY, v VARCHAR(8))`);
    await admin.query("INSERT INTO prod.t VALUES (1, 'a'), (2, 'b')");
    await admin.query('TRUNCATE TABLE mysql.general_log');
    const cfg = parseConfig({
      databases: {
        prod: { role: 'online', url: prod.url },
        twin: { role: 'offline', url: offlineUrl() },
      },
      manual: [{ source: 'prod', target: 'twin', schemas: { prod: twin } }],
    });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await handleHttpRequest(httpRequest(method, path, body), lambdaContext(20_000), cfg);
      return JSON.parse(res.body ?? '{}');
    };
    const report = await call('POST', '/verify', { source: 'prod', table: 'prod.t' });
    expect(report.rows.missing).toEqual([{ id: '1' }, { id: '2' }]);
    const repaired = await call('POST', `/verify/${report.verifyId}/repair`, { dryRun: false });
    expect(repaired).toMatchObject({ copied: 2, remaining: { missing: 0, extra: 0, differing: 0 } });
    const [rows] = await offline.query(`SELECT * FROM ${twin}.t ORDER BY id`);
    expect(rows).toEqual([
      { id: '1', v: 'a' },
      { id: '2', v: 'b' },
    ]);
    expect(await onlineWrites()).toEqual([]);
    await admin.query('DELETE FROM prod.t');
    await offline.query(`DROP DATABASE ${twin}`);
    await offline.end();
  });

  it('no cdc_mirror bookkeeping schema was ever created online', async () => {
    const [dbs] = await admin.query("SHOW DATABASES LIKE 'cdc_mirror'");
    expect(dbs).toEqual([]);
  });
});
