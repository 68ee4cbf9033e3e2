import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdentifier } from '../shared/db/identifiers';
import { compileCondition } from '../shared/manual/condition';
import { offlineUrl, rawConnection, uniqueSchema } from './support/env';

/**
 * Manual-sync conditions select exactly the rows MySQL would: number literals keep every digit and
 * compare as decimals, string literals mean what MySQL's own lexer makes of them.
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
});
