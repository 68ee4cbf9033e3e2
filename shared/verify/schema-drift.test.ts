import { describe, expect, it } from 'vitest';
import {
  type ColumnDefault,
  type ColumnDescription,
  columnDefinition,
  compareTables,
  type DdlRisk,
  type IndexDescription,
  parseColumnDefault,
  parseColumnType,
  type SchemaDifferenceKind,
  type Severity,
  type TableDescription,
} from './schema-drift';

const ON = { schema: 'shop', table: 't' };
const OFF = { schema: 'shop_test', table: 't' };

function col(name: string, columnType: string, o: Partial<ColumnDescription> = {}): ColumnDescription {
  const base = parseColumnType(columnType).base;
  const textual = /char|text|enum|set/.test(base);
  return {
    name,
    dataType: base,
    columnType,
    charset: textual ? 'utf8mb4' : null,
    collation: textual ? 'utf8mb4_general_ci' : null,
    nullable: true,
    default: { kind: 'null' },
    autoIncrement: false,
    generated: null,
    onUpdate: null,
    ...o,
  };
}
const notNull = (c: ColumnDescription): ColumnDescription => ({
  ...c,
  nullable: false,
  default: { kind: 'none' },
});
const pk = (...columns: string[]): IndexDescription => ({
  name: 'PRIMARY',
  unique: true,
  parts: columns.map((column) => ({ column, subPart: null })),
});
const uk = (name: string, ...columns: string[]): IndexDescription => ({
  name,
  unique: true,
  parts: columns.map((c) => {
    const [column = c, sub] = c.split(':');
    return { column, subPart: sub ? Number(sub) : null };
  }),
});
const ix = (name: string, ...columns: string[]): IndexDescription => ({
  ...uk(name, ...columns),
  unique: false,
});
const ID = notNull(col('id', 'bigint(20)'));

function table(columns: ColumnDescription[], indexes: IndexDescription[] = [pk('id')]): TableDescription {
  return { server: 'mariadb', columns: [ID, ...columns], indexes };
}

interface Expected {
  kind: SchemaDifferenceKind;
  severity: Severity;
  effect?: RegExp;
  ddl?: RegExp;
  ddlRisk?: DdlRisk;
}

/** One column `c` online vs offline, with the differences expected. */
const columnCases: [string, ColumnDescription, ColumnDescription, Expected[]][] = [
  ['same column', col('c', 'varchar(10)'), col('c', 'varchar(10)'), []],
  ['integer display width only', col('c', 'int(11)'), col('c', 'int'), []],
  ['tinyint(1) vs tinyint(4)', col('c', 'tinyint(1)'), col('c', 'tinyint(4)'), []],
  [
    'utf8 vs utf8mb3 (alias)',
    col('c', 'char(2)', { charset: 'utf8', collation: 'utf8_general_ci' }),
    col('c', 'char(2)', { charset: 'utf8mb3', collation: 'utf8mb3_general_ci' }),
    [],
  ],
  [
    'VARCHAR narrower offline',
    col('c', 'varchar(100)'),
    col('c', 'varchar(50)'),
    [
      {
        kind: 'type',
        severity: 'breaks',
        effect: /^values longer than 50 characters are dead-lettered$/,
        ddl: /^ALTER TABLE `shop_test`\.`t` MODIFY COLUMN `c` varchar\(100\) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL DEFAULT NULL$/,
        ddlRisk: 'safe',
      },
    ],
  ],
  [
    'VARCHAR wider offline',
    col('c', 'varchar(50)'),
    col('c', 'varchar(100)'),
    [{ kind: 'type', severity: 'info', effect: /widening/, ddlRisk: 'may-fail' }],
  ],
  [
    'TEXT to VARCHAR(50)',
    col('c', 'text'),
    col('c', 'varchar(50)'),
    [{ kind: 'type', severity: 'breaks', effect: /longer than 50 characters are dead-lettered/ }],
  ],
  [
    'VARCHAR(255) utf8mb4 to TINYTEXT',
    col('c', 'varchar(255)'),
    col('c', 'tinytext'),
    [{ kind: 'type', severity: 'breaks', effect: /longer than 255 bytes/ }],
  ],
  ['VARCHAR(100) to TEXT', col('c', 'varchar(100)'), col('c', 'text'), [{ kind: 'type', severity: 'info' }]],
  [
    'MEDIUMTEXT to TEXT',
    col('c', 'mediumtext'),
    col('c', 'text'),
    [{ kind: 'type', severity: 'breaks', effect: /longer than 65,535 bytes/ }],
  ],
  [
    'VARCHAR to CHAR',
    col('c', 'varchar(10)'),
    col('c', 'char(10)'),
    [{ kind: 'type', severity: 'risk', effect: /trailing spaces/ }],
  ],
  [
    'DATETIME(6) to DATETIME',
    col('c', 'datetime(6)'),
    col('c', 'datetime'),
    [
      {
        kind: 'type',
        severity: 'breaks',
        effect: /fractional seconds beyond 0 digits are cut/,
        ddlRisk: 'safe',
      },
    ],
  ],
  [
    'DATETIME to DATETIME(6)',
    col('c', 'datetime'),
    col('c', 'datetime(6)'),
    [{ kind: 'type', severity: 'info', ddlRisk: 'loses-offline-data' }],
  ],
  ['DATE to DATETIME', col('c', 'date'), col('c', 'datetime'), [{ kind: 'type', severity: 'info' }]],
  [
    'DATETIME to DATE',
    col('c', 'datetime'),
    col('c', 'date'),
    [{ kind: 'type', severity: 'breaks', effect: /time of day is cut/ }],
  ],
  [
    'DATETIME to TIMESTAMP',
    col('c', 'datetime'),
    col('c', 'timestamp'),
    [{ kind: 'type', severity: 'breaks', effect: /outside 1970-01-01 00:00:01\.\.2038/ }],
  ],
  [
    'TIMESTAMP(3) to DATETIME(3)',
    col('c', 'timestamp(3)'),
    col('c', 'datetime(3)'),
    [{ kind: 'type', severity: 'info' }],
  ],
  [
    'DECIMAL scale smaller',
    col('c', 'decimal(12,4)'),
    col('c', 'decimal(12,2)'),
    [
      {
        kind: 'type',
        severity: 'breaks',
        effect: /rounded to 2 decimal places \(silently/,
        ddlRisk: 'may-fail',
      },
    ],
  ],
  [
    'DECIMAL integer digits fewer',
    col('c', 'decimal(10,2)'),
    col('c', 'decimal(8,2)'),
    [{ kind: 'type', severity: 'breaks', effect: /more than 6 integer digits are dead-lettered/ }],
  ],
  [
    'DECIMAL wider',
    col('c', 'decimal(10,2)'),
    col('c', 'decimal(12,4)'),
    [{ kind: 'type', severity: 'info', ddlRisk: 'loses-offline-data' }],
  ],
  [
    'BIGINT to INT',
    col('c', 'bigint(20)'),
    col('c', 'int(11)'),
    [{ kind: 'type', severity: 'breaks', effect: /outside -2147483648\.\.2147483647/, ddlRisk: 'safe' }],
  ],
  [
    'INT to BIGINT',
    col('c', 'int(11)'),
    col('c', 'bigint(20)'),
    [{ kind: 'type', severity: 'info', ddlRisk: 'may-fail' }],
  ],
  [
    'INT UNSIGNED to INT',
    col('c', 'int(10) unsigned'),
    col('c', 'int(11)'),
    [{ kind: 'type', severity: 'breaks', effect: /outside -2147483648\.\.2147483647/ }],
  ],
  [
    'INT UNSIGNED to BIGINT',
    col('c', 'int unsigned'),
    col('c', 'bigint'),
    [{ kind: 'type', severity: 'info' }],
  ],
  ['INT to DECIMAL(10,0)', col('c', 'int'), col('c', 'decimal(10,0)'), [{ kind: 'type', severity: 'info' }]],
  ['INT to DECIMAL(9,0)', col('c', 'int'), col('c', 'decimal(9,0)'), [{ kind: 'type', severity: 'breaks' }]],
  [
    'DECIMAL(10,2) to INT',
    col('c', 'decimal(10,2)'),
    col('c', 'int'),
    [{ kind: 'type', severity: 'breaks', effect: /fractions are rounded away/ }],
  ],
  ['FLOAT to DOUBLE', col('c', 'float'), col('c', 'double'), [{ kind: 'type', severity: 'info' }]],
  [
    'DOUBLE to FLOAT',
    col('c', 'double'),
    col('c', 'float'),
    [{ kind: 'type', severity: 'breaks', effect: /single precision/ }],
  ],
  ['INT to DOUBLE', col('c', 'int'), col('c', 'double'), [{ kind: 'type', severity: 'info' }]],
  ['BIGINT to DOUBLE', col('c', 'bigint'), col('c', 'double'), [{ kind: 'type', severity: 'breaks' }]],
  [
    'BIT(8) to BIT(4)',
    col('c', 'bit(8)'),
    col('c', 'bit(4)'),
    [{ kind: 'type', severity: 'breaks', effect: /wider than 4 bits/ }],
  ],
  [
    'ENUM losing a value',
    col('c', "enum('a','b','It''s')"),
    col('c', "enum('a','b')"),
    [
      {
        kind: 'type',
        severity: 'breaks',
        effect: /^value 'It's' is not in offline's list: rows holding it are dead-lettered$/,
      },
    ],
  ],
  [
    'ENUM gaining a value',
    col('c', "enum('a','b')"),
    col('c', "enum('a','b','c')"),
    [{ kind: 'type', severity: 'info' }],
  ],
  [
    'ENUM values differing in case only',
    col('c', "enum('A')"),
    col('c', "enum('a')"),
    [{ kind: 'type', severity: 'breaks' }],
  ],
  [
    'SET superset',
    col('c', "set('a','b')"),
    col('c', "set('b','a','c')"),
    [{ kind: 'type', severity: 'risk', effect: /members in offline's order/ }],
  ],
  [
    'ENUM in another order',
    col('c', "enum('a','b')"),
    col('c', "enum('b','a')"),
    [{ kind: 'type', severity: 'info', effect: /another order: sorting by it differs/ }],
  ],
  [
    'DECIMAL signed to unsigned',
    col('c', 'decimal(10,2)'),
    col('c', 'decimal(10,2) unsigned'),
    [{ kind: 'type', severity: 'breaks', effect: /^negative values are dead-lettered$/ }],
  ],
  [
    'ZEROFILL only',
    col('c', 'int(5) unsigned zerofill'),
    col('c', 'int unsigned'),
    [{ kind: 'type', severity: 'info' }],
  ],
  [
    'VARBINARY to BINARY',
    col('c', 'varbinary(10)'),
    col('c', 'binary(10)'),
    [{ kind: 'type', severity: 'risk', effect: /padded with 0x00/ }],
  ],
  [
    'BINARY to VARBINARY',
    col('c', 'binary(4)'),
    col('c', 'varbinary(4)'),
    [{ kind: 'type', severity: 'info' }],
  ],
  [
    'BLOB to VARBINARY(100)',
    col('c', 'blob'),
    col('c', 'varbinary(100)'),
    [{ kind: 'type', severity: 'breaks', effect: /longer than 100 bytes/ }],
  ],
  ['POINT to GEOMETRY', col('c', 'point'), col('c', 'geometry'), [{ kind: 'type', severity: 'info' }]],
  [
    'GEOMETRY to POINT',
    col('c', 'geometry'),
    col('c', 'point'),
    [{ kind: 'type', severity: 'breaks', effect: /other than POINT/ }],
  ],
  [
    'LONGTEXT to MySQL JSON',
    col('c', 'longtext'),
    col('c', 'json', { charset: null, collation: null }),
    [{ kind: 'type', severity: 'breaks', effect: /not valid JSON/ }],
  ],
  [
    'VARCHAR to INT',
    col('c', 'varchar(10)'),
    col('c', 'int', { charset: null, collation: null }),
    [{ kind: 'type', severity: 'breaks', effect: /cannot hold every varchar\(10\) value/ }],
  ],
  [
    'utf8mb4 to utf8mb3',
    col('c', 'varchar(10)'),
    col('c', 'varchar(10)', { charset: 'utf8mb3', collation: 'utf8mb3_general_ci' }),
    [{ kind: 'charset', severity: 'breaks', effect: /4-byte characters \(emoji/, ddlRisk: 'safe' }],
  ],
  [
    'latin1 to utf8mb4',
    col('c', 'varchar(10)', { charset: 'latin1', collation: 'latin1_swedish_ci' }),
    col('c', 'varchar(10)', { charset: 'utf8mb4', collation: 'utf8mb4_swedish_ci' }),
    [{ kind: 'charset', severity: 'info', ddlRisk: 'may-fail' }],
  ],
  [
    'charset and collation both',
    col('c', 'varchar(10)', { collation: 'utf8mb4_bin' }),
    col('c', 'varchar(10)', { charset: 'latin1', collation: 'latin1_swedish_ci' }),
    [
      { kind: 'charset', severity: 'breaks', effect: /latin1 cannot store/ },
      { kind: 'collation', severity: 'info', effect: /no key uses this column/ },
    ],
  ],
  [
    'collation on an unkeyed column',
    col('c', 'varchar(10)', { collation: 'utf8mb4_bin' }),
    col('c', 'varchar(10)'),
    [{ kind: 'collation', severity: 'info' }],
  ],
  [
    'NULL online, NOT NULL offline',
    col('c', 'int'),
    notNull(col('c', 'int')),
    [{ kind: 'nullability', severity: 'breaks', effect: /^NULLs are dead-lettered$/, ddlRisk: 'safe' }],
  ],
  [
    'NOT NULL online, NULL offline',
    notNull(col('c', 'int')),
    col('c', 'int'),
    [
      {
        kind: 'nullability',
        severity: 'info',
        ddlRisk: 'may-fail',
        ddl: /MODIFY COLUMN `c` int NOT NULL$/,
      },
    ],
  ],
  [
    'default differs',
    col('c', 'varchar(10)', { nullable: false, default: { kind: 'string', value: 'new' } }),
    col('c', 'varchar(10)', { nullable: false, default: { kind: 'string', value: 'old' } }),
    [
      {
        kind: 'default',
        severity: 'info',
        effect: /get DEFAULT 'old' instead of online's DEFAULT 'new'/,
        ddl: /NOT NULL DEFAULT 'new'$/,
      },
    ],
  ],
  [
    'numeric default written differently',
    col('c', 'decimal(10,2)', { default: { kind: 'number', value: '1.50' } }),
    col('c', 'decimal(10,2)', { default: { kind: 'string', value: '1.5' } }),
    [],
  ],
  [
    'temporal default with zero fraction',
    col('c', 'datetime(6)', { default: { kind: 'string', value: '2020-01-01 00:00:00.000000' } }),
    col('c', 'datetime(6)', { default: { kind: 'string', value: '2020-01-01 00:00:00' } }),
    [],
  ],
  [
    'CURRENT_TIMESTAMP spelled two ways',
    col('c', 'timestamp(6)', { default: { kind: 'expression', sql: 'current_timestamp(6)' } }),
    col('c', 'timestamp(6)', { default: { kind: 'expression', sql: 'NOW(6)' } }),
    [],
  ],
  [
    'expression default in parentheses',
    col('c', 'int', { default: { kind: 'expression', sql: '(1 + 1)' } }),
    col('c', 'int', { default: { kind: 'expression', sql: '1 + 1' } }),
    [],
  ],
  [
    'AUTO_INCREMENT online only',
    notNull(col('c', 'int', { autoIncrement: true })),
    notNull(col('c', 'int')),
    [{ kind: 'auto-increment', severity: 'info', ddl: /AUTO_INCREMENT$/ }],
  ],
  [
    'generated online, plain offline',
    col('c', 'int', { generated: { kind: 'virtual', expression: '`id` * 2' } }),
    col('c', 'int'),
    [
      {
        kind: 'generated',
        severity: 'risk',
        ddl: /DROP COLUMN `c`, ADD COLUMN `c` int GENERATED ALWAYS AS \(`id` \* 2\) VIRTUAL AFTER `id`$/,
        ddlRisk: 'loses-offline-data',
      },
    ],
  ],
  [
    'plain online, generated offline',
    col('c', 'int'),
    col('c', 'int', { generated: { kind: 'stored', expression: '`id` * 2' } }),
    [{ kind: 'generated', severity: 'breaks', effect: /never writes it/ }],
  ],
  [
    'generated with another expression',
    col('c', 'int', { generated: { kind: 'virtual', expression: '`id` * 2' } }),
    col('c', 'int', { generated: { kind: 'virtual', expression: '`id` * 3' } }),
    [
      {
        kind: 'generated',
        severity: 'risk',
        ddl: /MODIFY COLUMN `c` int GENERATED ALWAYS AS \(`id` \* 2\) VIRTUAL$/,
      },
    ],
  ],
  [
    'generated virtual vs stored',
    col('c', 'int', { generated: { kind: 'virtual', expression: '`id` * 2' } }),
    col('c', 'int', { generated: { kind: 'stored', expression: '(`id` * 2)' } }),
    [{ kind: 'generated', severity: 'info', ddl: /DROP COLUMN `c`, ADD COLUMN/ }],
  ],
  [
    'ON UPDATE offline only',
    col('c', 'timestamp(3)'),
    col('c', 'timestamp(3)', { onUpdate: 'current_timestamp(3)' }),
    [{ kind: 'on-update', severity: 'risk', effect: /drifts from online/ }],
  ],
  [
    'ON UPDATE online only',
    col('c', 'timestamp(3)', { onUpdate: 'current_timestamp(3)' }),
    col('c', 'timestamp(3)'),
    [{ kind: 'on-update', severity: 'info', ddl: /NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP\(3\)$/ }],
  ],
  [
    'several attributes of one column',
    col('c', 'varchar(100)'),
    notNull(col('c', 'varchar(50)', { charset: 'utf8mb3', collation: 'utf8mb3_general_ci' })),
    [
      { kind: 'type', severity: 'breaks' },
      { kind: 'charset', severity: 'breaks' },
      { kind: 'nullability', severity: 'breaks' },
    ],
  ],
];

function check(report: ReturnType<typeof compareTables>, expected: Expected[]) {
  expect(report.differences.map((d) => [d.kind, d.severity])).toEqual(
    expected.map((e) => [e.kind, e.severity]),
  );
  expected.forEach((e, i) => {
    const d = report.differences[i];
    if (e.effect) expect(d?.effect).toMatch(e.effect);
    if (e.ddl) expect(d?.ddl).toMatch(e.ddl);
    if (e.ddlRisk) expect(d?.ddlRisk).toBe(e.ddlRisk);
  });
}

describe('compareTables: columns', () => {
  it.each(columnCases)('%s', (_name, on, off, expected) => {
    const report = compareTables(table([on]), table([off]), ON, OFF);
    check(report, expected);
    expect(report.ddl).toHaveLength(expected.length ? 1 : 0);
    if (expected.length) {
      // One MODIFY (or drop-and-add) per column, shared by its differences and in the combined statement.
      expect(new Set(report.differences.map((d) => d.ddl)).size).toBe(1);
      const clause = report.differences[0]?.ddl.replace('ALTER TABLE `shop_test`.`t` ', '');
      expect(report.ddl[0]).toBe(`ALTER TABLE \`shop_test\`.\`t\`\n  ${clause}`);
    }
  });
});

describe('compareTables: collation on keyed columns', () => {
  it.each<[string, string, string, Severity]>([
    ['online _bin, offline _ci: collisions offline', 'utf8mb4_bin', 'utf8mb4_general_ci', 'breaks'],
    ['online _ci, offline _bin', 'utf8mb4_general_ci', 'utf8mb4_bin', 'risk'],
    ['same strength, other rules', 'utf8mb4_general_ci', 'utf8mb4_unicode_ci', 'risk'],
  ])('%s', (_name, onColl, offColl, severity) => {
    const on = table([col('code', 'varchar(10)', { collation: onColl })], [pk('id'), uk('u', 'code')]);
    const off = table([col('code', 'varchar(10)', { collation: offColl })], [pk('id'), uk('u', 'code')]);
    const [d] = compareTables(on, off, ON, OFF).differences;
    expect(d).toMatchObject({ kind: 'collation', severity, online: onColl, offline: offColl });
    expect(d?.effect).toMatch(
      /^keys may match differently \(rows the server keeps apart online may collide offline, or the reverse\)/,
    );
  });
});

describe('compareTables: columns on one side only', () => {
  it('a column online only: its values are dropped; ADD COLUMN after its online predecessor', () => {
    const on = table([col('a', 'int'), col('b', 'varchar(5)', { check: 'json_valid(`b`)' })]);
    const report = compareTables(on, table([col('a', 'int')]), ON, OFF);
    check(report, [
      {
        kind: 'column-missing-offline',
        severity: 'breaks',
        effect: /^its values are dropped/,
        ddl: /^ALTER TABLE `shop_test`\.`t` ADD COLUMN `b` varchar\(5\) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL DEFAULT NULL CHECK \(json_valid\(`b`\)\) AFTER `a`$/,
        ddlRisk: 'safe',
      },
    ]);
  });

  it('a generated column online only is a risk, not a break', () => {
    const on = table([col('g', 'int', { generated: { kind: 'stored', expression: '`id` + 1' } })]);
    check(compareTables(on, table([]), ON, OFF), [{ kind: 'column-missing-offline', severity: 'risk' }]);
  });

  it.each<[string, ColumnDescription, Severity, RegExp]>([
    ['NOT NULL without default', notNull(col('x', 'int')), 'breaks', /^inserts fail \(rows dead-lettered\)/],
    ['nullable', col('x', 'int'), 'risk', /mirrored inserts give it DEFAULT NULL/],
    [
      'NOT NULL with a default',
      col('x', 'varchar(3)', { nullable: false, default: { kind: 'string', value: 'a' } }),
      'risk',
      /give it DEFAULT 'a'/,
    ],
  ])('an extra offline column, %s', (_name, extra, severity, effect) => {
    const report = compareTables(table([]), table([extra]), ON, OFF);
    check(report, [
      {
        kind: 'column-extra-offline',
        severity,
        effect,
        ddl: /^ALTER TABLE `shop_test`\.`t` DROP COLUMN `x`$/,
        ddlRisk: 'loses-offline-data',
      },
    ]);
    expect(report.differences[0]?.effect).toMatch(/the proposed DROP COLUMN deletes its offline values$/);
  });

  it('an extra generated offline column is harmless and dropping it loses nothing', () => {
    const extra = col('x', 'int', { generated: { kind: 'virtual', expression: '`id`' } });
    check(compareTables(table([]), table([extra]), ON, OFF), [
      { kind: 'column-extra-offline', severity: 'info', ddlRisk: 'safe' },
    ]);
  });

  it('column names match case-insensitively', () => {
    expect(
      compareTables(table([col('Name', 'int')]), table([col('name', 'int')]), ON, OFF).differences,
    ).toEqual([]);
  });
});

describe('compareTables: keys', () => {
  const cols = [notNull(col('a', 'int')), notNull(col('b', 'varchar(20)'))];
  it.each<[string, IndexDescription[], IndexDescription[], Expected[]]>([
    ['same keys', [pk('id'), uk('u', 'a')], [pk('id'), uk('u', 'a')], []],
    ['primary key in another column order', [pk('id', 'a')], [pk('a', 'id')], []],
    ['unique key under another name', [pk('id'), uk('u', 'a', 'b')], [pk('id'), uk('other', 'b', 'a')], []],
    [
      'different primary key',
      [pk('id')],
      [pk('id', 'a')],
      [
        {
          kind: 'primary-key',
          severity: 'breaks',
          effect: /^rows are matched by different keys: updates may hit the wrong rows/,
          ddl: /^ALTER TABLE `shop_test`\.`t` DROP PRIMARY KEY, ADD PRIMARY KEY \(`id`\)$/,
          ddlRisk: 'may-fail',
        },
      ],
    ],
    [
      'no primary key offline',
      [pk('id')],
      [],
      [
        {
          kind: 'primary-key',
          severity: 'breaks',
          ddl: /ALTER TABLE `shop_test`\.`t` ADD PRIMARY KEY \(`id`\)$/,
        },
      ],
    ],
    [
      'no primary key online',
      [],
      [pk('id')],
      [{ kind: 'primary-key', severity: 'breaks', ddl: /`t` DROP PRIMARY KEY$/, ddlRisk: 'safe' }],
    ],
    [
      'unique key missing offline',
      [pk('id'), uk('u_ab', 'a', 'b:10')],
      [pk('id')],
      [
        {
          kind: 'unique-key-missing-offline',
          severity: 'risk',
          effect: /^offline may accept duplicates online refuses/,
          ddl: /^ALTER TABLE `shop_test`\.`t` ADD UNIQUE KEY `u_ab` \(`a`, `b`\(10\)\)$/,
          ddlRisk: 'may-fail',
        },
      ],
    ],
    [
      'unique key missing offline, its name held by a plain index',
      [pk('id'), uk('u', 'a')],
      [pk('id'), ix('u', 'a')],
      [
        {
          kind: 'unique-key-missing-offline',
          severity: 'risk',
          ddl: /`t` DROP INDEX `u`, ADD UNIQUE KEY `u` \(`a`\)$/,
        },
      ],
    ],
    [
      'unique key missing offline, its name held by another unique key',
      [pk('id'), uk('u', 'a'), uk('v', 'b')],
      [pk('id'), uk('v', 'a')],
      [{ kind: 'unique-key-missing-offline', severity: 'risk', ddl: /ADD UNIQUE KEY `v_2` \(`b`\)$/ }],
    ],
    [
      'unique key prefix length differs',
      [pk('id'), uk('u', 'b:10')],
      [pk('id'), uk('u', 'b:5')],
      [
        { kind: 'unique-key-extra-offline', severity: 'risk', ddl: /DROP INDEX `u`$/ },
        { kind: 'unique-key-missing-offline', severity: 'risk', ddl: /ADD UNIQUE KEY `u` \(`b`\(10\)\)$/ },
      ],
    ],
    [
      'unique key extra offline',
      [pk('id')],
      [pk('id'), uk('u_b', 'b')],
      [
        {
          kind: 'unique-key-extra-offline',
          severity: 'risk',
          effect: /^rows distinct online may conflict offline \(conflict policy decides\)$/,
          ddl: /^ALTER TABLE `shop_test`\.`t` DROP INDEX `u_b`$/,
          ddlRisk: 'safe',
        },
      ],
    ],
    [
      'unique key extra offline that online keys already imply',
      [pk('id')],
      [pk('id'), uk('u', 'id', 'b')],
      [{ kind: 'unique-key-extra-offline', severity: 'info', effect: /online's primary key already keeps/ }],
    ],
  ])('%s', (_name, onKeys, offKeys, expected) => {
    check(compareTables(table(cols, onKeys), table(cols, offKeys), ON, OFF), expected);
  });
});

describe('compareTables: table defaults', () => {
  it('a different default collation is info, aligned with DEFAULT CHARACTER SET', () => {
    const on = { ...table([]), collation: 'utf8mb4_general_ci' };
    const off = { ...table([]), collation: 'latin1_swedish_ci' };
    check(compareTables(on, off, ON, OFF), [
      {
        kind: 'table-default-collation',
        severity: 'info',
        ddl: /^ALTER TABLE `shop_test`\.`t` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci$/,
      },
    ]);
    expect(compareTables(on, { ...off, collation: 'utf8mb4_general_ci' }, ON, OFF).differences).toEqual([]);
  });
});

describe('compareTables: tables', () => {
  const t = table(
    [col('a', 'int', { default: { kind: 'string', value: "it's \\ here" } })],
    [pk('id'), uk('u', 'a')],
  );

  it('a table online only: CREATE TABLE from online text, under the offline name', () => {
    const online = { ...t, createTable: 'CREATE TABLE `t` (\n  `id` bigint(20) NOT NULL\n) ENGINE=InnoDB' };
    const report = compareTables(online, null, ON, OFF);
    check(report, [
      { kind: 'table-missing-offline', severity: 'breaks', effect: /dead-lettered/, ddlRisk: 'safe' },
    ]);
    expect(report.ddl).toEqual([
      'CREATE TABLE `shop_test`.`t` (\n  `id` bigint(20) NOT NULL\n) ENGINE=InnoDB',
    ]);
    expect(report.offline.exists).toBe(false);
  });

  it('a table online only, without its text: CREATE TABLE built from the description', () => {
    const report = compareTables(t, null, ON, { schema: 'x`y', table: 't' });
    expect(report.ddl).toEqual([
      "CREATE TABLE `x``y`.`t` (\n  `id` bigint(20) NOT NULL,\n  `a` int NULL DEFAULT _utf8mb4 X'69742773205C2068657265',\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`a`)\n)",
    ]);
  });

  it('a table offline only: DROP TABLE, flagged as losing offline data', () => {
    const report = compareTables(null, t, ON, OFF);
    check(report, [
      {
        kind: 'table-extra-offline',
        severity: 'risk',
        effect: /DROP TABLE deletes its offline rows/,
        ddl: /^DROP TABLE `shop_test`\.`t`$/,
        ddlRisk: 'loses-offline-data',
      },
    ]);
  });

  it('no table on either side: nothing to report, both marked absent', () => {
    const report = compareTables(null, null, ON, OFF);
    expect(report).toMatchObject({ differences: [], ddl: [], worst: null, online: { exists: false } });
  });
});

describe('compareTables: the report as a whole', () => {
  it('orders differences so each DDL can run in turn, and combines them in one ALTER TABLE', () => {
    const on = table(
      [notNull(col('a', 'int', { autoIncrement: true })), col('b', 'varchar(10)'), col('n', 'int')],
      [pk('a'), uk('u_b', 'b')],
    );
    const off = table(
      [notNull(col('a', 'int')), col('b', 'varchar(5)'), notNull(col('x', 'int'))],
      [pk('id'), uk('u_x', 'x')],
    );
    const report = compareTables(on, off, ON, OFF);
    expect(report.differences.map((d) => d.kind)).toEqual([
      'unique-key-extra-offline',
      'column-missing-offline',
      'type',
      'primary-key',
      'auto-increment',
      'column-extra-offline',
      'unique-key-missing-offline',
    ]);
    expect(report.worst).toBe('breaks');
    expect(report.counts).toEqual({ breaks: 4, risk: 2, info: 1 });
    expect(report.ddl).toEqual([
      [
        'ALTER TABLE `shop_test`.`t`',
        '  DROP INDEX `u_x`,',
        '  ADD COLUMN `n` int NULL DEFAULT NULL AFTER `b`,',
        '  MODIFY COLUMN `b` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL DEFAULT NULL,',
        '  DROP PRIMARY KEY, ADD PRIMARY KEY (`a`),',
        '  MODIFY COLUMN `a` int NOT NULL AUTO_INCREMENT,',
        '  DROP COLUMN `x`,',
        '  ADD UNIQUE KEY `u_b` (`b`)',
      ].join('\n'),
    ]);
  });

  it('an identical table reports nothing', () => {
    const t = table([col('a', 'int'), col('b', "enum('x','y')")], [pk('id'), uk('u', 'a')]);
    expect(compareTables(t, structuredClone(t), ON, OFF)).toMatchObject({
      differences: [],
      ddl: [],
      worst: null,
      counts: { breaks: 0, risk: 0, info: 0 },
      online: { exists: true },
      offline: { exists: true },
    });
  });
});

describe('parseColumnDefault', () => {
  const c = (dataType: string, nullable = true, extra = '') => ({ dataType, nullable, extra });
  it.each<[string, string | null, 'mariadb' | 'mysql', ReturnType<typeof c>, ColumnDefault]>([
    ['MariaDB: no default', null, 'mariadb', c('int', false), { kind: 'none' }],
    ['MariaDB: DEFAULT NULL', 'NULL', 'mariadb', c('int'), { kind: 'null' }],
    ["MariaDB: the string 'NULL'", "'NULL'", 'mariadb', c('varchar'), { kind: 'string', value: 'NULL' }],
    [
      'MariaDB: escaped string',
      "'it''s \\\\ x\\n\\0'",
      'mariadb',
      c('varchar'),
      { kind: 'string', value: "it's \\ x\n\0" },
    ],
    ['MariaDB: empty string', "''", 'mariadb', c('varchar'), { kind: 'string', value: '' }],
    ['MariaDB: number', '1.50', 'mariadb', c('decimal'), { kind: 'number', value: '1.50' }],
    ['MariaDB: bits', "b'101'", 'mariadb', c('bit'), { kind: 'bits', value: "b'101'" }],
    [
      'MariaDB: expression',
      'current_timestamp(6)',
      'mariadb',
      c('datetime'),
      { kind: 'expression', sql: 'current_timestamp(6)' },
    ],
    [
      'MariaDB: parenthesised expression',
      '(1 + 1)',
      'mariadb',
      c('int'),
      { kind: 'expression', sql: '(1 + 1)' },
    ],
    ['MySQL: nullable without default', null, 'mysql', c('int'), { kind: 'null' }],
    ['MySQL: NOT NULL without default', null, 'mysql', c('int', false), { kind: 'none' }],
    ['MySQL: raw string', "it's", 'mysql', c('varchar'), { kind: 'string', value: "it's" }],
    ['MySQL: the string NULL', 'NULL', 'mysql', c('varchar'), { kind: 'string', value: 'NULL' }],
    ['MySQL: number', '5', 'mysql', c('int'), { kind: 'number', value: '5' }],
    ['MySQL: digits in a string column', '5', 'mysql', c('varchar'), { kind: 'string', value: '5' }],
    [
      'MySQL: expression',
      'CURRENT_TIMESTAMP(3)',
      'mysql',
      c('timestamp', false, 'DEFAULT_GENERATED on update CURRENT_TIMESTAMP(3)'),
      { kind: 'expression', sql: 'CURRENT_TIMESTAMP(3)' },
    ],
    [
      'MySQL 5.7: CURRENT_TIMESTAMP',
      'CURRENT_TIMESTAMP',
      'mysql',
      c('timestamp'),
      { kind: 'expression', sql: 'CURRENT_TIMESTAMP' },
    ],
    ['MySQL: bits', "b'101'", 'mysql', c('bit'), { kind: 'bits', value: "b'101'" }],
  ])('%s', (_name, raw, server, column, expected) => {
    expect(parseColumnDefault(raw, server, column)).toEqual(expected);
  });
});

describe('columnDefinition', () => {
  it.each<[string, ColumnDescription, string]>([
    [
      'text with a quote',
      col('c', 'varchar(10)', { nullable: false, default: { kind: 'string', value: "it's" } }),
      "`c` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL DEFAULT 'it''s'",
    ],
    [
      'text with a backslash (hex: reads the same under any sql_mode)',
      col('c', 'varchar(10)', { default: { kind: 'string', value: '€\\' } }),
      "`c` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL DEFAULT _utf8mb4 X'E282AC5C'",
    ],
    [
      'bytes with a NUL',
      col('c', 'varbinary(4)', { default: { kind: 'string', value: 'a\0' } }),
      "`c` varbinary(4) NULL DEFAULT X'6100'",
    ],
    [
      'bits',
      col('c', 'bit(5)', { default: { kind: 'bits', value: "b'101'" } }),
      "`c` bit(5) NULL DEFAULT b'101'",
    ],
    [
      'CURRENT_TIMESTAMP with ON UPDATE',
      col('c', 'timestamp(6)', {
        nullable: false,
        default: { kind: 'expression', sql: 'current_timestamp(6)' },
        onUpdate: 'current_timestamp(6)',
      }),
      '`c` timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)',
    ],
    [
      'other expressions in parentheses',
      col('c', 'int', { default: { kind: 'expression', sql: '1 + 1' } }),
      '`c` int NULL DEFAULT (1 + 1)',
    ],
    [
      'generated, invisible, with a comment',
      col('c`x', 'int', {
        generated: { kind: 'stored', expression: '`id` + 1' },
        invisible: true,
        comment: 'a\\b',
      }),
      "`c``x` int GENERATED ALWAYS AS (`id` + 1) STORED INVISIBLE COMMENT _utf8mb4 X'615C62'",
    ],
  ])('%s', (_name, column, expected) => {
    expect(columnDefinition(column)).toBe(expected);
  });
});

describe('parseColumnType', () => {
  it.each<[string, ReturnType<typeof parseColumnType>]>([
    ['bigint(20) unsigned zerofill', { base: 'bigint', args: ['20'], unsigned: true, zerofill: true }],
    ['decimal(10,2)', { base: 'decimal', args: ['10', '2'], unsigned: false, zerofill: false }],
    ["enum('a)','B''c')", { base: 'enum', args: ['a)', "B'c"], unsigned: false, zerofill: false }],
    ['INTEGER', { base: 'int', args: [], unsigned: false, zerofill: false }],
  ])('%s', (text, expected) => {
    expect(parseColumnType(text)).toEqual(expected);
  });
});
