import { describe, expect, it } from 'vitest';
import { detectServer } from '../db/dialect';
import type { ColumnInfo, ServerInfo, SqlRow, Statement, TableSchema } from '../types';
import {
  assembleCount,
  assembleDelete,
  assembleGuardedUpsertParts,
  assembleKeysetPage,
  assembleReplace,
  assembleSelectByKeys,
  assembleUpsert,
  chunk,
} from './statements';

function column(name: string, extra: Partial<ColumnInfo> = {}): ColumnInfo {
  return {
    name,
    dataType: 'varchar',
    columnType: 'varchar(64)',
    unsigned: false,
    nullable: true,
    precision: 64,
    scale: null,
    datetimePrecision: null,
    charset: 'utf8mb4',
    collation: 'utf8mb4_general_ci',
    autoIncrement: false,
    generated: false,
    ...extra,
  };
}

function table(columns: ColumnInfo[], identity: string[]): TableSchema {
  return {
    ref: { schema: 'shop', table: 't`x' },
    columns,
    columnsByName: new Map(columns.map((c) => [c.name.toLowerCase(), c])),
    primaryKey: identity,
    uniqueKeys: [],
    identity,
    autoIncrementColumn: null,
    autoRandom: false,
  };
}

const t1 = table([column('id'), column('name'), column('v'), column('g', { generated: true })], ['id']);
const t2 = table([column('a'), column('b'), column('v')], ['a', 'b']);
const mariadb = detectServer('10.11.19-MariaDB');
const mysql8 = detectServer('8.0.36');
const tidb = detectServer('8.0.11-TiDB-v7.5.1');

describe('assembleUpsert', () => {
  it.each([
    [
      'MariaDB uses VALUES()',
      mariadb,
      [
        { id: '1', name: 'a', v: null, g: 'ignored' },
        { id: '2', name: "it's", v: Buffer.from([0]) },
      ],
      [
        {
          sql: 'INSERT INTO `shop`.`t``x` (`id`, `name`, `v`) VALUES (?, ?, ?), (?, ?, ?) ON DUPLICATE KEY UPDATE `name` = VALUES(`name`), `v` = VALUES(`v`)',
          params: ['1', 'a', null, '2', "it's", Buffer.from([0])],
        },
      ],
    ],
    [
      'MySQL 8.0.19+ uses the row alias',
      mysql8,
      [{ id: '1', name: 'a' }],
      [
        {
          sql: 'INSERT INTO `shop`.`t``x` (`id`, `name`) VALUES (?, ?) AS new ON DUPLICATE KEY UPDATE `name` = new.`name`',
          params: ['1', 'a'],
        },
      ],
    ],
    [
      'TiDB uses VALUES()',
      tidb,
      [{ id: '1', v: 'x' }],
      [
        {
          sql: 'INSERT INTO `shop`.`t``x` (`id`, `v`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `v` = VALUES(`v`)',
          params: ['1', 'x'],
        },
      ],
    ],
    [
      'rows with other column sets become separate statements',
      mariadb,
      [
        { id: '1', name: 'a' },
        { id: '2', v: 'b' },
        { id: '3', name: 'c' },
      ],
      [
        {
          sql: 'INSERT INTO `shop`.`t``x` (`id`, `name`) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE `name` = VALUES(`name`)',
          params: ['1', 'a', '3', 'c'],
        },
        {
          sql: 'INSERT INTO `shop`.`t``x` (`id`, `v`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `v` = VALUES(`v`)',
          params: ['2', 'b'],
        },
      ],
    ],
    [
      'a key-only row still tolerates a duplicate',
      mariadb,
      [{ id: '9' }],
      [
        {
          sql: 'INSERT INTO `shop`.`t``x` (`id`) VALUES (?) ON DUPLICATE KEY UPDATE `id` = `id`',
          params: ['9'],
        },
      ],
    ],
  ] as [string, ServerInfo, SqlRow[], Statement[]][])('%s', (_name, server, rows, expected) => {
    expect(assembleUpsert(t1, rows, server)).toEqual(expected);
  });

  it.each([
    [
      'MariaDB: the identity is kept only when the duplicate is the same row',
      mariadb,
      [{ id: '1', name: 'a' }],
      'INSERT INTO `shop`.`t``x` (`id`, `name`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `id` = IF(`id` <=> VALUES(`id`), `id`, NULL), `name` = VALUES(`name`)',
    ],
    [
      'MySQL 8.0.19+: the same guard on the row alias',
      mysql8,
      [{ id: '1', name: 'a' }],
      'INSERT INTO `shop`.`t``x` (`id`, `name`) VALUES (?, ?) AS new ON DUPLICATE KEY UPDATE `id` = IF(`id` <=> new.`id`, `id`, NULL), `name` = new.`name`',
    ],
    [
      'a key-only row is guarded too',
      tidb,
      [{ id: '9' }],
      'INSERT INTO `shop`.`t``x` (`id`) VALUES (?) ON DUPLICATE KEY UPDATE `id` = IF(`id` <=> VALUES(`id`), `id`, NULL)',
    ],
  ] as [string, ServerInfo, SqlRow[], string][])('guarded: %s', (_name, server, rows, sql) => {
    expect(assembleGuardedUpsertParts(t1, rows, server).map((p) => p.statement.sql)).toEqual([sql]);
  });

  it('chunks by rows and bytes', () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ id: String(i), name: 'x'.repeat(10) }));
    expect(
      assembleUpsert(t1, rows, mariadb, { maxRows: 2, maxBytes: 1e9 }).map((s) => s.params.length),
    ).toEqual([4, 4, 2]);
    expect(chunk([1, 2, 3], () => 10, { maxRows: 100, maxBytes: 15 })).toEqual([[1], [2], [3]]);
  });
});

describe('key statements', () => {
  it.each([
    [
      'single-column delete',
      assembleDelete(t1, [{ id: '1' }, { id: '2' }]),
      [{ sql: 'DELETE FROM `shop`.`t``x` WHERE `id` IN (?, ?)', params: ['1', '2'] }],
    ],
    [
      'composite delete',
      assembleDelete(t2, [
        { a: '1', b: 'x' },
        { a: '2', b: 'y' },
      ]),
      [
        {
          sql: 'DELETE FROM `shop`.`t``x` WHERE (`a`, `b`) IN ((?, ?), (?, ?))',
          params: ['1', 'x', '2', 'y'],
        },
      ],
    ],
    [
      'select by a unique key',
      assembleSelectByKeys(t1, ['name'], [{ name: 'n' }], ['id', 'name']),
      [{ sql: 'SELECT `id`, `name` FROM `shop`.`t``x` WHERE `name` IN (?)', params: ['n'] }],
    ],
    [
      'replace',
      assembleReplace(t1, [{ id: '1', name: null }]),
      [{ sql: 'REPLACE INTO `shop`.`t``x` (`id`, `name`) VALUES (?, ?)', params: ['1', null] }],
    ],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it('pages by keyset, never OFFSET', () => {
    const cond = { sql: '`v` > ?', params: ['5'] };
    expect(assembleKeysetPage(t2, cond, null, 100)).toEqual({
      sql: 'SELECT * FROM `shop`.`t``x` WHERE (`v` > ?) ORDER BY `a`, `b` LIMIT 100',
      params: ['5'],
    });
    expect(assembleKeysetPage(t2, cond, { a: '3', b: 'q' }, 100)).toEqual({
      sql: 'SELECT * FROM `shop`.`t``x` WHERE (`v` > ?) AND ((`a` > ?) OR (`a` = ? AND `b` > ?)) ORDER BY `a`, `b` LIMIT 100',
      params: ['5', '3', '3', 'q'],
    });
    expect(assembleCount(t1, cond, 10)).toEqual({
      sql: 'SELECT COUNT(*) AS n FROM (SELECT 1 FROM `shop`.`t``x` WHERE (`v` > ?) LIMIT 11) AS capped',
      params: ['5'],
    });
  });
});

describe('TiDB limits', () => {
  it('keeps every statement under the row and byte limits', () => {
    const big = 'x'.repeat(1024 * 1024);
    const rows = Array.from({ length: 10 }, (_, i) => ({ id: String(i), v: big }));
    const statements = assembleUpsert(t1, rows, tidb);
    expect(statements.length).toBeGreaterThan(1);
    for (const s of statements) expect(s.params.filter((p) => p === big).length).toBeLessThanOrEqual(2);
  });
});
