import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { closeAllDatabases } from '../shared/db/connection';
import { freePort } from './harness/mysql-server';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';
import { httpRequest } from './support/http';
import { lambdaContext, mskEvent } from './support/kafka';

type CdcHandler = (event: unknown, context: unknown) => Promise<BatchSummary>;
type HttpHandler = (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;

const schema = uniqueSchema('dl');
const TOPIC = 'dl.topic';
const PARTIAL = 'dl.partial';
const THROWING = 'dl.throwing';
let offline: Connection;
let cdc: CdcHandler;
let http: HttpHandler;

function get(path: string, query: Record<string, string> = {}) {
  return request('GET', path, query);
}

async function request(method: string, path: string, query: Record<string, string> = {}) {
  const res = await http(httpRequest(method, path, undefined, undefined, query), lambdaContext(30_000));
  return { status: res.statusCode, body: JSON.parse(res.body ?? '{}') };
}

beforeAll(async () => {
  offline = await rawConnection(offlineUrl());
  await offline.query(`CREATE DATABASE ${schema}`);
  const closed = await freePort();
  useConfig({
    databases: {
      online: { role: 'online', url: onlineUrl() },
      offline: { role: 'offline', url: offlineUrl() },
      unreachable: { role: 'offline', url: `mysql://root@127.0.0.1:${closed}`, connectTimeoutMs: 300 },
    },
    cdc: [
      { topics: [TOPIC], target: 'offline' },
      {
        topics: [PARTIAL],
        target: 'unreachable',
        retry: {
          reportBatchItemFailures: true,
          provisionedPollers: { minimumPollers: 1, maximumPollers: 2 },
        },
      },
      { topics: [THROWING], target: 'unreachable' },
    ],
  });
  cdc = (await import('../functions/cdc-sync')).handler as unknown as CdcHandler;
  http = (await import('../functions/manual-sync')).handler as unknown as HttpHandler;
});

afterAll(async () => {
  await offline.query(`DROP DATABASE ${schema}`);
  await offline.end();
  await closeAllDatabases();
});

describe('dead letters', () => {
  it('are listed and, once the cause is fixed, replayed through the normal path', async () => {
    const row = JSON.stringify({
      op: 'c',
      source: { db: schema, table: 'late' },
      before: null,
      after: { id: 5, v: 'x' },
    });
    const summary = await cdc(mskEvent([{ topic: TOPIC, value: row }], [4242]), lambdaContext());
    expect(summary.deadLettered).toBe(1);

    const listed = await get('/dead-letters', { target: 'offline', status: 'open' });
    expect(listed.status).toBe(200);
    const letter = listed.body.deadLetters.find((l: { offset: string }) => l.offset === '4242');
    expect(letter).toMatchObject({
      topic: TOPIC,
      partition: 0,
      errorClass: 'table',
      attempts: 1,
      value: row,
    });
    expect(letter.error).toMatch(/does not exist/);

    // Still broken: the retry says so and the letter stays open.
    const early = await request('POST', `/dead-letters/${letter.id}/retry`, { target: 'offline' });
    expect(early.body.status).toBe('open');

    await offline.query(`CREATE TABLE ${schema}.late (id INT PRIMARY KEY, v VARCHAR(8))`);
    const retried = await request('POST', `/dead-letters/${letter.id}/retry`, { target: 'offline' });
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe('resolved');
    expect((await offline.query(`SELECT * FROM ${schema}.late`))[0]).toEqual([{ id: '5', v: 'x' }]);
    const [[stored]] = (await offline.query(
      'SELECT status, attempts FROM cdc_mirror.dead_letters WHERE id = ?',
      [letter.id],
    )) as unknown as [[{ status: string; attempts: string }]];
    expect(stored).toEqual({ status: 'resolved', attempts: '3' });
  });

  it('answers 404 for an unknown letter and 400 when the target is ambiguous', async () => {
    expect((await request('POST', '/dead-letters/999999999/retry', { target: 'offline' })).status).toBe(404);
    expect((await get('/dead-letters')).status).toBe(400);
  });
});

describe('a target that stays down', () => {
  const value = JSON.stringify({
    op: 'c',
    source: { db: schema, table: 't' },
    before: null,
    after: { id: 1 },
  });

  it('is reported as partial batch failures, per partition from its first offset, when the entry allows it', async () => {
    const event = mskEvent(
      [
        { topic: PARTIAL, partition: 0, value },
        { topic: PARTIAL, partition: 0, value },
        { topic: PARTIAL, partition: 3, value },
      ],
      [70, 71, 12],
    );
    const summary = await cdc(event, lambdaContext(6_000));
    expect(summary.batchItemFailures).toEqual([
      { itemIdentifier: { partition: `${PARTIAL}-0`, offset: 70 } },
      { itemIdentifier: { partition: `${PARTIAL}-3`, offset: 12 } },
    ]);
  });

  it('fails the invocation when the entry does not report partial failures, so Lambda retries', async () => {
    await expect(cdc(mskEvent([{ topic: THROWING, value }]), lambdaContext(6_000))).rejects.toThrow(
      /ECONNREFUSED|connect/,
    );
  });
});
