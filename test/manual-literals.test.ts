import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdentifier } from '../shared/db/identifiers';
import { compileCondition } from '../shared/manual/condition';
import { offlineUrl, rawConnection, uniqueSchema } from './support/env';

/**
 * Manual-sync conditions select exactly the rows MySQL would: number literals keep every digit and
 * compare as decimals, string literals mean what MySQL's own lexer makes of them, date functions and
 * `± INTERVAL n unit` give the instant the server gives the same text.
 */
describe('manual-sync condition literals against a real server', () => {
  const schema = uniqueSchema('literals');
  const table = `${quoteIdentifier(schema)}.t`;
  const columns = ['id', 'price', 'big', 'u', 'name'];
  let conn: mysql.Connection;

  const rows: [number, string | null, string | null, string | null, string | null][] = [
    [1, '1.00000000000000000000', null, null, null],
    [2, '1.00000000000000000001', null, null, null],
    [3, null, '0.12345678901234567890', null, null],
    [4, null, '0.12345678901234567891', null, null],
    [5, null, null, null, 'a;b -- c'],
    [6, null, null, null, '%x'],
    [7, null, null, null, '\\%x'],
    [8, null, null, null, "it's"],
    [9, null, null, '18446744073709551614', null],
    [10, null, null, '18446744073709551615', null],
    [11, null, null, null, 'x /* y */ #z'],
  ];

  beforeAll(async () => {
    conn = await rawConnection(offlineUrl());
    await conn.query(`CREATE DATABASE ${quoteIdentifier(schema)}`);
    await conn.query(
      `CREATE TABLE ${table} (id INT PRIMARY KEY, price DECIMAL(22,20), big DECIMAL(40,20), ` +
        'u BIGINT UNSIGNED, name VARCHAR(64))',
    );
    await conn.query(`INSERT INTO ${table} VALUES ?`, [rows]);
  });

  afterAll(async () => {
    await conn?.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(schema)}`);
    await conn?.end();
  });

  const selected = async (where: string): Promise<number[]> => {
    const { sql, params } = compileCondition(where, columns, quoteIdentifier);
    const [found] = (await conn.query(`SELECT id FROM ${table} WHERE ${sql} ORDER BY id`, params)) as [
      { id: string | number }[],
      unknown,
    ];
    return found.map((r) => Number(r.id));
  };

  it.each([
    ['price = 1.00000000000000000001', [2]],
    ['price = 1.00000000000000000000', [1]],
    ['price = 1', [1]],
    ['price > 1', [2]],
    ['price IN (1.00000000000000000001, 7)', [2]],
    // A bare string parameter compares as a double here and would match both rows.
    ['price BETWEEN 1.00000000000000000001 AND 2', [2]],
    ['price NOT BETWEEN 0 AND 1.00000000000000000000', [2]],
    ['big = 0.12345678901234567890', [3]],
    ['big > 0.12345678901234567890', [4]],
    ['u = 18446744073709551615', [10]],
    ['u BETWEEN 18446744073709551615 AND 18446744073709551615', [10]],
    ['u < 18446744073709551615', [9]],
  ])('numbers: %s selects %j', async (where, ids) => {
    expect(await selected(where)).toEqual(ids);
  });

  it.each([
    ["name = 'a;b -- c'", [5]],
    ["name LIKE '%;b -- %'", [5]],
    ["name = 'x /* y */ #z'", [11]],
    // \% keeps its backslash, so LIKE reads it as a literal %.
    ["name LIKE '\\%x'", [6]],
    ["name LIKE '%\\%%'", [6, 7]],
    ["name = '\\%x'", [7]],
    ["name LIKE '\\\\\\\\%x'", [7]],
    ["name = 'it\\'s'", [8]],
    ["name = 'it''s'", [8]],
    ['name = "it\'s"', [8]],
    ['name = "it\\\'s" OR id = 5', [5, 8]],
    ["name = 'a\\' OR 1=1 -- '", []],
  ])('strings: %s selects %j', async (where, ids) => {
    expect(await selected(where)).toEqual(ids);
  });

  it.each([
    "'a\\0b'",
    "'\\Z'",
    "'\\%\\_'",
    "'\\q\\N\\z\\B'",
    "'\\b\\n\\r\\t'",
    "'\\\\'",
    "'\\\\\\''",
    "'\\\"'",
    "'it''s'",
    '"say ""hi"""',
    '"it\\"s"',
    "'😀\\😀 ünï'",
    "'a;b -- c /* d */ #e'",
    "'‘quoted’'",
  ])('the string %s has the value the server gives it', async (literal) => {
    const { params } = compileCondition(`name = ${literal}`, columns, quoteIdentifier);
    // The literal goes to the server as text only here, to learn what MySQL makes of it.
    const [[server]] = (await conn.query(`SELECT HEX(${literal}) AS h`)) as unknown as [{ h: string }[]];
    expect(Buffer.from(String(params[0]), 'utf8').toString('hex').toUpperCase()).toBe(server?.h);
  });

  describe('dates and intervals', () => {
    const times = `${quoteIdentifier(schema)}.times`;
    const recent = `${quoteIdentifier(schema)}.recent`;
    const timeColumns = ['id', 'updated_at', 'ts', 'd'];
    /** The frozen session's now (SET timestamp): NOW(), CURDATE(), UTC_TIMESTAMP() … all read it. */
    const FROZEN = '2024-03-01 12:00:00';
    let frozen: mysql.Connection;

    // [id, updated_at (also ts, a TIMESTAMP), d]: points just around the boundaries the tests ask about.
    const timeRows: [number, string | null, string | null][] = [
      [1, '2024-02-29 11:59:59.999999', '2024-02-22'],
      [2, '2024-02-29 12:00:00.000000', '2024-02-23'],
      [3, '2024-02-29 12:00:00.000001', '2024-02-24'],
      [4, '2024-03-01 11:59:59.000000', '2024-03-01'],
      [5, '2024-03-01 12:00:00.000000', '2024-03-02'],
      [6, '2024-03-01 12:00:01.000000', '2023-12-01'],
      [7, null, null],
      [8, '2024-02-01 12:00:00.000000', '2023-03-01'],
    ];

    beforeAll(async () => {
      await conn.query(
        `CREATE TABLE ${times} (id INT PRIMARY KEY, updated_at DATETIME(6) NULL, ts TIMESTAMP(6) NULL, d DATE NULL)`,
      );
      await conn.query(`INSERT INTO ${times} VALUES ?`, [timeRows.map(([id, at, d]) => [id, at, at, d])]);
      // Relative to the server's real clock, an hour or more from every boundary.
      await conn.query(`CREATE TABLE ${recent} (id INT PRIMARY KEY, updated_at DATETIME NULL)`);
      await conn.query(
        `INSERT INTO ${recent} VALUES (1, NOW() - INTERVAL 2 DAY), (2, NOW() - INTERVAL 25 HOUR), ` +
          '(3, NOW() - INTERVAL 23 HOUR), (4, NOW()), (5, NOW() + INTERVAL 1 HOUR), (6, NULL)',
      );
      frozen = await rawConnection(offlineUrl());
      await frozen.query('SET timestamp = UNIX_TIMESTAMP(?)', [FROZEN]);
    });

    afterAll(async () => {
      await frozen?.end();
    });

    /** Ids the compiled condition selects, and those the server selects for the same text, in one statement. */
    const both = async (c: mysql.Connection, table: string, where: string) => {
      const { sql, params } = compileCondition(where, timeColumns, quoteIdentifier);
      // The raw text goes to the server only here, in a test, to compare with the server's own reading.
      const [[row]] = (await c.query(
        `SELECT (SELECT GROUP_CONCAT(id ORDER BY id) FROM ${table} WHERE ${sql}) AS ours, ` +
          `(SELECT GROUP_CONCAT(id ORDER BY id) FROM ${table} WHERE ${where}) AS theirs`,
        params,
      )) as unknown as [{ ours: string | null; theirs: string | null }[]];
      const ids = (list: string | null | undefined) => (list ? list.split(',').map(Number) : []);
      return { ours: ids(row?.ours), theirs: ids(row?.theirs) };
    };

    it('the sessions run in UTC: NOW() is UTC_TIMESTAMP()', async () => {
      const [[row]] = (await conn.query(
        'SELECT @@session.time_zone AS tz, NOW() = UTC_TIMESTAMP() AS same',
      )) as unknown as [{ tz: string; same: string | number }[]];
      expect(row).toMatchObject({ tz: '+00:00' });
      expect(Number(row?.same)).toBe(1);
    });

    it.each([
      ['updated_at > NOW() - INTERVAL 1 DAY', [3, 4, 5, 6]],
      ['updated_at >= NOW() - INTERVAL 1 DAY', [2, 3, 4, 5, 6]],
      ['ts > NOW() - INTERVAL 1 DAY', [3, 4, 5, 6]],
      ['NOW() - INTERVAL 1 DAY < updated_at', [3, 4, 5, 6]],
      ['updated_at > UTC_TIMESTAMP() - INTERVAL 24 HOUR', [3, 4, 5, 6]],
      ['updated_at > CURRENT_TIMESTAMP - INTERVAL 86400 SECOND', [3, 4, 5, 6]],
      ['updated_at > current_timestamp() - interval 1440 minute', [3, 4, 5, 6]],
      ['updated_at >= NOW() - INTERVAL 1 MICROSECOND', [5, 6]],
      ['updated_at > NOW()', [6]],
      ['updated_at BETWEEN NOW() - INTERVAL 1 DAY AND NOW()', [2, 3, 4, 5]],
      ['updated_at < NOW() - INTERVAL 1 DAY OR updated_at IS NULL', [1, 7, 8]],
      ['updated_at = NOW() - INTERVAL 1 MONTH', [8]],
      ['updated_at > NOW() - INTERVAL 1 WEEK - INTERVAL 1 DAY AND updated_at < NOW()', [1, 2, 3, 4]],
      ['updated_at > NOW() - INTERVAL 2 DAY + INTERVAL 1 DAY', [3, 4, 5, 6]],
      ['updated_at >= CURDATE()', [4, 5, 6]],
      ['d >= CURDATE() - INTERVAL 7 DAY', [2, 3, 4, 5]],
      ['d > CURRENT_DATE - INTERVAL 7 DAY', [3, 4, 5]],
      ['d = CURDATE()', [4]],
      ['d > CURRENT_DATE() + INTERVAL 0 DAY', [5]],
      ['d = CURDATE() - INTERVAL 1 QUARTER', [6]],
      ['d = CURDATE() - INTERVAL 1 YEAR', [8]],
    ])('at %s (frozen clock) selects %j, as the server reads the text', async (where, ids) => {
      expect(await both(frozen, times, where)).toEqual({ ours: ids, theirs: ids });
    });

    it('updated_at > NOW() - INTERVAL 1 DAY selects exactly the last day on the live clock', async () => {
      expect(await both(conn, recent, 'updated_at > NOW() - INTERVAL 1 DAY')).toEqual({
        ours: [3, 4, 5],
        theirs: [3, 4, 5],
      });
      expect(await both(conn, recent, 'updated_at <= UTC_TIMESTAMP() - INTERVAL 1 DAY')).toEqual({
        ours: [1, 2],
        theirs: [1, 2],
      });
    });

    const functions = [
      'NOW()',
      'CURRENT_TIMESTAMP',
      'CURRENT_TIMESTAMP()',
      'CURDATE()',
      'CURRENT_DATE',
      'CURRENT_DATE()',
      'UTC_TIMESTAMP()',
    ];
    const units = ['MICROSECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR'];
    it.each(functions)(
      '%s ± INTERVAL n unit is, for every unit, the value the server gives the text',
      async (fn) => {
        const exprs = units.flatMap((unit, i) => [
          `${fn} - INTERVAL ${i * 7 + 1} ${unit}`,
          `${fn} + INTERVAL ${999999999 - i} ${unit}`,
          `${fn} - INTERVAL 0 ${unit} + INTERVAL 31 ${unit}`,
        ]);
        exprs.push(fn);
        for (const expr of exprs) {
          const { sql, params } = compileCondition(`t = ${expr}`, ['t'], quoteIdentifier);
          const ours = sql.slice('(`t` = '.length, -1);
          const [[row]] = (await conn.query(
            `SELECT ${expr} AS theirs, ${ours} AS ours`,
            params,
          )) as unknown as [{ theirs: string | null; ours: string | null }[]];
          expect(row?.ours, `${expr} → ${ours}`).toBe(row?.theirs);
        }
      },
    );
  });
});
