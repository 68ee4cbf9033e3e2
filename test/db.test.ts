import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../shared/config/load';
import { closeAllDatabases, SESSION_SQL_MODE } from '../shared/db/connection';
import { detectServer } from '../shared/db/dialect';
import { getWriteTarget } from '../shared/db/guard';
import { quoteIdentifier } from '../shared/db/identifiers';
import { ensureDeadLetterTable } from '../shared/reliability/dead-letters';
import { ensurePositionsTable } from '../shared/reliability/positions';
import { startThrowawayServer } from './harness/mysql-server';
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

describe('bookkeeping tables', () => {
  it('a fresh install creates them whole; a table from an earlier release gains the new columns', async () => {
    // A private server: the shared one's cdc_mirror schema belongs to the other test files.
    const server = await startThrowawayServer();
    try {
      const cfg = parseConfig({ databases: { offline: { role: 'offline', url: server.url } } });
      const raw = await rawConnection(server.url);
      // dead_letters as the first release created it.
      await raw.query(`CREATE DATABASE cdc_mirror; CREATE TABLE cdc_mirror.dead_letters (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, topic VARCHAR(249) NOT NULL,
        kafka_partition INT NOT NULL, kafka_offset BIGINT NOT NULL, row_index INT NOT NULL DEFAULT 0,
        target VARCHAR(64) NOT NULL, table_name VARCHAR(200) NULL, record_key LONGBLOB NULL,
        raw_value LONGBLOB NULL, error TEXT NOT NULL, error_class VARCHAR(32) NOT NULL,
        status VARCHAR(16) NOT NULL DEFAULT 'open', attempts INT NOT NULL DEFAULT 1,
        first_seen DATETIME(6) NOT NULL, last_seen DATETIME(6) NOT NULL,
        UNIQUE KEY uk_position (topic, kafka_partition, kafka_offset, row_index))`);
      const target = await getWriteTarget('offline', cfg);
      await ensureDeadLetterTable(target);
      await ensurePositionsTable(target);
      const columns = async (table: string) => {
        const [rows] = await raw.query(
          `SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'cdc_mirror' AND TABLE_NAME = ? ORDER BY c`,
          [table],
        );
        return (rows as { c: string }[]).map((r) => r.c);
      };
      expect(await columns('dead_letters')).toEqual(
        expect.arrayContaining([
          'row_key_hash',
          'value_bytes',
          'value_sha256',
          'value_truncated',
          'superseded_by',
          'discarded_by',
        ]),
      );
      expect(await columns('positions')).toContain('source_time');
      // A fresh install: every column from the CREATE itself.
      await raw.query('DROP DATABASE cdc_mirror');
      await closeAllDatabases();
      await ensureDeadLetterTable(await getWriteTarget('offline', cfg));
      expect((await columns('dead_letters')).sort()).toEqual(
        [
          'id',
          'topic',
          'kafka_partition',
          'kafka_offset',
          'row_index',
          'target',
          'table_name',
          'record_key',
          'raw_value',
          'error',
          'error_class',
          'status',
          'attempts',
          'first_seen',
          'last_seen',
          'row_key_hash',
          'value_bytes',
          'value_sha256',
          'value_truncated',
          'superseded_by',
          'discarded_by',
        ].sort(),
      );
      await raw.end();
    } finally {
      await closeAllDatabases();
      await server.stop();
    }
  });
});
