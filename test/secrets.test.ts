import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { closeAllDatabases } from '../shared/db/connection';
import { parseRdsSecret } from '../shared/db/secrets';
import { logger } from '../shared/observability';
import { freePort } from './harness/mysql-server';
import { offlineUrl, rawConnection, useConfig } from './support/env';
import { lambdaContext, mskEvent } from './support/kafka';
import { captureLogs } from './support/logs';

type Handler = (event: unknown, context: unknown) => Promise<BatchSummary>;

const PASSWORD = 'S3cr3t-Pa55w0rd-xyz';
let handler: Handler;
let logs: ReturnType<typeof captureLogs>;

beforeAll(async () => {
  const admin = await rawConnection(offlineUrl());
  await admin.query(`CREATE USER IF NOT EXISTS 'writer'@'%' IDENTIFIED BY 'the-right-one'`);
  await admin.end();
  const { port } = new URL(offlineUrl());
  const closed = await freePort();
  // A port released may be handed out again at once: the two must differ (or the config refuses itself).
  let elsewhere = await freePort();
  while (elsewhere === closed) elsewhere = await freePort();
  useConfig({
    databases: {
      online: { role: 'online', url: `mysql://reader:${PASSWORD}@127.0.0.1:${elsewhere}` },
      wrong: { role: 'offline', url: `mysql://writer:${PASSWORD}@127.0.0.1:${port}` },
      down: { role: 'offline', url: `mysql://writer:${PASSWORD}@127.0.0.1:${closed}`, connectTimeoutMs: 500 },
    },
    cdc: [
      { topics: ['to.wrong'], target: 'wrong' },
      { topics: ['to.down'], target: 'down' },
    ],
  });
  handler = (await import('../functions/cdc-sync')).handler as unknown as Handler;
  logs = captureLogs('DEBUG');
});

afterEach(() => {
  logs.clear();
});

afterAll(async () => {
  vi.restoreAllMocks();
  logger.setLogLevel('SILENT' as never);
  await closeAllDatabases();
});

const message = JSON.stringify({ op: 'c', source: { db: 'd', table: 't' }, before: null, after: { id: 1 } });

describe('secrets stay out of logs and errors', () => {
  it.each([
    ['a wrong password', 'to.wrong'],
    ['a server that is down', 'to.down'],
  ])(
    'when a connection fails with %s',
    async (_what, topic) => {
      const context = lambdaContext(8_000);
      const error = await handler(mskEvent([{ topic, value: message }]), context).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toBeDefined();
      expect(logs.text().length).toBeGreaterThan(0);
      expect(logs.text()).not.toContain(PASSWORD);
      expect(String(error?.message)).not.toContain(PASSWORD);
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error ?? {}))).not.toContain(PASSWORD);
    },
    30_000,
  );

  it('a malformed secret is reported without its text', () => {
    expect(() => parseRdsSecret('arn:x', `{"host":"h","password":"${PASSWORD}"`)).toThrow(/not JSON/);
    try {
      parseRdsSecret('arn:x', `{"host":"h","password":"${PASSWORD}"`);
    } catch (err) {
      expect(String(err)).not.toContain(PASSWORD);
    }
  });
});
