/**
 * Writes events/*.json: real-shaped Lambda events for `serverless invoke local -f <fn> -p events/<file>`.
 * Kafka samples carry the same changes to `shop.t_config` in each wire format, so they stay consistent.
 * Run: npx tsx scripts/make-events.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TOPIC = 'dbserver1.shop.t_config';
const outDir = join(__dirname, '..', 'events');
mkdirSync(outDir, { recursive: true });

const ts = 1_764_000_000_000;
const rows = [
  { id: 1, name: 'feature.flag', value: 'on', price: '9.99', updated_at: '2025-11-24 16:00:00.123' },
  { id: 2, name: 'timeout.ms', value: '3000', price: null, updated_at: '2025-11-24 16:00:01.000' },
];
const updated = { ...rows[1], value: '5000', updated_at: '2025-11-24 16:05:00.000' };

/** DECIMAL(12,2) as Debezium's precise mode sends it: base64 of the unscaled big-endian integer. */
const decimal = (v: string | null) => {
  if (v === null) return null;
  const n = BigInt(v.replace('.', ''));
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  return Buffer.from(hex, 'hex').toString('base64');
};
const millis = (s: string) => Date.parse(`${s.replace(' ', 'T')}Z`);
type Row = (typeof rows)[number];
const dbzRow = (r: Row) => ({ ...r, price: decimal(r.price), updated_at: millis(r.updated_at) });
const field = (
  f: string,
  type: string,
  optional: boolean,
  name?: string,
  parameters?: Record<string, string>,
) => ({
  type,
  optional,
  field: f,
  ...(name ? { name } : {}),
  ...(parameters ? { parameters } : {}),
});
const rowSchema = (f: string) => ({
  type: 'struct',
  optional: true,
  name: 'dbserver1.shop.t_config.Value',
  field: f,
  fields: [
    field('id', 'int64', false),
    field('name', 'string', false),
    field('value', 'string', true),
    field('price', 'bytes', true, 'org.apache.kafka.connect.data.Decimal', {
      scale: '2',
      'connect.decimal.precision': '12',
    }),
    field('updated_at', 'int64', true, 'io.debezium.time.Timestamp'),
  ],
});
const source = {
  version: '2.7.0.Final',
  connector: 'mysql',
  name: 'dbserver1',
  ts_ms: ts,
  db: 'shop',
  table: 't_config',
  server_id: 1,
  file: 'mysql-bin.000003',
  pos: 154,
  row: 0,
};
const dbz = (op: string, before: Row | null, after: Row | null) => ({
  before: before && dbzRow(before),
  after: after && dbzRow(after),
  source,
  op,
  ts_ms: ts + 12,
});
const envelope = (payload: object) => ({
  schema: {
    type: 'struct',
    name: 'dbserver1.shop.t_config.Envelope',
    optional: false,
    fields: [
      rowSchema('before'),
      rowSchema('after'),
      { type: 'struct', field: 'source', optional: false, fields: [] },
      field('op', 'string', false),
      field('ts_ms', 'int64', true),
    ],
  },
  payload,
});
const canalTypes = {
  id: 'bigint(20)',
  name: 'varchar(64)',
  value: 'text',
  price: 'decimal(12,2)',
  updated_at: 'datetime(3)',
};
const canalSql = { id: -5, name: 12, value: 2005, price: 3, updated_at: 93 };
const str = (r: Row) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)]));
const canal = (type: string, data: Row[], old: Partial<Row>[] | null, tidb = false) => ({
  id: 0,
  database: 'shop',
  table: 't_config',
  pkNames: ['id'],
  isDdl: false,
  type,
  es: ts,
  ts: ts + 20,
  sql: '',
  sqlType: canalSql,
  mysqlType: canalTypes,
  data: data.map(str),
  old: old?.map((o) => str(o as Row)) ?? null,
  ...(tidb ? { _tidb: { commitTs: ((BigInt(ts) << 18n) + 7n).toString() } } : {}),
});
const maxwellRaw = (type: string, r: Row, old?: Partial<Row>) =>
  // Maxwell sends DECIMAL as a JSON number: splice the digits in verbatim.
  JSON.stringify({
    database: 'shop',
    table: 't_config',
    type,
    ts: ts / 1000,
    xid: 8123,
    commit: true,
    data: { ...r, price: r.price === null ? null : `@@${r.price}@@` },
    ...(old ? { old } : {}),
  }).replace(/"@@([-\d.]+)@@"/g, '$1');

function kafkaRecord(value: string | null, offset: number, key: object) {
  return {
    topic: TOPIC,
    partition: 0,
    offset,
    timestamp: ts + 30,
    timestampType: 'CREATE_TIME',
    key: Buffer.from(JSON.stringify(key)).toString('base64'),
    value: value === null ? null : Buffer.from(value).toString('base64'),
    headers: [],
  };
}

function mskEvent(values: (string | null)[], selfManaged = false) {
  return {
    eventSource: selfManaged ? 'SelfManagedKafka' : 'aws:kafka',
    ...(selfManaged
      ? {}
      : {
          eventSourceArn:
            'arn:aws:kafka:us-east-1:123456789012:cluster/prod-msk/0a1b2c3d-4e5f-6789-abcd-ef0123456789-1',
        }),
    bootstrapServers: selfManaged
      ? 'kafka-1.internal:9092,kafka-2.internal:9092'
      : 'b-1.prod-msk.abc123.c2.kafka.us-east-1.amazonaws.com:9098',
    records: { [`${TOPIC}-0`]: values.map((v, i) => kafkaRecord(v, 100 + i, { id: i + 1 })) },
  };
}

const [r1, r2] = rows as [Row, Row];
const debezium = [dbz('c', null, r1), dbz('c', null, r2), dbz('u', r2, updated as Row), dbz('d', r1, null)];
const files: Record<string, object> = {
  'msk-debezium.json': mskEvent([...debezium.map((p) => JSON.stringify(envelope(p))), null]),
  'msk-debezium-noschema.json': mskEvent(debezium.map((p) => JSON.stringify(p))),
  'kafka-debezium.json': mskEvent(
    debezium.map((p) => JSON.stringify(p)),
    true,
  ),
  'msk-canal.json': mskEvent([
    JSON.stringify(canal('INSERT', [r1, r2], null)),
    JSON.stringify(canal('UPDATE', [updated as Row], [{ value: r2.value, updated_at: r2.updated_at }])),
    JSON.stringify(canal('DELETE', [r1], null)),
  ]),
  'kafka-canal-tidb.json': mskEvent(
    [
      JSON.stringify(canal('INSERT', [r1, r2], null, true)),
      JSON.stringify(canal('UPDATE', [updated as Row], [r2], true)),
      JSON.stringify({
        id: 0,
        database: '',
        table: '',
        pkNames: null,
        isDdl: false,
        type: 'TIDB_WATERMARK',
        es: ts,
        ts: ts,
        sql: '',
        sqlType: null,
        mysqlType: null,
        data: null,
        old: null,
        _tidb: { watermarkTs: String(BigInt(ts) << 18n) },
      }),
      JSON.stringify(canal('DELETE', [r1], null, true)),
    ],
    true,
  ),
  'msk-maxwell.json': mskEvent([
    maxwellRaw('insert', r1),
    maxwellRaw('insert', r2),
    maxwellRaw('update', updated as Row, { value: r2.value, updated_at: r2.updated_at }),
    maxwellRaw('delete', r1),
  ]),
};

function httpEvent(method: string, path: string, body?: object) {
  return {
    version: '2.0',
    routeKey: `${method} ${path.replace(/[0-9a-f-]{36}$/, '{jobId}')}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', host: 'abc123.execute-api.us-east-1.amazonaws.com' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: { jwt: { claims: { sub: 'qa-alice', email: 'alice@example.com' }, scopes: [] } },
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '24/Nov/2025:16:00:00 +0000',
      timeEpoch: ts,
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
    isBase64Encoded: false,
  };
}
const request = { source: 'shop_online', table: 'shop.t_config', where: 'id IN (1,2,3) OR id < 10' };
files['http-sync-dry-run.json'] = httpEvent('POST', '/sync', { ...request, dryRun: true });
files['http-sync-run.json'] = httpEvent('POST', '/sync', { ...request, dryRun: false, mode: 'upsert' });
files['http-sync-status.json'] = httpEvent('GET', '/sync/8f14e45f-ceea-4e7a-9b0e-3f6b2a1c0d9e');
files['http-dead-letters.json'] = httpEvent('GET', '/dead-letters');

for (const [name, event] of Object.entries(files))
  writeFileSync(join(outDir, name), `${JSON.stringify(event, null, 2)}\n`);
console.log(`wrote ${Object.keys(files).length} events to ${outDir}`);
