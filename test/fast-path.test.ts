import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchSummary, syncBatch } from '../shared/cdc/sync-batch';
import { fastPathStats } from '../shared/cdc/table-writer';
import { parseConfig } from '../shared/config/load';
import type { SyncConfig } from '../shared/config/schema';
import { closeAllDatabases } from '../shared/db/connection';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema } from './support/env';
import { mskEvent } from './support/kafka';

/**
 * The guarded upsert without lookups must end exactly where the careful path ends. One batch goes to
 * two offline copies of the same table, one with `fastPath: true`, one with `false`; it holds what
 * makes the server refuse the guarded statement (a unique value held by another row, a value too long),
 * a dropped column and a DDL in the middle. Rows, counts and dead letters must be equal.
 */
const src = uniqueSchema('fast');
const fast = `${src}_fast`;
const careful = `${src}_careful`;
let off: Connection;
let config: SyncConfig;

const TABLE = `(id INT PRIMARY KEY, code VARCHAR(8) NOT NULL, v VARCHAR(6), UNIQUE KEY uk_code (code)) DEFAULT CHARSET=utf8mb4`;

const dbz = (op: string, before: unknown, after: unknown) =>
  JSON.stringify({ op, source: { db: src, table: 't' }, before, after });
const ddl = (sql: string) =>
  JSON.stringify({ database: src, table: 't', isDdl: true, type: 'ALTER', sql, data: null });

/** Each batch holds one reason for the server to refuse the guarded statement. */
const BATCHES = [
  [
    dbz('c', null, { id: 3, code: 'c', v: 'new' }),
    dbz('c', null, { id: 4, code: 'd', v: 'new' }),
    dbz('u', { id: 1, code: 'a', v: 'old' }, { id: 1, code: 'a', v: 'upd' }),
    // A unique value another offline row holds: overwrite evicts that row (unguarded, row 2 would be overwritten).
    dbz('c', null, { id: 6, code: 'b', v: 'steal' }),
  ],
  [
    dbz('c', null, { id: 11, code: 'k', v: 'ok' }),
    // Too long for v(6): dead-lettered, the rest goes on.
    dbz('c', null, { id: 7, code: 'g', v: 'much too long' }),
  ],
  [
    // A column the offline table lacks: dropped.
    dbz('c', null, { id: 8, code: 'h', v: 'x', extra: 'dropped' }),
    dbz('c', null, { id: 12, code: 'l', v: 'x' }),
    ddl('ALTER TABLE t ADD COLUMN w INT NULL'),
    dbz('c', null, { id: 9, code: 'i', v: 'after', w: 9 }),
    dbz('c', null, { id: 10, code: 'j', v: 'after', w: 10 }),
    dbz('d', { id: 4, code: 'd', v: 'new' }, null),
  ],
];

async function rows(schema: string): Promise<unknown[]> {
  const [r] = await off.query(`SELECT * FROM \`${schema}\`.t ORDER BY id`);
  return r as unknown[];
}

async function letters(topic: string): Promise<unknown[]> {
  const [r] = await off.query(
    'SELECT kafka_offset - (SELECT MIN(kafka_offset) FROM cdc_mirror.dead_letters d2 WHERE d2.topic = d.topic) AS n, error_class, error FROM cdc_mirror.dead_letters d WHERE topic = ? ORDER BY kafka_offset',
    [topic],
  );
  return r as unknown[];
}

const counts = (s: BatchSummary, schema: string) => s.tables[`offline/${schema}.t`];

beforeAll(async () => {
  off = await rawConnection(offlineUrl());
  for (const schema of [fast, careful]) {
    await off.query(`CREATE DATABASE \`${schema}\``);
    await off.query(`CREATE TABLE \`${schema}\`.t ${TABLE}`);
    await off.query(`INSERT INTO \`${schema}\`.t VALUES (1, 'a', 'old'), (2, 'b', 'keep')`);
  }
  config = parseConfig({
    databases: {
      online: { role: 'online', url: onlineUrl() },
      offline: { role: 'offline', url: offlineUrl() },
    },
    cdc: [
      { topics: ['fast'], target: 'offline', schemas: { [src]: fast }, applyDdl: true, fastPath: true },
      {
        topics: ['careful'],
        target: 'offline',
        schemas: { [src]: careful },
        applyDdl: true,
        fastPath: false,
      },
    ],
  });
});

afterAll(async () => {
  await closeAllDatabases();
  for (const schema of [fast, careful]) await off.query(`DROP DATABASE \`${schema}\``);
  await off.end();
});

describe('the fast path', () => {
  it('ends exactly where the careful path ends, falling back for what the server refuses', async () => {
    const before = { ...fastPathStats };
    const send = async (topic: string) => {
      const summaries: BatchSummary[] = [];
      for (const batch of BATCHES) {
        summaries.push(
          await syncBatch(mskEvent(batch.map((value) => ({ topic, value }))), config, () => 60_000),
        );
      }
      return summaries;
    };
    const viaFast = await send('fast');
    const afterFast = { ...fastPathStats };
    const viaCareful = await send('careful');

    // The guarded statement ran, and the server sent some rows the careful way.
    expect(afterFast.statements).toBeGreaterThan(before.statements);
    expect(afterFast.fallbacks).toBeGreaterThan(before.fallbacks);
    // The careful entry never tried it.
    expect(fastPathStats.statements).toBe(afterFast.statements);

    expect(await rows(fast)).toEqual(await rows(careful));
    expect(await rows(fast)).toEqual([
      { id: '1', code: 'a', v: 'upd', w: null },
      { id: '3', code: 'c', v: 'new', w: null },
      { id: '6', code: 'b', v: 'steal', w: null },
      { id: '8', code: 'h', v: 'x', w: null },
      { id: '9', code: 'i', v: 'after', w: '9' },
      { id: '10', code: 'j', v: 'after', w: '10' },
      { id: '11', code: 'k', v: 'ok', w: null },
      { id: '12', code: 'l', v: 'x', w: null },
    ]);
    viaFast.forEach((s, i) => {
      const other = viaCareful[i] as BatchSummary;
      expect(counts(s, fast)).toEqual(counts(other, careful));
      expect(s.deadLettered).toBe(other.deadLettered);
    });
    expect(await letters('fast')).toEqual(await letters('careful'));
  });

  it('applies a clean insert-and-update batch with no lookups and counts what the server did', async () => {
    const before = { ...fastPathStats };
    const clean = [
      dbz('c', null, { id: 20, code: 'x1', v: 'a' }),
      dbz('c', null, { id: 21, code: 'x2', v: 'a' }),
      dbz('u', { id: 1, code: 'a', v: 'upd' }, { id: 1, code: 'a', v: 'again' }),
    ];
    const summary = await syncBatch(
      mskEvent(clean.map((value) => ({ topic: 'fast', value }))),
      config,
      () => 60_000,
    );
    expect(fastPathStats.statements - before.statements).toBe(1);
    expect(fastPathStats.fallbacks).toBe(before.fallbacks);
    expect(counts(summary, fast)).toMatchObject({ inserted: 2, updated: 1, failed: 0 });
  });
});

describe('pipelined statements', () => {
  const pipe = `${src}_pipe`;
  const ordered = `${src}_ordered`;
  let pipeConfig: SyncConfig;

  beforeAll(async () => {
    for (const schema of [pipe, ordered]) {
      await off.query(`CREATE DATABASE \`${schema}\``);
      await off.query(`CREATE TABLE \`${schema}\`.t ${TABLE}`);
      await off.query(`INSERT INTO \`${schema}\`.t VALUES (9999, 'taken', 'off')`);
    }
    // A target of its own: after a refusal a target runs sequentially for a while.
    pipeConfig = parseConfig({
      databases: { pipe: { role: 'offline', url: offlineUrl() } },
      cdc: [
        { topics: ['pipe'], target: 'pipe', schemas: { [src]: pipe } },
        { topics: ['ordered'], target: 'pipe', schemas: { [src]: ordered }, fastPath: false },
      ],
    });
  });

  afterAll(async () => {
    for (const schema of [pipe, ordered]) await off.query(`DROP DATABASE IF EXISTS \`${schema}\``);
  });

  it('roll back whole when the server refuses one, so an older row never lands over a newer one', async () => {
    // 500 inserts fill the first statement, sent before the rest is read; one of them takes a unique
    // value an offline row holds, so the server refuses that statement after later ones were sent.
    const batch = [
      ...Array.from({ length: 500 }, (_, i) =>
        dbz('c', null, { id: i + 1, code: i === 4 ? 'taken' : `c${i + 1}`, v: 'old' }),
      ),
      // In the second statement: a newer image of row 4, which the refused first statement held too.
      dbz('u', { id: 4, code: 'c4', v: 'old' }, { id: 4, code: 'c4', v: 'newer' }),
      ...Array.from({ length: 200 }, (_, i) => dbz('c', null, { id: 501 + i, code: `c${501 + i}`, v: 'x' })),
    ];
    const before = { ...fastPathStats };
    const viaPipe = await syncBatch(
      mskEvent(batch.map((value) => ({ topic: 'pipe', value }))),
      pipeConfig,
      () => 60_000,
    );
    expect(fastPathStats.reruns - before.reruns).toBe(1);
    const viaOrder = await syncBatch(
      mskEvent(batch.map((value) => ({ topic: 'ordered', value }))),
      pipeConfig,
      () => 60_000,
    );
    expect(await rows(pipe)).toEqual(await rows(ordered));
    const [found] = await off.query(
      `SELECT id, code, v FROM \`${pipe}\`.t WHERE id IN (4, 5, 9999) ORDER BY id`,
    );
    const [row4, row5, evicted] = found as unknown[];
    expect(row4).toEqual({ id: '4', code: 'c4', v: 'newer' });
    expect(row5).toEqual({ id: '5', code: 'taken', v: 'old' });
    expect(evicted).toBeUndefined();
    const pipeCounts = viaPipe.tables[`pipe/${pipe}.t`];
    expect(pipeCounts).toEqual(viaOrder.tables[`pipe/${ordered}.t`]);
    expect(pipeCounts).toMatchObject({ inserted: 700, updated: 0, conflicts: 1, failed: 0 });
  });
});

describe('column names that are also JavaScript object keys', () => {
  const names = `${src}_names`;

  afterAll(async () => {
    await off.query(`DROP DATABASE IF EXISTS \`${names}\``);
  });

  it('keeps `__proto__`, `constructor` and `toString` columns, through both paths and every format', async () => {
    await off.query(`CREATE DATABASE \`${names}\``);
    await off.query(
      `CREATE TABLE \`${names}\`.t (id INT PRIMARY KEY, \`__proto__\` VARCHAR(8), \`constructor\` VARCHAR(8), \`toString\` VARCHAR(8))`,
    );
    const row = (id: number) =>
      `{"id":${id},"__proto__":"p${id}","constructor":"c${id}","toString":"t${id}"}`;
    const messages = [
      `{"op":"c","source":{"db":"${src}","table":"t"},"before":null,"after":${row(1)}}`,
      `{"op":"c","source":{"db":"${src}","table":"t"},"before":null,"after":${row(2)}}`,
      `{"data":[${row(3)}],"database":"${src}","table":"t","isDdl":false,"type":"INSERT","pkNames":["id"]}`,
      `{"database":"${src}","table":"t","type":"insert","ts":1,"data":${row(4)}}`,
    ];
    for (const fastPath of [true, false]) {
      await off.query(`TRUNCATE TABLE \`${names}\`.t`);
      const namesConfig = parseConfig({
        databases: { offline: { role: 'offline', url: offlineUrl() } },
        cdc: [{ topics: ['names'], target: 'offline', schemas: { [src]: names }, fastPath }],
      });
      const summary = await syncBatch(
        mskEvent(messages.map((value) => ({ topic: 'names', value }))),
        namesConfig,
        () => 60_000,
      );
      expect(summary.deadLettered).toBe(0);
      const [got] = await off.query(
        `SELECT id, \`__proto__\` AS p, \`constructor\` AS c, \`toString\` AS s FROM \`${names}\`.t ORDER BY id`,
      );
      expect(got).toEqual(
        [1, 2, 3, 4].map((id) => ({ id: String(id), p: `p${id}`, c: `c${id}`, s: `t${id}` })),
      );
    }
  });
});
