import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { closeAllDatabases } from '../shared/db/connection';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';
import { lambdaContext, mskEvent } from './support/kafka';

type Handler = (event: unknown, context: unknown) => Promise<BatchSummary>;

const FIXTURES = join(__dirname, 'fixtures', 'third-party');
const lines = (file: string) =>
  readFileSync(join(FIXTURES, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

const PRODUCTS = '(id INT PRIMARY KEY, name VARCHAR(255) NOT NULL, description VARCHAR(512), weight FLOAT)';

const debeziumFinal = [
  ['101', 'scooter', 'Small 2-wheel scooter', '3.14'],
  ['102', 'car battery', '12V car battery', '8.1'],
  ['103', '12-pack drill bits', '12-pack of drill bits with sizes ranging from #40 to #3', '0.8'],
  ['104', 'hammer', "12oz carpenter's hammer", '0.75'],
  ['105', 'hammer', "14oz carpenter's hammer", '0.875'],
  ['106', 'hammer', '18oz carpenter hammer', '1'],
  ['107', 'rocks', 'box of assorted rocks', '5.1'],
  ['108', 'jacket', 'water resistent black wind breaker', '0.1'],
  ['109', 'spare tire', '24 inch spare tire', '22.2'],
  ['110', 'jacket', 'new water resistent white wind breaker', '0.5'],
];
const canalMaxwellFinal = debeziumFinal
  .filter(([id]) => id !== '102' && id !== '103')
  .map((r) => (r[0] === '101' ? ['101', r[1], r[2], '5.17'] : r));

const inventory = uniqueSchema('inventory');
const test = uniqueSchema('test');
let offline: Connection;
let handler: Handler;

beforeAll(async () => {
  offline = await rawConnection(offlineUrl());
  await offline.query(`CREATE DATABASE ${inventory}; CREATE DATABASE ${test}`);
  await offline.query(
    `CREATE TABLE ${inventory}.products ${PRODUCTS}; CREATE TABLE ${inventory}.products2 ${PRODUCTS};` +
      `CREATE TABLE ${test}.product ${PRODUCTS}`,
  );
  useConfig({
    databases: {
      online: { role: 'online', url: onlineUrl() },
      offline: { role: 'offline', url: offlineUrl() },
    },
    cdc: [
      {
        topics: ['dbserver1.inventory.products'],
        target: 'offline',
        format: 'debezium',
        schemas: { inventory },
      },
      { topics: ['canal.inventory'], target: 'offline', schemas: { inventory } },
      { topics: ['maxwell'], target: 'offline', schemas: { test }, tables: ['test.product'] },
    ],
  });
  handler = (await import('../functions/cdc-sync')).handler as unknown as Handler;
});

afterAll(async () => {
  await offline.query(`DROP DATABASE ${inventory}; DROP DATABASE ${test}`);
  await offline.end();
  await closeAllDatabases();
});

async function finalState(table: string): Promise<string[][]> {
  const [rows] = await offline.query(`SELECT id, name, description, weight FROM ${table} ORDER BY id`);
  return (rows as Record<string, string>[]).map((r) => [r.id, r.name, r.description, r.weight] as string[]);
}

describe.each([
  [
    'debezium-mysql-schema-include.jsonl',
    'dbserver1.inventory.products',
    () => `${inventory}.products`,
    debeziumFinal,
  ],
  ['canal-flat.jsonl', 'canal.inventory', () => `${inventory}.products2`, canalMaxwellFinal],
  ['maxwell.jsonl', 'maxwell', () => `${test}.product`, canalMaxwellFinal],
])('recorded %s', (file, topic, table, expected) => {
  it('reaches the documented final state as one batch, and again when the batch is replayed', async () => {
    const records = lines(file).map((value) => ({ topic, value }));
    const first = await handler(mskEvent(records), lambdaContext());
    expect(first.deadLettered).toBe(0);
    expect(await finalState(table())).toEqual(expected);
    await handler(mskEvent(records), lambdaContext());
    expect(await finalState(table())).toEqual(expected);
  });

  it('reaches it one message per invocation too', async () => {
    await offline.query(`TRUNCATE TABLE ${table()}`);
    for (const value of lines(file)) await handler(mskEvent([{ topic, value }]), lambdaContext());
    expect(await finalState(table())).toEqual(expected);
  });
});
