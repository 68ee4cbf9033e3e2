import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { flattenRecords, type KafkaRecordRef, type PlannedItem, planBatch } from './plan-batch';
import { segmentItems } from './target-applier';

/** Records in, planned items out, no server: like tiflow's sqlmodel tests, one row per case. */

const config = parseConfig({
  databases: {
    on: { role: 'online', url: 'mysql://r@10.0.0.1:3306' },
    off: { role: 'offline', url: 'mysql://w@10.0.0.2:3306' },
    off2: { role: 'offline', url: 'mysql://w@10.0.0.3:3306' },
  },
  cdc: [
    { topics: ['t'], target: 'off', schemas: { shop: 'shop_test' }, applyDdl: true },
    { topics: ['other'], target: 'off2', tables: ['shop.keep*'] },
  ],
});

const entryOf = (topic: string) => config.cdc.find((e) => e.topics.includes(topic));

function rec(offset: number, value: unknown, topic = 't', partition = 0): KafkaRecordRef {
  return {
    position: { topic, partition, offset: String(offset), index: 0 },
    key: null,
    value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    entry: entryOf(topic),
  };
}

const dbz = (op: string, table: string, after: Record<string, unknown> | null, db = 'shop') => ({
  op,
  source: { db, table },
  before: null,
  after,
});
const canalDdl = (sql: string, table = 'cfg') => ({
  database: 'shop',
  table,
  isDdl: true,
  type: 'ALTER',
  sql,
  data: null,
});

/** A compact view of a planned item: what it is and where it came from. */
function view(item: PlannedItem): string {
  const at = `@${item.record.position.offset}`;
  switch (item.kind) {
    case 'change':
      return `${item.change.kind} ${item.change.table.schema}.${item.change.table.table}${at}`;
    case 'ddl':
      return `ddl ${item.table.schema}.${item.table.table}${item.execute ? ' run' : ''}${item.refused ? ' refused' : ''}${at}`;
    case 'dead-letter':
      return `dead-letter ${item.errorClass}${at}`;
  }
}

describe('planBatch', () => {
  it.each([
    [
      'a row change, renamed to the offline schema',
      [rec(1, dbz('c', 'cfg', { id: 1 }))],
      ['insert shop_test.cfg@1'],
    ],
    [
      'DDL keeps its place between rows',
      [
        rec(1, dbz('c', 'cfg', { id: 1 })),
        rec(2, canalDdl('DROP TABLE cfg')),
        rec(3, dbz('c', 'cfg', { id: 2 })),
      ],
      ['insert shop_test.cfg@1', 'ddl shop_test.cfg run@2', 'insert shop_test.cfg@3'],
    ],
    [
      'dangerous DDL is planned as refused, at its place',
      [
        rec(1, canalDdl("CREATE TABLE cfg (id INT) ENGINE=FEDERATED CONNECTION='mysql://x@h/d/t'")),
        rec(2, canalDdl('CREATE USER x')),
      ],
      ['ddl shop_test.cfg refused@1', 'ddl shop_test.cfg refused@2'],
    ],
    ['undecodable JSON', [rec(1, '{nope')], ['dead-letter decode@1']],
    ['invalid UTF-8', [rec(1, Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1'))], ['dead-letter decode@1']],
    [
      'a table name no server accepts (4-byte character)',
      [rec(1, dbz('c', 'cfg😀', { id: 1 }))],
      ['dead-letter table@1'],
    ],
    [
      'a table name over 64 characters',
      [rec(1, dbz('c', 'x'.repeat(200), { id: 1 }))],
      ['dead-letter table@1'],
    ],
    ['system schemas are never mirrored', [rec(1, dbz('c', 'global_priv', { Host: '%' }, 'mysql'))], []],
    ['tombstones are filtered', [rec(1, null)], []],
  ])('%s', (_name, records, expected) => {
    const plan = planBatch(records);
    expect(plan.targets.flatMap((t) => t.items.map(view))).toEqual(expected);
  });

  it('keeps targets apart and filters what a table pattern excludes', () => {
    const plan = planBatch([
      rec(1, dbz('c', 'cfg', { id: 1 })),
      rec(2, dbz('c', 'keep_me', { id: 1 }), 'other'),
      rec(3, dbz('c', 'drop', { id: 1 }), 'other'),
    ]);
    expect(plan.targets.map((t) => [t.target, t.items.map(view)])).toEqual([
      ['off', ['insert shop_test.cfg@1']],
      ['off2', ['insert shop.keep_me@2']],
    ]);
    expect(plan.filtered).toBe(1);
  });
});

describe('flattenRecords', () => {
  it('orders each partition by offset, whatever order the event lists them in', () => {
    const record = (offset: number) => ({
      topic: 't',
      partition: 0,
      offset,
      timestamp: 0,
      timestampType: 'CREATE_TIME' as const,
      key: '',
      value: '',
      headers: [],
    });
    const event = {
      eventSource: 'aws:kafka' as const,
      eventSourceArn: 'a',
      bootstrapServers: 'b',
      records: { 't-0': [record(12), record(10), record(11)] },
    };
    expect(flattenRecords(event, config).map((r) => r.position.offset)).toEqual(['10', '11', '12']);
  });
});

describe('segmentItems', () => {
  const plan = planBatch([
    rec(1, dbz('c', 'cfg', { id: 1 })),
    rec(2, dbz('c', 'cfg', { id: 2 })),
    rec(3, canalDdl('DROP TABLE cfg')),
    rec(4, dbz('c', 'cfg', { id: 3 })),
  ]);
  const items = plan.targets[0]?.items ?? [];

  it('cuts at each DDL and never reorders', () => {
    expect(
      segmentItems(items, { changesPerTransaction: Number.POSITIVE_INFINITY }).map((s) =>
        s.kind === 'ddl' ? 'ddl' : s.items.length,
      ),
    ).toEqual([2, 'ddl', 1]);
  });

  it('caps a transaction where the server caps its size (TiDB)', () => {
    expect(
      segmentItems(items, { changesPerTransaction: 1 }).map((s) =>
        s.kind === 'ddl' ? 'ddl' : s.items.length,
      ),
    ).toEqual([1, 1, 'ddl', 1]);
  });
});
