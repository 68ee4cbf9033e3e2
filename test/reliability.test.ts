import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { closeAllDatabases } from '../shared/db/connection';
import { startThrowawayServer, type ThrowawayServer } from './harness/mysql-server';
import { onlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';
import { lambdaContext, mskEvent } from './support/kafka';
import { diffRows, runSoak } from './support/soak';
import { CapturingWorkload, rng, tableChecksums, WORKLOAD_TABLES } from './support/workload';

type Handler = (event: unknown, context: unknown) => Promise<BatchSummary>;

/**
 * Faults against a private offline server (so it can be killed): crashes, killed connections, held
 * locks, re-deliveries and poison records. After each, the offline tables must equal the online ones.
 */
const schema = uniqueSchema('rel');
const TOPIC = 'reliability.changes';
let server: ThrowawayServer;
let online: Connection;
let handler: Handler;
let workload: CapturingWorkload;

async function offlineConn(): Promise<Connection> {
  return rawConnection(server.url);
}

async function converged(): Promise<void> {
  const off = await offlineConn();
  try {
    expect(await tableChecksums(off, schema)).toEqual(await tableChecksums(online, schema));
  } finally {
    await off.end();
  }
}

/** Delivers like Lambda does: an invocation that throws is retried with the same batch. */
async function deliverUntilDone(
  values: (string | null)[],
  offsets: number[],
  maxTries = 5,
): Promise<BatchSummary> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await handler(
        mskEvent(
          values.map((value) => ({ topic: TOPIC, value })),
          offsets,
        ),
        lambdaContext(),
      );
    } catch (err) {
      if (attempt >= maxTries) throw err;
    }
  }
}

let offsetSeq = 0;
const offsetsFor = (n: number) => Array.from({ length: n }, () => offsetSeq++);

async function resetOffline(): Promise<void> {
  const off = await offlineConn();
  for (const table of Object.keys(WORKLOAD_TABLES)) await off.query(`TRUNCATE TABLE \`${schema}\`.${table}`);
  await off.end();
}

beforeAll(async () => {
  server = await startThrowawayServer();
  online = await rawConnection(onlineUrl());
  workload = new CapturingWorkload(online, schema, rng(7), [
    'debezium',
    'debezium-noschema',
    'canal',
    'maxwell',
  ]);
  await workload.setup();
  const off = await offlineConn();
  await off.query(`CREATE DATABASE \`${schema}\` CHARACTER SET utf8mb4`);
  for (const [name, ddl] of Object.entries(WORKLOAD_TABLES))
    await off.query(`CREATE TABLE \`${schema}\`.${name} ${ddl}`);
  await off.end();
  useConfig({
    databases: {
      online: { role: 'online', url: onlineUrl() },
      offline: { role: 'offline', url: server.url, connectTimeoutMs: 2000 },
    },
    cdc: [{ topics: [TOPIC], target: 'offline' }],
  });
  handler = (await import('../functions/cdc-sync')).handler as unknown as Handler;
  for (let i = 0; i < 400; i++) await workload.step();
}, 120_000);

afterAll(async () => {
  await closeAllDatabases();
  await online.query(`DROP DATABASE \`${schema}\``);
  await online.end();
  await server.stop();
});

describe('re-deliveries', () => {
  it('the same batch three times, then overlapping batches, converge', async () => {
    await resetOffline();
    const msgs = workload.messages;
    const offsets = offsetsFor(msgs.length);
    for (let i = 0; i < 3; i++) await deliverUntilDone(msgs, offsets);
    await converged();
    await resetOffline();
    // Overlaps, as after a partial failure: every window starts before the previous one ended.
    for (let start = 0; start < msgs.length; start += 70) {
      const from = Math.max(0, start - 30);
      await deliverUntilDone(msgs.slice(from, start + 70), offsets.slice(from, start + 70));
    }
    await converged();
  });
});

describe('poison records', () => {
  it('are dead-lettered once each while every good record applies in order', async () => {
    await resetOffline();
    const good = workload.messages;
    const tooLong = JSON.stringify({
      op: 'c',
      source: { db: schema, table: 'kv', ts_ms: Date.now() },
      before: null,
      after: { id: 999_999, uk: 'poison', n: 1, note: 'x'.repeat(200) },
    });
    const unknownTable = JSON.stringify({
      op: 'c',
      source: { db: schema, table: 'nope', ts_ms: Date.now() },
      before: null,
      after: { id: 1 },
    });
    const mid = Math.floor(good.length / 2);
    const batch = [
      '{not json',
      ...good.slice(0, mid),
      tooLong,
      unknownTable,
      ...good.slice(mid),
      '{"op":"?"}',
    ];
    const offsets = offsetsFor(batch.length);
    const first = await deliverUntilDone(batch, offsets);
    expect(first.deadLettered).toBe(4);
    await converged();
    const replay = await deliverUntilDone(batch, offsets);
    expect(replay.deadLettered).toBe(4);
    await converged();
    const off = await offlineConn();
    const [letters] = await off.query(
      'SELECT kafka_offset, error_class, attempts, status FROM cdc_mirror.dead_letters WHERE topic = ? AND kafka_offset IN (?) ORDER BY kafka_offset',
      [TOPIC, [offsets[0], offsets[mid + 1], offsets[mid + 2], offsets[batch.length - 1]]],
    );
    await off.end();
    expect(letters).toEqual([
      { kafka_offset: String(offsets[0]), error_class: 'decode', attempts: '2', status: 'open' },
      { kafka_offset: String(offsets[mid + 1]), error_class: 'value', attempts: '2', status: 'open' },
      { kafka_offset: String(offsets[mid + 2]), error_class: 'table', attempts: '2', status: 'open' },
      {
        kafka_offset: String(offsets[batch.length - 1]),
        error_class: 'decode',
        attempts: '2',
        status: 'open',
      },
    ]);
  });
});

describe('faults while applying', () => {
  it('survives the offline server being SIGKILLed mid-batch and restarted', async () => {
    await resetOffline();
    for (let i = 0; i < 600; i++) await workload.step();
    const msgs = [...workload.messages];
    const offsets = offsetsFor(msgs.length);
    // Deterministic: a held row lock parks the batch mid-transaction, then the server dies under it.
    const watcher = await offlineConn();
    await watcher.query('START TRANSACTION');
    await watcher.query(`SELECT * FROM \`${schema}\`.kv FOR UPDATE`);
    await watcher.query(`SELECT * FROM \`${schema}\`.mixed FOR UPDATE`);
    let results: BatchSummary[] = [];
    const delivery = deliverUntilDone(msgs, offsets, 10).then((r) => {
      results = [r];
    });
    let inFlight = false;
    for (let i = 0; i < 400 && !inFlight && results.length === 0; i++) {
      const [procs] = await watcher.query(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND = 'Query'",
      );
      inFlight = Number((procs as { n: string }[])[0]?.n) > 0;
      if (!inFlight) await new Promise((r) => setTimeout(r, 10));
    }
    expect(inFlight).toBe(true);
    watcher.destroy();
    await server.kill();
    await new Promise((r) => setTimeout(r, 500));
    await server.restart();
    await delivery;
    await converged();
  });

  it('survives its connection being killed from another session mid-transaction', async () => {
    await resetOffline();
    const msgs = [...workload.messages];
    const offsets = offsetsFor(msgs.length);
    // Deterministic: a held row lock parks the batch mid-transaction; that connection is then killed.
    await deliverUntilDone(msgs.slice(0, 50), offsets.slice(0, 50));
    const holder = await offlineConn();
    await holder.query('START TRANSACTION');
    await holder.query(`SELECT * FROM \`${schema}\`.kv FOR UPDATE`);
    await holder.query(`SELECT * FROM \`${schema}\`.mixed FOR UPDATE`);
    const [[me]] = (await holder.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: string }]];
    const killer = await offlineConn();
    const delivery = deliverUntilDone(msgs, offsets, 10);
    let killed = 0;
    for (let i = 0; i < 400 && killed === 0; i++) {
      const [procs] = await killer.query(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE ID NOT IN (CONNECTION_ID(), ?) AND COMMAND = 'Query'",
        [me.id],
      );
      for (const p of procs as { ID: string }[]) {
        await killer.query(`KILL ${p.ID}`).catch(() => undefined);
        killed += 1;
      }
      if (killed === 0) await new Promise((r) => setTimeout(r, 10));
    }
    await holder.query('ROLLBACK');
    await holder.end();
    await delivery;
    await killer.end();
    expect(killed).toBeGreaterThan(0);
    await converged();
  });

  it('waits out a row lock held past the lock wait timeout', async () => {
    await resetOffline();
    const msgs = [...workload.messages];
    const offsets = offsetsFor(msgs.length);
    await deliverUntilDone(msgs, offsets);
    const holder = await offlineConn();
    await holder.query('SET GLOBAL innodb_lock_wait_timeout = 1');
    await holder.query('START TRANSACTION');
    await holder.query(`SELECT * FROM \`${schema}\`.kv FOR UPDATE`);
    await holder.query(`SELECT * FROM \`${schema}\`.mixed FOR UPDATE`);
    for (let i = 0; i < 100; i++) await workload.step();
    const more = workload.messages.slice(msgs.length);
    const delivery = deliverUntilDone(more, offsetsFor(more.length), 10);
    await new Promise((r) => setTimeout(r, 2500));
    await holder.query('ROLLBACK');
    await holder.query('SET GLOBAL innodb_lock_wait_timeout = 50');
    await holder.end();
    await delivery;
    await converged();
  });
});

describe('convergence soak (short)', () => {
  it('random batches, re-deliveries and connection kills drain to equal checksums and rows', async () => {
    await resetOffline();
    // Catch the offline side up with the whole history so far, then soak from there.
    const history = workload.messages.splice(0);
    await deliverUntilDone(history, offsetsFor(history.length));
    const killer = await offlineConn();
    const report = await runSoak({
      workload,
      handler,
      topic: TOPIC,
      events: 1500,
      seed: 42,
      killer,
      faultRate: 0.15,
    });
    expect(report.faultsInjected).toBeGreaterThan(0);
    await converged();
    expect(await diffRows(online, killer, schema)).toEqual({ lost: 0, differing: 0 });
    await killer.end();
  });
});
