import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { closeAllDatabases } from '../shared/db/connection';
import { freePort, startThrowawayServer, type ThrowawayServer } from './harness/mysql-server';
import { rawConnection, useConfig } from './support/env';
import { lambdaContext, mskEvent } from './support/kafka';

type Handler = (event: unknown, context: unknown) => Promise<BatchSummary>;

/**
 * The config check compares host:port; this is the connect-time check behind it: one server reachable
 * on two ports (as through a second DNS name or a proxy) is still recognised as the online server.
 */
describe('never write online, at connect time', () => {
  let server: ThrowawayServer;
  let extraPort: number;
  let handler: Handler;

  beforeAll(async () => {
    extraPort = await freePort();
    server = await startThrowawayServer({ extraArgs: [`--extra-port=${extraPort}`] });
    const conn = await rawConnection(server.url);
    await conn.query('CREATE DATABASE prod; CREATE TABLE prod.t (id INT PRIMARY KEY, v VARCHAR(8))');
    await conn.end();
    useConfig({
      databases: {
        prod: { role: 'online', url: server.url },
        disguised: { role: 'offline', url: `mysql://root@127.0.0.1:${extraPort}` },
      },
      cdc: [{ topics: ['t'], target: 'disguised' }],
    });
    handler = (await import('../functions/cdc-sync')).handler as unknown as Handler;
  });

  afterAll(async () => {
    await closeAllDatabases();
    await server.stop();
  });

  it('refuses to write when the offline target is the online server', async () => {
    const message = JSON.stringify({
      op: 'c',
      source: { db: 'prod', table: 't' },
      before: null,
      after: { id: 1, v: 'x' },
    });
    await expect(handler(mskEvent([{ topic: 't', value: message }]), lambdaContext(10_000))).rejects.toThrow(
      /same server as online database "prod": refusing to write/,
    );
    const conn = await rawConnection(server.url);
    const [rows] = await conn.query('SELECT * FROM prod.t');
    await conn.end();
    expect(rows).toEqual([]);
  });
});
