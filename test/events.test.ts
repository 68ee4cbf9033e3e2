import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { closeAllDatabases } from '../shared/db/connection';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';
import { lambdaContext } from './support/kafka';

const repo = resolve(__dirname, '..');
const EVENTS = join(repo, 'events');
const kafkaSamples = readdirSync(EVENTS).filter((f) => /^(msk|kafka)-/.test(f));

type Handler = (event: unknown, context: unknown) => Promise<BatchSummary>;
const offlineSchema = uniqueSchema('events');
let offline: Connection;
let handler: Handler;

/** The serverless CLI paths (package, invoke local) are tested in packaging.test.ts, one at a time. */
/** Every sample carries the same story: rows 1 and 2 inserted, row 2 updated, row 1 deleted. */
const FINAL = [
  { id: '2', name: 'timeout.ms', value: '5000', price: null, updated_at: '2025-11-24 16:05:00.000' },
];

beforeAll(async () => {
  offline = await rawConnection(offlineUrl());
  await offline.query(
    `CREATE DATABASE ${offlineSchema}; CREATE TABLE ${offlineSchema}.t_config (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL UNIQUE,
      value TEXT, price DECIMAL(12,2), updated_at DATETIME(3)) DEFAULT CHARSET=utf8mb4`,
  );
  useConfig({
    databases: {
      online: { role: 'online', url: onlineUrl() },
      offline: { role: 'offline', url: offlineUrl() },
    },
    cdc: [{ topics: ['dbserver1.shop.t_config'], target: 'offline', schemas: { shop: offlineSchema } }],
  });
  handler = (await import('../functions/cdc-sync')).handler as unknown as Handler;
});

beforeEach(async () => {
  await offline.query(`TRUNCATE TABLE ${offlineSchema}.t_config`);
});

afterAll(async () => {
  await offline.query(`DROP DATABASE ${offlineSchema}`);
  await offline.end();
  await closeAllDatabases();
});

const finalRows = async () => (await offline.query(`SELECT * FROM ${offlineSchema}.t_config ORDER BY id`))[0];

describe('sample events', () => {
  it('include every wire format for MSK and self-managed Kafka', () => {
    expect(kafkaSamples.sort()).toEqual([
      'kafka-canal-tidb.json',
      'kafka-debezium.json',
      'msk-canal.json',
      'msk-debezium-noschema.json',
      'msk-debezium.json',
      'msk-maxwell.json',
    ]);
  });

  it.each(kafkaSamples)('%s applies to the documented state', async (file) => {
    const summary = await handler(JSON.parse(readFileSync(join(EVENTS, file), 'utf8')), lambdaContext());
    expect(summary.deadLettered).toBe(0);
    expect(await finalRows()).toEqual(FINAL);
  });
});
