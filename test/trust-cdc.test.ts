import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncBatch } from '../shared/cdc/sync-batch';
import { parseConfig } from '../shared/config/load';
import type { SyncConfig } from '../shared/config/schema';
import { closeAllDatabases } from '../shared/db/connection';
import { handleHttpRequest } from '../shared/manual/http';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema } from './support/env';
import { httpRequest } from './support/http';
import { mskEvent } from './support/kafka';

/**
 * Nothing silently lost or altered, and nothing that hangs: DDL applied at its position, a pool of
 * one, writes bounded by the invocation's time, offsets in order, keys compared as the collation
 * compares them, superseded dead letters, secret rotation, and 4xx for the caller's mistakes.
 */
const src = uniqueSchema('trust');
const dst = `${src}_off`;
let off: Connection;

const TOPICS = { ddl: 'trust.ddl', rows: 'trust.rows', pool1: 'trust.pool1' };

function makeConfig(
  extra: Record<string, unknown> = {},
  offlineExtra: Record<string, unknown> = {},
): SyncConfig {
  return parseConfig({
    databases: {
      online: { role: 'online', url: onlineUrl(), poolSize: 1 },
      offline: { role: 'offline', url: offlineUrl(), ...offlineExtra },
    },
    cdc: [
      { topics: [TOPICS.ddl], target: 'offline', schemas: { [src]: dst }, applyDdl: true },
      { topics: [TOPICS.rows], target: 'offline', schemas: { [src]: dst } },
    ],
    manual: [{ source: 'online', target: 'offline' }],
    ...extra,
  });
}
let config: SyncConfig;

const dbz = (op: string, table: string, before: unknown, after: unknown) =>
  JSON.stringify({ op, source: { db: src, table }, before, after });
const canal = (type: string, table: string, fields: Record<string, unknown>) =>
  JSON.stringify({ database: src, table, isDdl: false, type, ...fields });

async function rows(table: string, order = 'k'): Promise<Record<string, string>[]> {
  const [r] = await off.query(`SELECT * FROM \`${dst}\`.${table} ORDER BY ${order}`);
  return r as Record<string, string>[];
}

const send = (topic: string, values: string[], offsets?: number[], cfg = config, remainingMs = 60_000) => {
  const deadline = Date.now() + remainingMs;
  return syncBatch(
    mskEvent(
      values.map((value) => ({ topic, value })),
      offsets,
    ),
    cfg,
    () => deadline - Date.now(),
  );
};

beforeAll(async () => {
  off = await rawConnection(offlineUrl());
  await off.query(`CREATE DATABASE \`${dst}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
  await off.query(`CREATE TABLE \`${dst}\`.t (k INT PRIMARY KEY, v VARCHAR(16))`);
  await off.query(`CREATE TABLE \`${dst}\`.bin_key (k VARCHAR(8) COLLATE utf8mb4_bin PRIMARY KEY, v INT)`);
  await off.query(
    `CREATE TABLE \`${dst}\`.ci_key (k VARCHAR(8) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT)`,
  );
  await off.query(`CREATE TABLE \`${dst}\`.short (k INT PRIMARY KEY, v VARCHAR(4), n INT)`);
  config = makeConfig();
});

afterAll(async () => {
  await closeAllDatabases();
  await off.query(`DROP DATABASE \`${dst}\``);
  await off.end();
});

describe('DDL applies at its position in the batch', () => {
  it('[INSERT 606, DROP TABLE, CREATE TABLE] leaves the table empty, as online; a re-delivery too', async () => {
    await off.query(`CREATE TABLE \`${dst}\`.ddl_t (k INT PRIMARY KEY, v VARCHAR(8))`);
    const batch = [
      canal('INSERT', 'ddl_t', { data: [{ k: 606, v: 'x' }] }),
      JSON.stringify({
        database: src,
        table: 'ddl_t',
        isDdl: true,
        type: 'ERASE',
        sql: 'DROP TABLE `ddl_t`',
        data: null,
      }),
      JSON.stringify({
        database: src,
        table: 'ddl_t',
        isDdl: true,
        type: 'CREATE',
        sql: 'CREATE TABLE `ddl_t` (k INT PRIMARY KEY, v VARCHAR(8), w INT)',
        data: null,
      }),
    ];
    const first = await send(TOPICS.ddl, batch, [100, 101, 102]);
    expect(first.batchItemFailures).toEqual([]);
    expect(await rows('ddl_t')).toEqual([]);
    // Lambda delivers at least once: the same batch again must not bring row 606 back.
    const again = await send(TOPICS.ddl, batch, [100, 101, 102]);
    expect(again.alreadyApplied).toBe(3);
    expect(await rows('ddl_t')).toEqual([]);
    // Rows after the DDL see the new shape.
    await send(TOPICS.ddl, [canal('INSERT', 'ddl_t', { data: [{ k: 607, v: 'y', w: 7 }] })], [103]);
    expect(await rows('ddl_t')).toEqual([{ k: '607', v: 'y', w: '7' }]);
  });
});

describe('a pool of one connection', () => {
  it('applies batches over several tables, warm and cold, without waiting for itself', async () => {
    await closeAllDatabases();
    const cfg = makeConfig({}, { poolSize: 1 });
    for (const k of [1, 2]) {
      const summary = await Promise.race([
        send(
          TOPICS.rows,
          [dbz('c', 't', null, { k: 100 + k, v: 'p' }), dbz('c', 'short', null, { k: 100 + k, v: 'p' })],
          undefined,
          cfg,
        ),
        new Promise((_, reject) => setTimeout(() => reject(new Error('deadlocked')), 15_000)),
      ]);
      expect(summary).toMatchObject({ deadLettered: 0, batchItemFailures: [] });
    }
    expect((await rows('t')).filter((r) => Number(r.k) > 100)).toHaveLength(2);
    await closeAllDatabases();
  });
});

describe('writes are bounded by the time the invocation has left', () => {
  it('a lock wait past the deadline fails the invocation and never commits later', async () => {
    await off.query(`INSERT INTO \`${dst}\`.t VALUES (50, 'before')`);
    const holder = await rawConnection(offlineUrl());
    await holder.query('START TRANSACTION');
    await holder.query(`SELECT * FROM \`${dst}\`.t WHERE k = 50 FOR UPDATE`);
    const started = Date.now();
    await expect(
      send(
        TOPICS.rows,
        [dbz('u', 't', { k: 50, v: 'before' }, { k: 50, v: 'after' })],
        undefined,
        config,
        5_000,
      ),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(6_000);
    await holder.query('COMMIT');
    await holder.end();
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await rows('t')).find((r) => r.k === '50')).toEqual({ k: '50', v: 'before' });
  });
});

describe('records apply in offset order', () => {
  it('whatever order the event lists them in', async () => {
    const insert = dbz('c', 't', null, { k: 60, v: 'first' });
    const update = dbz('u', 't', { k: 60, v: 'first' }, { k: 60, v: 'second' });
    await send(TOPICS.rows, [update, insert], [211, 210]);
    expect((await rows('t')).find((r) => r.k === '60')).toEqual({ k: '60', v: 'second' });
  });

  it('and the partition position records the last offset and its source commit time', async () => {
    const at = Date.UTC(2026, 10, 25, 12, 0, 0, 123);
    const msg = JSON.stringify({
      op: 'c',
      source: { db: src, table: 't', ts_ms: at },
      before: null,
      after: { k: 61, v: 'p' },
    });
    await send(TOPICS.rows, [msg], [9_000]);
    const [[pos]] = (await off.query(
      "SELECT applied_offset, source_time FROM cdc_mirror.positions WHERE target = 'offline' AND topic = ? AND kafka_partition = 0",
      [TOPICS.rows],
    )) as unknown as [Record<string, string>[]];
    expect(pos).toEqual({ applied_offset: '9000', source_time: '2026-11-25 12:00:00.123' });
  });
});

describe('keys compare as their collation does', () => {
  it("utf8mb4_bin keeps 'A' and 'a' apart: two rows, none lost", async () => {
    const summary = await send(TOPICS.rows, [
      dbz('c', 'bin_key', null, { k: 'A', v: 1 }),
      dbz('c', 'bin_key', null, { k: 'a', v: 2 }),
    ]);
    expect(await rows('bin_key', 'v')).toEqual([
      { k: 'A', v: '1' },
      { k: 'a', v: '2' },
    ]);
    expect(summary.tables[`offline/${dst}.bin_key`]).toMatchObject({ inserted: 2 });
  });

  it('a _ci key keeps the order of changes the server sees as one row (case, accents)', async () => {
    await send(TOPICS.rows, [
      dbz('c', 'ci_key', null, { k: 'A', v: 1 }),
      dbz('d', 'ci_key', { k: 'a', v: 1 }, null),
      dbz('c', 'ci_key', null, { k: 'e', v: 2 }),
      dbz('d', 'ci_key', { k: 'é', v: 2 }, null),
      dbz('c', 'ci_key', null, { k: 'x', v: 3 }),
    ]);
    expect(await rows('ci_key')).toEqual([{ k: 'x', v: '3' }]);
  });
});

describe('dead letters a later change superseded', () => {
  it('are marked superseded, in the same batch or a later one, and never replayed over newer values', async () => {
    await off.query(`INSERT INTO \`${dst}\`.short VALUES (70, 'a', 0), (71, 'a', 0)`);
    // Same batch: offset 300 carries a value no INT column takes, 301 changes the same row.
    await send(
      TOPICS.rows,
      [
        dbz('u', 'short', { k: 70, v: 'a' }, { k: 70, v: 'old', n: 'abc' }),
        dbz('u', 'short', { k: 70, v: 'a' }, { k: 70, v: 'new', n: 1 }),
      ],
      [300, 301],
    );
    // Later batch: 310 is too long for the column, then 311 arrives in the next invocation.
    await send(TOPICS.rows, [dbz('u', 'short', { k: 71, v: 'a' }, { k: 71, v: 'too long', n: 0 })], [310]);
    await send(TOPICS.rows, [dbz('u', 'short', { k: 71, v: 'a' }, { k: 71, v: 'new', n: 1 })], [311]);
    const [letters] = (await off.query(
      'SELECT id, kafka_offset, status FROM cdc_mirror.dead_letters WHERE topic = ? AND kafka_offset IN (300, 310) ORDER BY kafka_offset',
      [TOPICS.rows],
    )) as unknown as [{ id: string; kafka_offset: string; status: string }[]];
    expect(letters.map((l) => [l.kafka_offset, l.status])).toEqual([
      ['300', 'superseded'],
      ['310', 'superseded'],
    ]);
    // The cause is fixed; a retry must still not put the older value back.
    await off.query(`ALTER TABLE \`${dst}\`.short MODIFY v VARCHAR(16)`);
    const res = await handleHttpRequest(
      httpRequest('POST', `/dead-letters/${letters[0]?.id}/retry`, undefined, undefined, {
        target: 'offline',
      }),
      { awsRequestId: 'r', getRemainingTimeInMillis: () => 20_000 } as never,
      config,
    );
    expect(res.statusCode).toBe(409);
    expect((await rows('short')).filter((r) => ['70', '71'].includes(String(r.k)))).toEqual([
      { k: '70', v: 'new', n: '1' },
      { k: '71', v: 'new', n: '1' },
    ]);
    await off.query(`ALTER TABLE \`${dst}\`.short MODIFY v VARCHAR(4)`);
  });
});

describe('the caller’s mistakes are 4xx, not 500', () => {
  const http = async (method: string, path: string, body?: unknown, query: Record<string, string> = {}) => {
    const res = await handleHttpRequest(
      httpRequest(method, path, body, undefined, query),
      { awsRequestId: 'r', getRemainingTimeInMillis: () => 20_000 } as never,
      config,
    );
    return { status: res.statusCode, body: JSON.parse(res.body ?? '{}') as { error?: string } };
  };

  it.each([
    ['GET /dead-letters?limit=abc', 400, () => http('GET', '/dead-letters', undefined, { limit: 'abc' })],
    [
      'GET /dead-letters?status=<script>',
      400,
      () => http('GET', '/dead-letters', undefined, { status: '<script>' }),
    ],
    ['GET /sync/%E0%A4%A (a broken escape)', 400, () => http('GET', '/sync/%E0%A4%A')],
    ['POST /dead-letters/abc/retry', 400, () => http('POST', '/dead-letters/abc/retry')],
    [
      'a table name with a 4-byte character',
      400,
      () => http('POST', '/sync', { source: 'online', table: `${src}.t😀`, where: 'k = 1' }),
    ],
    [
      'a dry run of mysql.global_priv',
      403,
      () => http('POST', '/sync', { source: 'online', table: 'mysql.global_priv', where: "User = 'root'" }),
    ],
    [
      'a dry run of information_schema',
      403,
      () =>
        http('POST', '/sync', {
          source: 'online',
          table: 'information_schema.USER_PRIVILEGES',
          where: "GRANTEE = 'x'",
        }),
    ],
  ])('%s → %i', async (_what, status, call) => {
    const res = await call();
    expect(res.status).toBe(status);
    expect(res.body.error).toBeTruthy();
    expect(JSON.stringify(res.body)).not.toMatch(/authentication_string|password|\*[0-9A-F]{40}/i);
  });
});

describe('secret rotation', () => {
  let server: Server;
  let password = 'first-Pa55';
  const user = `rot_${process.pid}`;

  beforeAll(async () => {
    await off.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await off.query(`GRANT ALL ON *.* TO '${user}'@'%'`);
    // A stand-in for Secrets Manager: answers GetSecretValue with the current password.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const { port } = new URL(offlineUrl());
        res.setHeader('content-type', 'application/x-amz-json-1.1');
        res.end(
          JSON.stringify({
            ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:off',
            Name: 'off',
            SecretString: JSON.stringify({ host: '127.0.0.1', port: Number(port), username: user, password }),
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await off.query(`DROP USER '${user}'@'%'`);
  });

  it('on access denied the pool is dropped and the secret fetched again', async () => {
    await closeAllDatabases();
    const cfg = parseConfig({
      databases: {
        online: { role: 'online', url: onlineUrl() },
        offline: { role: 'offline', secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:off' },
      },
      cdc: [{ topics: [TOPICS.rows], target: 'offline', schemas: { [src]: dst } }],
      secretCacheTtlSeconds: 3600,
    });
    await send(TOPICS.rows, [dbz('c', 't', null, { k: 80, v: 'one' })], undefined, cfg);
    // Rotate: new password on the server and in the secret, and the old sessions are gone.
    password = 'second-Pa55';
    await off.query(`ALTER USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    const [threads] = (await off.query('SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?', [
      user,
    ])) as unknown as [{ ID: string }[]];
    for (const t of threads) await off.query(`KILL CONNECTION ${t.ID}`).catch(() => undefined);
    const summary = await send(TOPICS.rows, [dbz('c', 't', null, { k: 81, v: 'two' })], undefined, cfg);
    expect(summary.batchItemFailures).toEqual([]);
    expect((await rows('t')).filter((r) => ['80', '81'].includes(String(r.k)))).toEqual([
      { k: '80', v: 'one' },
      { k: '81', v: 'two' },
    ]);
    await closeAllDatabases();
  });
});
