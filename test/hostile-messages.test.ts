import { createHash } from 'node:crypto';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { syncBatch } from '../shared/cdc/sync-batch';
import { parseConfig } from '../shared/config/load';
import type { SyncConfig } from '../shared/config/schema';
import { closeAllDatabases } from '../shared/db/connection';
import { logger } from '../shared/observability';
import { startThrowawayServer, type ThrowawayServer } from './harness/mysql-server';
import { onlineUrl, rawConnection } from './support/env';
import { mskEvent, type TestRecord } from './support/kafka';
import { captureLogs } from './support/logs';

/**
 * No record blocks a partition. One batch carries good records around more than thirty hostile ones:
 * oversized names, fields, values and messages, bad encodings, wrong shapes, system schemas and
 * dangerous DDL. The offline server is private, with a 1 MiB max_allowed_packet, so "larger than the
 * server accepts" is real. The handler must return normally, apply every good record, and dead-letter
 * or filter each bad one with its position logged; a second delivery changes nothing but attempts.
 */
let offline: ThrowawayServer;
let raw: Connection;
let config: SyncConfig;
let logs: ReturnType<typeof captureLogs>;

const TOPIC = 'hostile';
const dbz = (op: string, db: string, table: string, after: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ op, source: { db, table }, before: null, after, ...extra });
const canalDdl = (sql: string, table = 'cfg') =>
  JSON.stringify({ database: 'shop', table, isDdl: true, type: 'QUERY', sql, data: null });
const good = (id: number) => dbz('c', 'shop', 'cfg', { id, name: `good-${id}`, note: 'ok' });

/** [what, the Kafka value (string or raw bytes), what must happen: dead-lettered or filtered] */
const HOSTILE: [string, string | Buffer | null, 'dead' | 'filtered'][] = [
  ['invalid JSON', '{nope', 'dead'],
  ['a JSON array', '[]', 'dead'],
  ['a JSON string', '"x"', 'dead'],
  ['an empty object', '{}', 'dead'],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'dead'],
  ['UTF-16 text', Buffer.from(good(900), 'utf16le'), 'dead'],
  ['an op of 40,000 é', dbz('é'.repeat(40_000), 'shop', 'cfg', { id: 1 }), 'dead'],
  ['a table name of 300 characters', dbz('c', 'shop', 't'.repeat(300), { id: 1 }), 'dead'],
  ['a 4-byte character in a table name', dbz('c', 'shop', 'cfg😀', { id: 1 }), 'dead'],
  ['a NUL in a schema name', dbz('c', 'sh\u0000op', 'cfg', { id: 1 }), 'dead'],
  ['a 4-byte character in a column name', dbz('c', 'shop', 'cfg', { id: 901, 'n😀': 'x' }), 'filtered'],
  [
    'mysql.global_priv (a superuser)',
    dbz('c', 'mysql', 'global_priv', { Host: '%', User: 'evil', Priv: '{}' }),
    'filtered',
  ],
  ['mysql.user', dbz('c', 'MySQL', 'user', { Host: '%', User: 'evil' }), 'filtered'],
  ['information_schema', dbz('c', 'information_schema', 'TABLES', { x: 1 }), 'filtered'],
  ['performance_schema', dbz('c', 'performance_schema', 'threads', { x: 1 }), 'filtered'],
  ['sys', dbz('c', 'sys', 'sys_config', { variable: 'x', value: 'y' }), 'filtered'],
  [
    'cdc_mirror bookkeeping',
    dbz('c', 'cdc_mirror', 'dead_letters', { id: 1, status: 'resolved' }),
    'filtered',
  ],
  ['an unknown table', dbz('c', 'shop', 'nope', { id: 1 }), 'dead'],
  ['a table without a key', dbz('c', 'shop', 'nokey', { a: 1 }), 'dead'],
  [
    'a value too long for its column',
    dbz('c', 'shop', 'cfg', { id: 902, name: 'n', note: 'x'.repeat(100) }),
    'dead',
  ],
  [
    'a value larger than max_allowed_packet',
    dbz('c', 'shop', 'cfg', { id: 903, name: 'y'.repeat(1_200_000) }),
    'dead',
  ],
  ['a message larger than max_allowed_packet', `{"op":"c",${'"pad":"z",'.repeat(300_000)}`, 'dead'],
  ['a key that is not a number', dbz('c', 'shop', 'cfg', { id: 'abc', name: 'n' }), 'dead'],
  ['no key column', dbz('c', 'shop', 'cfg', { name: 'no id' }), 'dead'],
  ['after: null on an insert', dbz('c', 'shop', 'cfg', null), 'dead'],
  ['an unknown op', dbz('z', 'shop', 'cfg', { id: 1 }), 'dead'],
  ['JSON nested 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'dead'],
  [
    '1e400 for an INT key',
    '{"op":"c","source":{"db":"shop","table":"cfg"},"before":null,"after":{"id":1e400,"name":"n"}}',
    'dead',
  ],
  [
    'Canal data that is not an array',
    JSON.stringify({ database: 'shop', table: 'cfg', type: 'INSERT', isDdl: false, data: 'x' }),
    'dead',
  ],
  [
    'Maxwell insert without data',
    JSON.stringify({ database: 'shop', table: 'cfg', type: 'insert', ts: 1 }),
    'dead',
  ],
  ['DDL: CREATE USER', canalDdl("CREATE USER 'evil'@'%' IDENTIFIED BY 'x'"), 'dead'],
  [
    'DDL: FEDERATED table reaching another server',
    canalDdl(
      "CREATE TABLE cfg2 (id INT) ENGINE=FEDERATED CONNECTION='mysql://root@127.0.0.1:1/prod/t'",
      'cfg2',
    ),
    'dead',
  ],
  ['DDL: INSTALL SONAME', canalDdl("INSTALL SONAME 'ha_connect'"), 'dead'],
  ['DDL: a data statement', canalDdl("INSERT INTO cfg VALUES (904, 'ddl', 'x')"), 'dead'],
  ['DDL: another table', canalDdl('DROP TABLE other'), 'dead'],
  ['DDL: GRANT', canalDdl('GRANT ALL ON *.* TO evil'), 'dead'],
  ['a tombstone', null, 'filtered'],
];

beforeAll(async () => {
  offline = await startThrowawayServer({ extraArgs: ['--max-allowed-packet=1M'] });
  raw = await rawConnection(offline.url);
  await raw.query(
    'CREATE DATABASE shop; CREATE TABLE shop.cfg (id INT PRIMARY KEY, name VARCHAR(32), note VARCHAR(16)); CREATE TABLE shop.nokey (a INT); CREATE TABLE shop.other (id INT PRIMARY KEY)',
  );
  config = parseConfig({
    databases: {
      online: { role: 'online', url: onlineUrl() },
      offline: { role: 'offline', url: offline.url },
    },
    cdc: [{ topics: [TOPIC], target: 'offline', applyDdl: true }],
  });
  logs = captureLogs('INFO');
}, 120_000);

afterAll(async () => {
  vi.restoreAllMocks();
  logger.setLogLevel('SILENT' as never);
  await closeAllDatabases();
  await raw.end();
  await offline.stop();
});

function batch(): { records: TestRecord[]; offsets: number[]; goodIds: number[] } {
  const records: TestRecord[] = [];
  const goodIds: number[] = [];
  HOSTILE.forEach(([, value], i) => {
    goodIds.push(i + 1);
    records.push({ topic: TOPIC, value: good(i + 1) });
    records.push({
      topic: TOPIC,
      value: value as string | null,
      key: i === 0 ? 'k'.repeat(100_000) : `k${i}`,
    });
  });
  goodIds.push(500);
  records.push({ topic: TOPIC, value: good(500) });
  return { records, offsets: records.map((_, i) => 10_000 + i), goodIds };
}

/** mskEvent takes strings; raw bytes go in as they are. */
function event(records: TestRecord[], offsets: number[]) {
  const e = mskEvent(records, offsets);
  for (const [i, [, value]] of HOSTILE.entries()) {
    if (Buffer.isBuffer(value)) {
      const r = (e.records[`${TOPIC}-0`] ?? [])[2 * i + 1];
      if (r) r.value = value.toString('base64');
    }
  }
  return e;
}

describe('a hostile batch', () => {
  it(`(${HOSTILE.length} bad records among good ones) never blocks the partition`, async () => {
    const { records, offsets, goodIds } = batch();
    const summary = await syncBatch(event(records, offsets), config, () => 120_000);
    expect(summary.batchItemFailures).toEqual([]);

    const [rows] = (await raw.query('SELECT id FROM shop.cfg ORDER BY id')) as unknown as [{ id: string }[]];
    // Every good record, plus the one row whose unknown column was dropped (n😀 is not a column here).
    expect(rows.map((r) => Number(r.id))).toEqual([...goodIds, 901].sort((a, b) => a - b));

    const [letters] = (await raw.query(
      'SELECT kafka_offset, error_class, error, attempts, value_bytes, value_truncated, value_sha256, LENGTH(raw_value) AS stored, LENGTH(record_key) AS key_len FROM cdc_mirror.dead_letters ORDER BY kafka_offset',
    )) as unknown as [Record<string, string>[]];
    const expectedDead = HOSTILE.flatMap(([, , fate], i) =>
      fate === 'dead' ? [String(offsets[2 * i + 1])] : [],
    );
    expect(letters.map((l) => l.kafka_offset)).toEqual(expectedDead);
    expect(letters.every((l) => Number(l.attempts) === 1)).toBe(true);

    // Each one is logged with its position.
    for (const offset of expectedDead) expect(logs.text()).toContain(`${TOPIC}-0@${offset}`);
    // Filtered ones too (the log names the first of them).
    expect(logs.text()).toMatch(/records filtered/);

    // The message too large for the server is kept cut, with its full length and hash.
    const hugeIndex = HOSTILE.findIndex(([what]) => what === 'a message larger than max_allowed_packet');
    const huge = HOSTILE[hugeIndex]?.[1] as string;
    const hugeLetter = letters.find((l) => l.kafka_offset === String(offsets[2 * hugeIndex + 1]));
    expect(hugeLetter).toMatchObject({
      value_truncated: '1',
      value_bytes: String(Buffer.byteLength(huge)),
      value_sha256: createHash('sha256').update(huge).digest('hex'),
    });
    expect(Number(hugeLetter?.stored)).toBeLessThan(Buffer.byteLength(huge));
    // The error of the 40,000-é op is cut on a character boundary, well under TEXT's 64 KiB.
    const opLetter = letters.find((l) => l.kafka_offset === String(offsets[2 * 6 + 1]));
    expect(Buffer.byteLength(String(opLetter?.error))).toBeLessThanOrEqual(16_000);
    expect(String(opLetter?.error)).not.toContain('\uFFFD');

    // System schemas and dangerous DDL changed nothing.
    const [users] = await raw.query("SELECT User FROM mysql.global_priv WHERE User = 'evil'");
    expect(users).toEqual([]);
    const [tables] = await raw.query("SHOW TABLES FROM shop LIKE 'cfg2'");
    expect(tables).toEqual([]);
    const [other] = await raw.query("SHOW TABLES FROM shop LIKE 'other'");
    expect(other).toHaveLength(1);
  });

  it('delivered again, changes nothing but the attempts', async () => {
    const { records, offsets } = batch();
    const summary = await syncBatch(event(records, offsets), config, () => 120_000);
    expect(summary.batchItemFailures).toEqual([]);
    const [letters] = (await raw.query(
      'SELECT COUNT(*) AS n, MIN(attempts) AS a FROM cdc_mirror.dead_letters',
    )) as unknown as [{ n: string; a: string }[]];
    expect(letters[0]).toEqual({ n: String(HOSTILE.filter(([, , f]) => f === 'dead').length), a: '2' });
  });
});
