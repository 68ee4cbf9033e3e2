import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapTable } from '../shared/cdc/route';
import type { ReadQuerier, Row } from '../shared/db/connection';
import type { TableRef } from '../shared/types';
import {
  type SchemaDifference,
  type SchemaDifferenceKind,
  type SchemaDriftReport,
  schemaDrift,
  schemaDriftRouted,
} from '../shared/verify/schema-drift';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema } from './support/env';
import { insertTypeRowsSql, TYPE_TABLE_COLUMNS } from './support/type-corpus';

/**
 * The drift report against real servers: an online table and a drifted offline twin with every kind
 * of difference; each proposed DDL is then run on the offline server (as a person would after reading
 * the report) and the report must come back empty, and the two SHOW CREATE TABLE texts must agree.
 */
const src = uniqueSchema('drift');
const dst = `${src}_off`;
const schemas = { [src]: dst };

let online: Connection; // arranges the online side
let onlineReader: Connection; // what the report reads online through: a READ ONLY session
let offline: Connection;
const statements: string[] = [];
const seenKinds = new Set<SchemaDifferenceKind>();

function reader(conn: Connection): ReadQuerier {
  return {
    async select<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
      statements.push(sql);
      return (await conn.query(sql, [...params]))[0] as T[];
    },
  };
}

async function report(table: string): Promise<SchemaDriftReport> {
  const r = await schemaDriftRouted(reader(onlineReader), reader(offline), schemas, { schema: src, table });
  for (const d of r.differences) seenKinds.add(d.kind);
  return r;
}

/** SHOW CREATE TABLE as a sorted set of lines: key order and the AUTO_INCREMENT counter aside. */
async function shape(conn: Connection, schema: string, table: string): Promise<string[]> {
  const [rows] = (await conn.query(`SHOW CREATE TABLE \`${schema}\`.\`${table}\``)) as unknown as [
    Record<string, string>[],
  ];
  const text = String(rows[0]?.['Create Table']);
  return text
    .split('\n')
    .slice(1)
    .map((l) =>
      l
        .trim()
        .replace(/,$/, '')
        .replace(/ AUTO_INCREMENT=\d+/, ''),
    )
    .sort();
}

async function expectAligned(table: string): Promise<void> {
  const after = await report(table);
  expect(after.differences).toEqual([]);
  expect(after.ddl).toEqual([]);
  expect(await shape(offline, dst, table)).toEqual(await shape(online, src, table));
}

const summary = (d: SchemaDifference) =>
  `${d.kind} ${'column' in d ? d.column : 'key' in d ? d.key : ''} ${d.severity}`.replace('  ', ' ');

const ONLINE_DRIFT = `(
  id BIGINT NOT NULL AUTO_INCREMENT,
  code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  tag VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  name VARCHAR(100) NULL,
  note TEXT NULL,
  emoji VARCHAR(20) CHARACTER SET utf8mb4 NULL,
  label VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  amount DECIMAL(12,4) NOT NULL DEFAULT 0,
  qty BIGINT NULL,
  small INT NULL,
  at DATETIME(6) NULL,
  opt VARCHAR(10) NULL,
  req INT NOT NULL DEFAULT 0,
  status VARCHAR(10) NOT NULL DEFAULT 'new',
  total BIGINT AS (qty * 2) VIRTUAL,
  updated TIMESTAMP(3) NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP(3),
  flags SET('a','b','c') NULL,
  js JSON NULL,
  added VARCHAR(5) NOT NULL DEFAULT 'x''y\\\\z',
  PRIMARY KEY (id),
  UNIQUE KEY uk_code (code),
  UNIQUE KEY uk_tag (tag)
) DEFAULT CHARSET=utf8mb4`;

const OFFLINE_DRIFT = `(
  id BIGINT NOT NULL,
  code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  tag VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL,
  name VARCHAR(50) NULL,
  note VARCHAR(50) NULL,
  emoji VARCHAR(20) CHARACTER SET utf8mb3 NULL,
  label VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL,
  amount DECIMAL(12,2) NOT NULL DEFAULT 0,
  qty INT NULL,
  small BIGINT NULL,
  at DATETIME NULL,
  opt VARCHAR(10) NOT NULL,
  req INT NULL DEFAULT 0,
  status VARCHAR(10) NOT NULL DEFAULT 'old',
  total BIGINT NULL,
  updated TIMESTAMP(3) NULL DEFAULT NULL,
  flags SET('a','b') NULL,
  legacy INT NOT NULL,
  memo VARCHAR(10) NULL,
  PRIMARY KEY (id, code),
  UNIQUE KEY uk_name (name),
  UNIQUE KEY uk_tag (tag)
) DEFAULT CHARSET=utf8mb4`;

/** What the drifted twin must report: kind, column or key, severity. */
const EXPECTED_DRIFT = [
  'unique-key-extra-offline uk_name risk',
  'column-missing-offline js breaks',
  'column-missing-offline added breaks',
  'collation tag breaks',
  'type name breaks',
  'type note breaks',
  'charset emoji breaks',
  'collation label info',
  'type amount breaks',
  'type qty breaks',
  'type small info',
  'type at breaks',
  'nullability opt breaks',
  'nullability req info',
  'default status info',
  'generated total risk',
  'on-update updated info',
  'type flags breaks',
  'primary-key breaks',
  'auto-increment id info',
  'column-extra-offline legacy breaks',
  'column-extra-offline memo risk',
  'unique-key-missing-offline uk_code risk',
];

beforeAll(async () => {
  online = await rawConnection(onlineUrl());
  onlineReader = await rawConnection(onlineUrl());
  await onlineReader.query('SET SESSION TRANSACTION READ ONLY');
  offline = await rawConnection(offlineUrl());
  await online.query(`CREATE DATABASE \`${src}\` CHARACTER SET utf8mb4`);
  await offline.query(`CREATE DATABASE \`${dst}\` CHARACTER SET utf8mb4`);
  for (const t of ['drift', 'drift_combined']) {
    await online.query(`CREATE TABLE \`${src}\`.${t} ${ONLINE_DRIFT}`);
    await offline.query(`CREATE TABLE \`${dst}\`.${t} ${OFFLINE_DRIFT}`);
    // Offline rows the DDL must carry through.
    await offline.query(
      `INSERT INTO \`${dst}\`.${t} (id, code, tag, name, note, emoji, amount, opt, legacy)
       VALUES (1, 'a', 'T', 'n1', 'x', 'e', 1.25, 'o', 7), (2, 'b', 't2', 'n2', NULL, NULL, 0, '', 8)`,
    );
  }
  await online.query(`CREATE TABLE \`${src}\`.only_online (
      id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
      email VARCHAR(190) COLLATE utf8mb4_bin NOT NULL COMMENT 'login, unique',
      doc JSON,
      score DECIMAL(5,2) DEFAULT 1.50,
      seen DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      twice DECIMAL(7,2) AS (score * 2) STORED,
      UNIQUE KEY uk_email (email),
      KEY k_score (score)
    ) DEFAULT CHARSET=utf8mb4 COMMENT='online only'`);
  await offline.query(`CREATE TABLE \`${dst}\`.only_offline (id INT PRIMARY KEY, v INT)`);
  await offline.query(`INSERT INTO \`${dst}\`.only_offline VALUES (1, 1)`);
  const typesDdl = `(${TYPE_TABLE_COLUMNS}) DEFAULT CHARSET=utf8mb4`;
  for (const t of ['types', 'types_bare', 'types_changed']) {
    await online.query(`CREATE TABLE \`${src}\`.${t} ${typesDdl}`);
  }
  await online.query(insertTypeRowsSql(`\`${src}\`.types`));
  await offline.query(`CREATE TABLE \`${dst}\`.types ${typesDdl}`);
  await offline.query(`CREATE TABLE \`${dst}\`.types_bare (id BIGINT UNSIGNED NOT NULL PRIMARY KEY)`);
  // Every other column as a one-character string, so every column needs a MODIFY back.
  const names = TYPE_TABLE_COLUMNS.replace(/UNIQUE KEY[^\n]*/, '')
    .split(/,\s*(?![^()]*\))/)
    .map((c) => c.trim().split(/\s+/)[0] as string)
    .filter((n) => n && n !== 'id');
  await offline.query(
    `CREATE TABLE \`${dst}\`.types_changed (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, ${names
      .map((n) => `\`${n}\` VARCHAR(1) NULL`)
      .join(', ')}) DEFAULT CHARSET=latin1`,
  );
});

afterAll(async () => {
  await online?.query(`DROP DATABASE IF EXISTS \`${src}\``);
  await offline?.query(`DROP DATABASE IF EXISTS \`${dst}\``);
  await Promise.all([online?.end(), onlineReader?.end(), offline?.end()]);
});

describe('schema drift against real servers', () => {
  it('reports every difference of a drifted twin with its kind and severity', async () => {
    const r = await report('drift');
    expect(r.offline.ref).toEqual({ schema: dst, table: 'drift' });
    expect(r.differences.map(summary)).toEqual(EXPECTED_DRIFT);
    expect(r.worst).toBe('breaks');
    const byKey = (s: string) => r.differences.find((d) => summary(d).startsWith(s)) as SchemaDifference;
    expect(byKey('type name').effect).toBe('values longer than 50 characters are dead-lettered');
    expect(byKey('type note').effect).toBe('values longer than 50 characters are dead-lettered');
    expect(byKey('type amount').effect).toMatch(/rounded to 2 decimal places/);
    expect(byKey('type qty').effect).toMatch(/-2147483648\.\.2147483647/);
    expect(byKey('type at').effect).toMatch(/fractional seconds/);
    expect(byKey('type flags').effect).toMatch(/^value 'c' is not in offline's list/);
    expect(byKey('charset emoji').effect).toMatch(/4-byte characters/);
    expect(byKey('collation tag').effect).toMatch(/^keys may match differently/);
    expect(byKey('nullability opt').effect).toBe('NULLs are dead-lettered');
    expect(byKey('column-missing-offline js').effect).toMatch(/its values are dropped/);
    expect(byKey('column-missing-offline js').ddl).toMatch(/CHECK \(json_valid\(`js`\)\) AFTER `flags`$/);
    expect(byKey('column-extra-offline legacy').effect).toMatch(/^inserts fail \(rows dead-lettered\)/);
    expect(byKey('column-extra-offline legacy')).toMatchObject({
      ddl: `ALTER TABLE \`${dst}\`.\`drift\` DROP COLUMN \`legacy\``,
      ddlRisk: 'loses-offline-data',
    });
    expect(byKey('primary-key').ddl).toBe(
      `ALTER TABLE \`${dst}\`.\`drift\` DROP PRIMARY KEY, ADD PRIMARY KEY (\`id\`)`,
    );
    expect(byKey('unique-key-extra-offline').effect).toBe(
      'rows distinct online may conflict offline (conflict policy decides)',
    );
    expect(byKey('unique-key-missing-offline').effect).toMatch(
      /^offline may accept duplicates online refuses/,
    );
    expect(byKey('generated total').ddl).toMatch(
      /DROP COLUMN `total`, ADD COLUMN `total` bigint\(20\) GENERATED ALWAYS AS \(`qty` \* 2\) VIRTUAL AFTER `status`$/,
    );
  });

  it('running each proposed DDL in turn aligns the offline table', async () => {
    const r = await report('drift');
    for (const d of r.differences) await offline.query(d.ddl);
    await expectAligned('drift');
    // Offline rows survived (their dropped column aside) and took the online definitions.
    const [rows] = await offline.query(
      `SELECT id, code, amount, opt, added FROM \`${dst}\`.drift ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: '1', code: 'a', amount: '1.2500', opt: 'o', added: "x'y\\z" },
      { id: '2', code: 'b', amount: '0.0000', opt: '', added: "x'y\\z" },
    ]);
  });

  it('running the combined statement aligns the offline table in one go', async () => {
    const r = await report('drift_combined');
    expect(r.ddl).toHaveLength(1);
    expect(r.ddl[0]).toMatch(/^ALTER TABLE `[^`]+`\.`drift_combined`\n {2}DROP INDEX `uk_name`,\n/);
    await offline.query(r.ddl[0] as string);
    await expectAligned('drift_combined');
  });

  it('a table online only: CREATE TABLE from online text under the offline name', async () => {
    const r = await report('only_online');
    expect(r.differences.map(summary)).toEqual(['table-missing-offline breaks']);
    expect(r.ddl[0]).toMatch(new RegExp(`^CREATE TABLE \`${dst}\`\\.\`only_online\` \\(`));
    await offline.query(r.ddl[0] as string);
    await expectAligned('only_online');
  });

  it('a table offline only: DROP TABLE, flagged as losing offline data', async () => {
    const r = await report('only_offline');
    expect(r.differences.map((d) => [d.kind, d.severity, d.ddlRisk])).toEqual([
      ['table-extra-offline', 'risk', 'loses-offline-data'],
    ]);
    await offline.query(r.ddl[0] as string);
    const after = await report('only_offline');
    expect(after).toMatchObject({ differences: [], online: { exists: false }, offline: { exists: false } });
  });

  it('a table with every column type, equal on both sides, reports nothing', async () => {
    const onlineRef: TableRef = { schema: src, table: 'types' };
    const r = await schemaDrift(
      reader(onlineReader),
      reader(offline),
      onlineRef,
      mapTable(schemas, onlineRef),
    );
    expect(r).toMatchObject({ differences: [], ddl: [], worst: null });
    expect(r.online.exists && r.offline.exists).toBe(true);
  });

  it('every column type added offline by the proposed ADD COLUMNs comes out equal', async () => {
    const r = await report('types_bare');
    expect(new Set(r.differences.map((d) => d.kind))).toEqual(
      new Set(['column-missing-offline', 'unique-key-missing-offline']),
    );
    for (const d of r.differences) await offline.query(d.ddl);
    await expectAligned('types_bare');
  });

  it('every column type modified back by the proposed MODIFY COLUMNs comes out equal', async () => {
    const r = await report('types_changed');
    expect(r.differences.filter((d) => d.kind === 'type').length).toBeGreaterThan(30);
    await offline.query(r.ddl[0] as string);
    await expectAligned('types_changed');
  });

  it('covers every kind, and only ever reads (SELECT and SHOW)', () => {
    expect([...seenKinds].sort()).toEqual(
      [
        'table-missing-offline',
        'table-extra-offline',
        'table-default-collation',
        'column-missing-offline',
        'column-extra-offline',
        'type',
        'charset',
        'collation',
        'nullability',
        'default',
        'auto-increment',
        'generated',
        'on-update',
        'primary-key',
        'unique-key-missing-offline',
        'unique-key-extra-offline',
      ].sort(),
    );
    expect(statements.length).toBeGreaterThan(0);
    for (const sql of statements) expect(sql).toMatch(/^\s*(SELECT|SHOW)\s/i);
  });
});
