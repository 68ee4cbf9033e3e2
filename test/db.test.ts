import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../shared/config/load';
import { closeAllDatabases, SESSION_SQL_MODE } from '../shared/db/connection';
import { detectServer } from '../shared/db/dialect';
import { getWriteTarget } from '../shared/db/guard';
import { quoteIdentifier } from '../shared/db/identifiers';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema } from './support/env';

describe('connections to the throwaway servers', () => {
  const config = () =>
    parseConfig({
      databases: {
        online: { role: 'online', url: onlineUrl() },
        offline: { role: 'offline', url: offlineUrl() },
      },
    });
  afterAll(closeAllDatabases);

  it('opens one pool per database, reused, with an exact-value session', async () => {
    const cfg = config();
    const db = await getWriteTarget('offline', cfg);
    expect(await getWriteTarget('offline', cfg)).toBe(db);
    expect(db.dialect.kind).toBe('mariadb');
    const [session] = await db.select('SELECT @@session.time_zone AS tz, @@session.sql_mode AS mode');
    expect(session?.tz).toBe('+00:00');
    expect(String(session?.mode).split(',').sort()).toEqual(SESSION_SQL_MODE.split(',').sort());
  });

  it('round-trips values exactly through ? parameters', async () => {
    const db = await getWriteTarget('offline', config());
    const schema = uniqueSchema('db');
    const raw = await rawConnection(offlineUrl());
    await raw.query(`CREATE DATABASE ${quoteIdentifier(schema)}`);
    await raw.query(
      `CREATE TABLE ${quoteIdentifier(schema)}.t (id BIGINT UNSIGNED PRIMARY KEY, d DECIMAL(65,30), ` +
        'dt DATETIME(6), z DATETIME, b VARBINARY(16), s TEXT, bits BIT(64))',
    );
    const bytes = Buffer.from([0, 1, 0x27, 0x5c, 0xff]);
    const text = 'it\'s \\ \u0000 😀 "q" %_';
    await db.execute({
      sql: `INSERT INTO ${quoteIdentifier(schema)}.t VALUES (?, ?, ?, ?, ?, ?, ?)`,
      params: [
        '18446744073709551615',
        '12345678901234567890123456789012345.123456789012345678901234567890',
        '2038-01-19 03:14:08.000001',
        '0000-00-00 00:00:00',
        bytes,
        text,
        Buffer.from('ffffffffffffffff', 'hex'),
      ],
    });
    const [row] = await db.select(`SELECT * FROM ${quoteIdentifier(schema)}.t`);
    expect(row).toEqual({
      id: '18446744073709551615',
      d: '12345678901234567890123456789012345.123456789012345678901234567890',
      dt: '2038-01-19 03:14:08.000001',
      z: '0000-00-00 00:00:00',
      b: bytes,
      s: text,
      bits: Buffer.from('ffffffffffffffff', 'hex'),
    });
    await raw.query(`DROP DATABASE ${quoteIdentifier(schema)}`);
    await raw.end();
  });

  it('rolls a failed transaction back', async () => {
    const db = await getWriteTarget('offline', config());
    const schema = uniqueSchema('tx');
    await db.execute({ sql: `CREATE DATABASE ${quoteIdentifier(schema)}`, params: [] });
    await db.execute({ sql: `CREATE TABLE ${quoteIdentifier(schema)}.t (id INT PRIMARY KEY)`, params: [] });
    await expect(
      db.session(
        () => 60_000,
        (s) =>
          s.transaction(async (tx) => {
            await tx.execute({ sql: `INSERT INTO ${quoteIdentifier(schema)}.t VALUES (?)`, params: ['1'] });
            await tx.execute({ sql: `INSERT INTO ${quoteIdentifier(schema)}.t VALUES (?)`, params: ['1'] });
          }),
      ),
    ).rejects.toThrow(/Duplicate entry/);
    expect(await db.select(`SELECT * FROM ${quoteIdentifier(schema)}.t`)).toEqual([]);
    await db.execute({ sql: `DROP DATABASE ${quoteIdentifier(schema)}`, params: [] });
  });

  it('the online server has a row binlog', async () => {
    const raw = await rawConnection(onlineUrl());
    const [rows] = await raw.query('SELECT @@log_bin AS on_, @@binlog_format AS fmt');
    expect(rows).toEqual([{ on_: '1', fmt: 'ROW' }]);
    await raw.end();
  });
});

describe('detectServer', () => {
  it.each([
    ['10.11.19-MariaDB-0+deb12u1', 'mariadb', false],
    ['5.7.44-log', 'mysql', false],
    ['8.0.18', 'mysql', false],
    ['8.0.19', 'mysql', true],
    ['8.4.3', 'mysql', true],
    ['9.1.0', 'mysql', true],
    ['8.0.11-TiDB-v7.5.1', 'tidb', false],
    ['5.7.25-TiDB-v6.5.0', 'tidb', false],
  ])('%s → %s (row alias %s)', (version, kind, alias) => {
    expect(detectServer(version)).toMatchObject({ kind, supportsRowAlias: alias });
  });
});
