import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createDevSchema, ensureLocalServers, type Pipeline, startPipeline } from '../dev/pipeline';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { freePort } from './harness/mysql-server';
import { rawConnection } from './support/raw-connection';

/**
 * `npm run dev`'s pipeline as a user meets it: servers started on the ports the config names, the dev
 * schema, rows already there (snapshot) and rows changed with SQL arriving offline through the binlog,
 * and the console and API answering over real HTTP. Private servers: the dev schema is called `shop`.
 */
let pipeline: Pipeline;
let servers: Awaited<ReturnType<typeof ensureLocalServers>>;
let online: Connection;
let offline: Connection;
const applied: BatchSummary[] = [];

beforeAll(async () => {
  const [onPort, offPort] = [await freePort(), await freePort()];
  const dir = join(__dirname, '..', '.tmp');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, `dev-pipeline-${process.pid}.yml`);
  const dbs = {
    online: { name: 'shop_online', url: `mysql://root@127.0.0.1:${onPort}` },
    offline: { name: 'shop_offline', url: `mysql://root@127.0.0.1:${offPort}` },
  };
  writeFileSync(
    configPath,
    stringify({
      databases: {
        shop_online: { role: 'online', url: dbs.online.url },
        shop_offline: { role: 'offline', url: dbs.offline.url },
      },
      cdc: [
        {
          topics: ['dbserver1.shop.t_config', 'dbserver1.shop.t_user', 'dbserver1.shop.t_approval_template'],
          target: 'shop_offline',
        },
      ],
      manual: [{ source: 'shop_online', target: 'shop_offline', tables: ['shop.*'] }],
    }),
  );
  servers = await ensureLocalServers(dbs);
  await createDevSchema(dbs);
  online = await rawConnection(dbs.online.url);
  offline = await rawConnection(dbs.offline.url);
  await online.query(
    "INSERT INTO shop.t_config VALUES (1, 'already.there', 'before the capture', 1.00, '2026-01-01 00:00:00.000')",
  );
  pipeline = await startPipeline({
    configPath,
    snapshot: true,
    batchWindowMs: 20,
    onBatch: ({ summary }) => summary && applied.push(summary),
  });
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  await online?.end();
  await offline?.end();
  await servers?.stop();
});

describe('the local pipeline (npm run dev)', () => {
  it('started a server on each port the config names', () => {
    expect(servers.started).toEqual(['shop_online', 'shop_offline']);
  });

  it('snapshots the rows already online, then follows changes made with SQL', async () => {
    await online.query(
      `INSERT INTO shop.t_user (user_no, name, balance) VALUES ('U-1', 'Ann', 1.5000), ('U-2', 'Bo', 2.2500)`,
    );
    await online.query(
      `INSERT INTO shop.t_approval_template (code, title, steps) VALUES ('leave', 'Leave', '[{"role": "manager"}]')`,
    );
    await online.query("UPDATE shop.t_user SET name = 'Ann B.' WHERE user_no = 'U-1'");
    await online.query("DELETE FROM shop.t_user WHERE user_no = 'U-2'");
    await pipeline.capture.caughtUp();
    const rows = async (conn: Connection, sql: string) => (await conn.query(sql))[0];
    for (const sql of [
      'SELECT * FROM shop.t_config ORDER BY id',
      'SELECT id, user_no, name, balance, CAST(created_at AS CHAR) AS created_at FROM shop.t_user ORDER BY id',
      'SELECT id, code, title, steps, CAST(updated_at AS CHAR) AS updated_at FROM shop.t_approval_template',
    ]) {
      expect(await rows(offline, sql)).toEqual(await rows(online, sql));
    }
    expect(await rows(offline, 'SELECT user_no, name FROM shop.t_user')).toEqual([
      { user_no: 'U-1', name: 'Ann B.' },
    ]);
    expect(applied.every((s) => s.deadLettered === 0)).toBe(true);
  });

  it('serves the console and the API over HTTP', async () => {
    const page = await fetch(`${pipeline.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('cdc-mirror');
    const dry = await fetch(`${pipeline.httpUrl}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'shop_online', table: 'shop.t_config', where: 'id = 1' }),
    });
    expect(dry.status).toBe(200);
    expect(await dry.json()).toMatchObject({ dryRun: true, matched: 1, unchanged: 1 });
    const letters = await fetch(`${pipeline.httpUrl}/dead-letters`);
    expect(letters.status).toBe(200);
    const missing = await fetch(`${pipeline.httpUrl}/no-such-route`);
    expect(missing.status).toBe(404);
  });
});
