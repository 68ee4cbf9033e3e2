import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../shared/config/load';
import { DatabaseUnreachableError, getOnlineDatabase } from '../shared/db/connection';
import { classifyError } from '../shared/db/errors';
import { withRetry } from '../shared/db/retry';
import { freePort } from './harness/mysql-server';
import { offlineUrl, rawConnection, uniqueSchema } from './support/env';

/** Real errors from a real server, classified in the one place that decides retry vs dead letter. */
describe('classifyError', () => {
  const schema = uniqueSchema('err');
  let a: mysql.Connection;
  let b: mysql.Connection;
  beforeAll(async () => {
    a = await rawConnection(offlineUrl());
    b = await rawConnection(offlineUrl());
    await a.query(
      `CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY, v VARCHAR(3) NOT NULL)`,
    );
    await a.query(`INSERT INTO ${schema}.t VALUES (1, 'a'), (2, 'b')`);
  });
  afterAll(async () => {
    await a.query(`DROP DATABASE ${schema}`);
    await a.end();
    await b.end();
  });

  const errorOf = async (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    );

  it.each([
    ['duplicate key', 'INSERT INTO %s.t VALUES (1, "x")', 'data'],
    ['value too long', 'INSERT INTO %s.t VALUES (3, "toolong")', 'data'],
    ['NULL into NOT NULL', 'INSERT INTO %s.t VALUES (3, NULL)', 'data'],
    ['out of range', 'INSERT INTO %s.t VALUES (99999999999, "x")', 'data'],
    ['unknown column', 'INSERT INTO %s.t (id, nope) VALUES (3, 1)', 'schema'],
    ['unknown table', 'SELECT * FROM %s.missing', 'schema'],
    ['syntax error (a bug, not data)', 'SELEKT 1', 'fatal'],
  ])('%s → %s', async (_what, sql, expected) => {
    const err = await errorOf(a.query(sql.replace('%s', schema)));
    expect(err).toBeDefined();
    expect(classifyError(err)).toBe(expected);
  });

  it('lock wait timeout → transient', async () => {
    await a.query('START TRANSACTION');
    await a.query(`UPDATE ${schema}.t SET v = 'z' WHERE id = 1`);
    await b.query('SET SESSION innodb_lock_wait_timeout = 1');
    const err = await errorOf(b.query(`UPDATE ${schema}.t SET v = 'y' WHERE id = 1`));
    await a.query('ROLLBACK');
    expect((err as { errno: number }).errno).toBe(1205);
    expect(classifyError(err)).toBe('transient');
  });

  it('deadlock → transient', async () => {
    await a.query('START TRANSACTION');
    await b.query('START TRANSACTION');
    await a.query(`UPDATE ${schema}.t SET v = 'p' WHERE id = 1`);
    await b.query(`UPDATE ${schema}.t SET v = 'q' WHERE id = 2`);
    const first = a.query(`UPDATE ${schema}.t SET v = 'p' WHERE id = 2`).then(
      () => undefined,
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 200));
    const second = await errorOf(b.query(`UPDATE ${schema}.t SET v = 'q' WHERE id = 1`));
    const err = second ?? (await first);
    await a.query('ROLLBACK').catch(() => undefined);
    await b.query('ROLLBACK').catch(() => undefined);
    await first;
    expect((err as { errno: number }).errno).toBe(1213);
    expect(classifyError(err)).toBe('transient');
  });

  it('connection refused and a killed connection → transient', async () => {
    const port = await freePort();
    expect(
      classifyError(await errorOf(mysql.createConnection({ host: '127.0.0.1', port, user: 'root' }))),
    ).toBe('transient');
    const victim = await rawConnection(offlineUrl());
    const [[{ id }]] = (await victim.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: string }]];
    await a.query(`KILL ${id}`);
    const err = await errorOf(victim.query('SELECT 1'));
    expect(classifyError(err)).toBe('transient');
    victim.destroy();
  });

  it('a database no server answers for is named in the error, which stays transient', async () => {
    const port = await freePort();
    const config = parseConfig({
      databases: { qa_db: { role: 'online', url: `mysql://root@127.0.0.1:${port}` } },
    });
    const err = await errorOf(getOnlineDatabase('qa_db', config));
    expect(err).toBeInstanceOf(DatabaseUnreachableError);
    expect((err as Error).message).toBe(
      `cannot reach database "qa_db" at 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(classifyError(err)).toBe('transient');
  });
});

describe('withRetry', () => {
  const transient = Object.assign(new Error('gone'), { code: 'PROTOCOL_CONNECTION_LOST' });
  const data = Object.assign(new Error('dup'), { errno: 1062 });

  it('retries transient errors until success', async () => {
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls += 1;
        if (calls < 3) throw transient;
        return 'ok';
      },
      { remainingMs: () => 60_000, baseDelayMs: 1 },
    );
    expect([result, calls]).toEqual(['ok', 3]);
  });

  it('does not retry data errors, and gives up when the invocation runs out of time', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => Promise.reject(data).finally(() => calls++), { remainingMs: () => 60_000 }),
    ).rejects.toBe(data);
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      withRetry(async () => Promise.reject(transient).finally(() => calls++), {
        remainingMs: () => 1_000,
        baseDelayMs: 1,
      }),
    ).rejects.toBe(transient);
    expect(calls).toBe(1);
  });
});
