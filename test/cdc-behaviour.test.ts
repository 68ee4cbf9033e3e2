import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { closeAllDatabases } from '../shared/db/connection';
import { schemaCacheStats } from '../shared/schema/cache';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';
import { lambdaContext, mskEvent } from './support/kafka';

type Handler = (event: unknown, context: unknown) => Promise<BatchSummary>;
type Row = Record<string, string | number | null>;

/**
 * Planning semantics, one behaviour per test, checked on the offline table's contents. Messages are
 * bare Debezium payloads built by hand (the wire formats themselves are covered elsewhere).
 */
const online = uniqueSchema('beh');
const offlineSchema = `${online}_off`;
let offline: Connection;
let handler: Handler;

const T_OVERWRITE = 'beh.overwrite';
const T_SKIP = 'beh.skip';
const T_FILTERED = 'beh.filtered';
const T_DDL = 'beh.ddl';

function dbz(op: 'c' | 'u' | 'd' | 'r' | 't', table: string, before: Row | null, after: Row | null): string {
  return JSON.stringify({
    op,
    source: { db: online, table, ts_ms: Date.now() - 1000 },
    before,
    after,
    ts_ms: Date.now(),
  });
}

async function send(topic: string, values: (string | null)[]): Promise<BatchSummary> {
  return handler(mskEvent(values.map((value) => ({ topic, value }))), lambdaContext());
}

async function rows(table = 'cfg'): Promise<unknown[]> {
  const [r] = await offline.query(`SELECT * FROM \`${offlineSchema}\`.${table} ORDER BY id`);
  return r as unknown[];
}

const CFG = `(id INT PRIMARY KEY, name VARCHAR(32) NOT NULL, v VARCHAR(32), extra VARCHAR(16) DEFAULT 'keep',
  UNIQUE KEY uk_name (name)) DEFAULT CHARSET=utf8mb4`;

beforeAll(async () => {
  offline = await rawConnection(offlineUrl());
  await offline.query(`CREATE DATABASE \`${offlineSchema}\` CHARACTER SET utf8mb4`);
  await offline.query(`CREATE TABLE \`${offlineSchema}\`.cfg ${CFG}`);
  await offline.query(`CREATE TABLE \`${offlineSchema}\`.nokey (a INT, b INT)`);
  useConfig({
    databases: {
      online: { role: 'online', url: onlineUrl() },
      offline: { role: 'offline', url: offlineUrl() },
    },
    cdc: [
      { topics: [T_OVERWRITE], target: 'offline', schemas: { [online]: offlineSchema }, applyTruncate: true },
      { topics: [T_SKIP], target: 'offline', schemas: { [online]: offlineSchema }, onConflict: 'skip' },
      { topics: [T_DDL], target: 'offline', schemas: { [online]: offlineSchema }, applyDdl: true },
      {
        topics: [T_FILTERED],
        target: 'offline',
        schemas: { [online]: offlineSchema },
        tables: [`${online}.cf?`],
        operations: ['insert', 'update'],
      },
    ],
  });
  handler = (await import('../functions/cdc-sync')).handler as unknown as Handler;
});

beforeEach(async () => {
  await offline.query(`TRUNCATE TABLE \`${offlineSchema}\`.cfg`);
});

afterAll(async () => {
  await offline.query(`DROP DATABASE \`${offlineSchema}\``);
  await offline.end();
  await closeAllDatabases();
});

const r = (id: number, name: string, v: string | null = null): Row => ({ id, name, v });

describe('insert, update, delete', () => {
  it('applies them in order and coalesces changes to one key into the net effect', async () => {
    const summary = await send(T_OVERWRITE, [
      dbz('c', 'cfg', null, r(1, 'a', 'x')),
      dbz('c', 'cfg', null, r(2, 'b')),
      dbz('u', 'cfg', r(1, 'a', 'x'), r(1, 'a', 'y')),
      dbz('u', 'cfg', r(1, 'a', 'y'), r(1, 'a', 'z')),
      dbz('d', 'cfg', r(2, 'b'), null),
      dbz('c', 'cfg', null, r(2, 'b2')),
      dbz('c', 'cfg', null, r(3, 'c')),
      dbz('d', 'cfg', r(3, 'c'), null),
    ]);
    expect(await rows()).toEqual([
      { id: '1', name: 'a', v: 'z', extra: 'keep' },
      { id: '2', name: 'b2', v: null, extra: 'keep' },
    ]);
    expect(summary.tables[`offline/${offlineSchema}.cfg`]).toMatchObject({ inserted: 4, deleted: 2 });
  });

  it('keeps offline-only columns on update and gives them defaults on insert', async () => {
    await offline.query(`INSERT INTO \`${offlineSchema}\`.cfg VALUES (1, 'a', 'old', 'mine')`);
    await send(T_OVERWRITE, [
      dbz('u', 'cfg', r(1, 'a', 'old'), r(1, 'a', 'new')),
      dbz('c', 'cfg', null, r(2, 'b')),
    ]);
    expect(await rows()).toEqual([
      { id: '1', name: 'a', v: 'new', extra: 'mine' },
      { id: '2', name: 'b', v: null, extra: 'keep' },
    ]);
  });

  it('writes auto-increment keys explicitly, 0 included, so offline ids equal online ids', async () => {
    await offline.query(
      `CREATE TABLE IF NOT EXISTS \`${offlineSchema}\`.ai (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(8))`,
    );
    await send(T_OVERWRITE, [
      dbz('c', 'ai', null, { id: 1000, v: 'a' }),
      dbz('c', 'ai', null, { id: 0, v: 'zero' }),
      dbz('c', 'ai', null, { id: 7, v: 'b' }),
    ]);
    expect((await offline.query(`SELECT id, v FROM \`${offlineSchema}\`.ai ORDER BY id`))[0]).toEqual([
      { id: '0', v: 'zero' },
      { id: '7', v: 'b' },
      { id: '1000', v: 'a' },
    ]);
  });

  it('turns a primary-key change into delete + insert', async () => {
    await send(T_OVERWRITE, [
      dbz('c', 'cfg', null, r(1, 'a', 'x')),
      dbz('u', 'cfg', r(1, 'a', 'x'), r(10, 'a', 'x')),
    ]);
    expect(await rows()).toEqual([{ id: '10', name: 'a', v: 'x', extra: 'keep' }]);
  });

  it('swaps unique values between rows without a false conflict', async () => {
    await send(T_OVERWRITE, [dbz('c', 'cfg', null, r(1, 'a')), dbz('c', 'cfg', null, r(2, 'b'))]);
    const summary = await send(T_OVERWRITE, [
      dbz('u', 'cfg', r(1, 'a'), r(1, 'tmp')),
      dbz('u', 'cfg', r(2, 'b'), r(2, 'a')),
      dbz('u', 'cfg', r(1, 'tmp'), r(1, 'b')),
    ]);
    expect(await rows()).toEqual([
      { id: '1', name: 'b', v: null, extra: 'keep' },
      { id: '2', name: 'a', v: null, extra: 'keep' },
    ]);
    expect(summary.tables[`offline/${offlineSchema}.cfg`]?.conflicts).toBe(0);
  });

  it('treats a replayed batch as a no-op', async () => {
    const batch = [
      dbz('c', 'cfg', null, r(1, 'a')),
      dbz('u', 'cfg', r(1, 'a'), r(1, 'a', 'v')),
      dbz('c', 'cfg', null, r(2, 'b')),
    ];
    await send(T_OVERWRITE, batch);
    const once = await rows();
    await send(T_OVERWRITE, batch);
    await send(T_OVERWRITE, batch);
    expect(await rows()).toEqual(once);
  });

  it('skips tombstones and applies truncate only where allowed', async () => {
    await send(T_OVERWRITE, [dbz('c', 'cfg', null, r(1, 'a')), null]);
    await send(T_SKIP, [dbz('t', 'cfg', null, null)]);
    expect(await rows()).toHaveLength(1);
    await send(T_OVERWRITE, [dbz('t', 'cfg', null, null)]);
    expect(await rows()).toEqual([]);
  });
});

describe('conflict policies', () => {
  beforeEach(async () => {
    await offline.query(
      `INSERT INTO \`${offlineSchema}\`.cfg VALUES (1, 'a', 'offline', 'x'), (5, 'taken', NULL, 'x')`,
    );
  });

  it('overwrite: online wins for an existing key, a missing row is inserted, a unique collision evicts', async () => {
    const summary = await send(T_OVERWRITE, [
      dbz('c', 'cfg', null, r(1, 'a', 'online')),
      dbz('u', 'cfg', r(2, 'b'), r(2, 'b', 'upd')),
      dbz('c', 'cfg', null, r(3, 'taken', 'new')),
    ]);
    expect(await rows()).toEqual([
      { id: '1', name: 'a', v: 'online', extra: 'x' },
      { id: '2', name: 'b', v: 'upd', extra: 'keep' },
      { id: '3', name: 'taken', v: 'new', extra: 'keep' },
    ]);
    expect(summary.tables[`offline/${offlineSchema}.cfg`]).toMatchObject({
      conflicts: 1,
      inserted: 2,
      updated: 1,
    });
  });

  it('skip: leaves existing keys, missing rows and colliding rows alone, counting each', async () => {
    const summary = await send(T_SKIP, [
      dbz('c', 'cfg', null, r(1, 'a', 'online')),
      dbz('u', 'cfg', r(2, 'b'), r(2, 'b', 'upd')),
      dbz('c', 'cfg', null, r(3, 'taken', 'new')),
      dbz('c', 'cfg', null, r(4, 'd')),
    ]);
    expect(await rows()).toEqual([
      { id: '1', name: 'a', v: 'offline', extra: 'x' },
      { id: '4', name: 'd', v: null, extra: 'keep' },
      { id: '5', name: 'taken', v: null, extra: 'x' },
    ]);
    expect(summary.tables[`offline/${offlineSchema}.cfg`]).toMatchObject({
      skipped: 3,
      conflicts: 3,
      inserted: 1,
    });
  });

  it('skip still applies snapshot reads (op r) as upserts', async () => {
    await send(T_SKIP, [dbz('r', 'cfg', null, r(1, 'a', 'snap'))]);
    expect((await rows())[0]).toMatchObject({ id: '1', v: 'snap' });
  });
});

describe('routing and filters', () => {
  it('applies only allowed tables and operations', async () => {
    const summary = await send(T_FILTERED, [
      dbz('c', 'cfg', null, r(1, 'a')),
      dbz('c', 'other', null, r(1, 'a')),
      dbz('d', 'cfg', r(1, 'a'), null),
    ]);
    expect(await rows()).toEqual([{ id: '1', name: 'a', v: null, extra: 'keep' }]);
    expect(summary.filtered).toBe(2);
  });

  it('drops columns the offline table lacks and goes on', async () => {
    const summary = await send(T_OVERWRITE, [
      dbz('c', 'cfg', null, { id: 1, name: 'a', v: 'x', online_only: 'zzz' }),
    ]);
    expect(await rows()).toEqual([{ id: '1', name: 'a', v: 'x', extra: 'keep' }]);
    expect(summary.tables[`offline/${offlineSchema}.cfg`]?.droppedColumns).toBe(1);
  });

  it('dead-letters rows of unknown tables and tables without a usable key; the rest applies', async () => {
    const summary = await send(T_OVERWRITE, [
      dbz('c', 'missing_table', null, r(1, 'a')),
      dbz('c', 'nokey', null, { a: 1, b: 2 }),
      dbz('c', 'cfg', null, { id: 'not a number', name: 'q' }),
      dbz('c', 'cfg', null, r(7, 'g')),
    ]);
    expect(summary.deadLettered).toBe(3);
    expect(await rows()).toEqual([{ id: '7', name: 'g', v: null, extra: 'keep' }]);
  });
});

describe('schema cache', () => {
  it('a warm invocation issues no introspection; a DDL message or a changed table refreshes it', async () => {
    await send(T_OVERWRITE, [dbz('c', 'cfg', null, r(1, 'a'))]);
    const before = schemaCacheStats.introspections;
    await send(T_OVERWRITE, [dbz('c', 'cfg', null, r(2, 'b'))]);
    expect(schemaCacheStats.introspections).toBe(before);

    // The offline table gains a column; a DDL message tells us, the next row may use it.
    await offline.query(`ALTER TABLE \`${offlineSchema}\`.cfg ADD COLUMN added INT NULL`);
    const ddl = JSON.stringify({
      source: { db: online, table: 'cfg' },
      databaseName: online,
      ddl: 'ALTER TABLE cfg ADD COLUMN added INT NULL',
      tableChanges: [{ type: 'ALTER', id: `"${online}"."cfg"` }],
    });
    await send(T_OVERWRITE, [ddl, dbz('c', 'cfg', null, { ...r(3, 'c'), added: 42 })]);
    expect(schemaCacheStats.introspections).toBe(before + 1);
    const [added] = await offline.query(`SELECT added FROM \`${offlineSchema}\`.cfg WHERE id = 3`);
    expect(added).toEqual([{ added: '42' }]);

    // Without a DDL message: a dropped column makes the write fail once, the cache is refreshed, the retry works.
    await offline.query(`ALTER TABLE \`${offlineSchema}\`.cfg DROP COLUMN added`);
    await send(T_OVERWRITE, [dbz('c', 'cfg', null, { ...r(4, 'd'), added: 1 })]);
    expect((await rows()).map((x) => (x as { id: string }).id)).toEqual(['1', '2', '3', '4']);
  });
});

describe('DDL', () => {
  const schemaChange = (sql: string) =>
    JSON.stringify({
      source: { db: online, table: 'ddl_t' },
      databaseName: online,
      ddl: sql,
      tableChanges: [],
    });

  it('executes DDL only where the entry opts in, tolerates replays, refuses statements naming the online schema', async () => {
    await offline.query(`CREATE TABLE \`${offlineSchema}\`.ddl_t (id INT PRIMARY KEY)`);
    const add = schemaChange('ALTER TABLE ddl_t ADD COLUMN note VARCHAR(8)');
    await send(T_OVERWRITE, [add]);
    const columns = async () =>
      ((await offline.query(`SHOW COLUMNS FROM \`${offlineSchema}\`.ddl_t`))[0] as { Field: string }[]).map(
        (c) => c.Field,
      );
    expect(await columns()).toEqual(['id']);
    const applied = await send(T_DDL, [add, dbz('c', 'ddl_t', null, { id: 1, note: 'hi' })]);
    expect(applied.deadLettered).toBe(0);
    expect(await columns()).toEqual(['id', 'note']);
    expect((await offline.query(`SELECT * FROM \`${offlineSchema}\`.ddl_t`))[0]).toEqual([
      { id: '1', note: 'hi' },
    ]);
    expect((await send(T_DDL, [add])).deadLettered).toBe(0);
    const qualified = await send(T_DDL, [schemaChange(`ALTER TABLE \`${online}\`.ddl_t ADD COLUMN x INT`)]);
    expect(qualified.deadLettered).toBe(1);
    expect(await columns()).toEqual(['id', 'note']);
  });
});
