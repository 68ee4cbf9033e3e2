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
  snapshot: 'false',
  db: 'shop',
  sequence: null,
  table: 't_config',
  server_id: 1,
  gtid: null,
  file: 'mysql-bin.000003',
  pos: 154,
  row: 0,
  thread: 7,
  query: null,
};
const sourceSchema = {
  type: 'struct',
  optional: false,
  name: 'io.debezium.connector.mysql.Source',
  field: 'source',
  fields: [
    field('version', 'string', false),
    field('connector', 'string', false),
    field('name', 'string', false),
    field('ts_ms', 'int64', false),
    field('snapshot', 'string', true, 'io.debezium.data.Enum', { allowed: 'true,last,false,incremental' }),
    field('db', 'string', false),
    field('sequence', 'string', true),
    field('table', 'string', true),
    field('server_id', 'int64', false),
    field('gtid', 'string', true),
    field('file', 'string', false),
    field('pos', 'int64', false),
    field('row', 'int32', false),
    field('thread', 'int64', true),
    field('query', 'string', true),
  ],
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
      sourceSchema,
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

/** One Kafka message: the row it is about (the record key) and its JSON text (null: a tombstone). */
type Message = { id: number; value: string | null };
const msg = (id: number, value: object | string | null): Message => ({
  id,
  value: value === null || typeof value === 'string' ? value : JSON.stringify(value),
});

/** A Kafka record as Lambda delivers it: key and value base64-encoded. */
function kafkaRecord(message: Message, offset: number) {
  return {
    topic: TOPIC,
    partition: 0,
    offset,
    timestamp: ts + 30 + offset,
    timestampType: 'CREATE_TIME',
    key: Buffer.from(JSON.stringify({ id: message.id })).toString('base64'),
    value: message.value === null ? null : Buffer.from(message.value).toString('base64'),
    headers: [],
  };
}

const MSK_ARN =
  'arn:aws:kafka:us-east-1:123456789012:cluster/prod-msk/0a1b2c3d-4e5f-6789-abcd-ef0123456789-1';

/** An MSK (`aws:kafka`) or self-managed (`SelfManagedKafka`) event with the messages on partition 0. */
function kafkaEvent(messages: Message[], selfManaged = false) {
  return {
    eventSource: selfManaged ? 'SelfManagedKafka' : 'aws:kafka',
    ...(selfManaged ? {} : { eventSourceArn: MSK_ARN }),
    bootstrapServers: selfManaged
      ? 'kafka-1.internal:9092,kafka-2.internal:9092'
      : 'b-1.prod-msk.abc123.c2.kafka.us-east-1.amazonaws.com:9098,b-2.prod-msk.abc123.c2.kafka.us-east-1.amazonaws.com:9098',
    records: { [`${TOPIC}-0`]: messages.map((m, i) => kafkaRecord(m, 100 + i)) },
  };
}

// The story every Kafka sample tells: rows 1 and 2 inserted, row 2 updated, row 1 deleted.
const [r1, r2] = rows as [Row, Row];
const up = updated as Row;
const debezium = [dbz('c', null, r1), dbz('c', null, r2), dbz('u', r2, up), dbz('d', r1, null)];
const debeziumIds = [1, 2, 2, 1];
const tidbWatermark = {
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
};

const files: Record<string, object> = {
  // Debezium with the JSON converter's schemas, then the tombstone that follows a delete.
  'msk-debezium.json': kafkaEvent([
    ...debezium.map((p, i) => msg(debeziumIds[i] as number, envelope(p))),
    msg(1, null),
  ]),
  'msk-debezium-noschema.json': kafkaEvent(debezium.map((p, i) => msg(debeziumIds[i] as number, p))),
  'kafka-debezium.json': kafkaEvent(
    debezium.map((p, i) => msg(debeziumIds[i] as number, p)),
    true,
  ),
  'msk-canal.json': kafkaEvent([
    msg(1, canal('INSERT', [r1, r2], null)),
    msg(2, canal('UPDATE', [up], [{ value: r2.value, updated_at: r2.updated_at }])),
    msg(1, canal('DELETE', [r1], null)),
  ]),
  // TiCDC's canal-json with enable-tidb-extension: commit ts on every row message, watermarks in between.
  'kafka-canal-tidb.json': kafkaEvent(
    [
      msg(1, canal('INSERT', [r1, r2], null, true)),
      msg(2, canal('UPDATE', [up], [r2], true)),
      msg(0, tidbWatermark),
      msg(1, canal('DELETE', [r1], null, true)),
    ],
    true,
  ),
  'msk-maxwell.json': kafkaEvent([
    msg(1, maxwellRaw('insert', r1)),
    msg(2, maxwellRaw('insert', r2)),
    msg(2, maxwellRaw('update', up, { value: r2.value, updated_at: r2.updated_at })),
    msg(1, maxwellRaw('delete', r1)),
  ]),
};

// --- API Gateway HTTP API (payload format 2.0) requests for manualSync ---

const JWT = {
  jwt: {
    claims: {
      sub: 'qa-alice',
      email: 'alice@example.com',
      iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf',
      aud: 'cdc-mirror',
    },
    scopes: null,
  },
};
const IAM = {
  iam: {
    accessKey: 'ASIAEXAMPLEKEY000000',
    accountId: '123456789012',
    callerId: 'AROAEXAMPLEROLE00000:qa-bob',
    cognitoIdentity: null,
    principalOrgId: null,
    userArn: 'arn:aws:sts::123456789012:assumed-role/qa-engineer/qa-bob',
    userId: 'AROAEXAMPLEROLE00000:qa-bob',
  },
};

function httpEvent(
  method: string,
  route: string,
  pathParameters: Record<string, string>,
  authorizer: object,
  body?: object,
) {
  const path = route.replace(/\{(\w+)\}/g, (_, name: string) => pathParameters[name] ?? name);
  return {
    version: '2.0',
    routeKey: `${method} ${route}`,
    rawPath: path,
    rawQueryString: '',
    headers: {
      accept: 'application/json',
      ...('jwt' in authorizer ? { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.example.signature' } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      'user-agent': 'curl/8.5.0',
      'x-forwarded-for': '203.0.113.7',
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer,
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      routeKey: `${method} ${route}`,
      stage: '$default',
      time: '24/Nov/2025:16:00:00 +0000',
      timeEpoch: ts,
    },
    ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
    ...(body ? { body: JSON.stringify(body) } : {}),
    isBase64Encoded: false,
  };
}
const request = { source: 'shop_online', table: 'shop.t_config', where: 'id IN (1,2,3) OR id < 10' };
files['http-sync-dry-run.json'] = httpEvent('POST', '/sync', {}, JWT, { ...request, dryRun: true });
files['http-sync-run.json'] = httpEvent('POST', '/sync', {}, JWT, {
  ...request,
  dryRun: false,
  mode: 'upsert',
});
// With `api.auth.type: iam` the caller is the signing IAM principal.
files['http-sync-status.json'] = httpEvent(
  'GET',
  '/sync/{jobId}',
  { jobId: '8f14e45f-ceea-4e7a-9b0e-3f6b2a1c0d9e' },
  IAM,
);
files['http-dead-letters.json'] = httpEvent('GET', '/dead-letters', {}, JWT);

for (const [name, event] of Object.entries(files)) {
  writeFileSync(join(outDir, name), `${JSON.stringify(event, null, 2)}\n`);
}
console.log(`wrote ${Object.keys(files).length} events to ${outDir}`);
