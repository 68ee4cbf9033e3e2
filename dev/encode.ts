/**
 * What Debezium, Canal and Maxwell publish for a row of the online server, following
 * each tool's documented encoding (Debezium MySQL connector defaults: decimal.handling.mode=precise,
 * time.precision.mode=adaptive_time_microseconds, bigint.unsigned.handling.mode=long,
 * binary.handling.mode=base64). Rows are in exactTypeCast's form (text or Buffers), whether read with a
 * query or captured from the binlog (dev/capture.ts). Numbers are written into the JSON text digit for
 * digit, never through a JS float. The tests, the bench and the local pipeline all publish through here.
 */
import {
  BINARY_TYPES as BINARY,
  GEOMETRY_TYPES as GEOMETRY,
  INTEGER_TYPES as INTS,
} from '../shared/formats/column-types';
import { wkbToWkt } from '../shared/formats/geometry';
import type { ColumnInfo, SqlValue } from '../shared/types';

export type RawDbRow = Record<string, SqlValue>;

/** A numeral to splice into JSON text as is. */
class Raw {
  constructor(readonly text: string) {}
}
type Json = null | boolean | string | Raw | Json[] | { [k: string]: Json };

function toJson(v: Json): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const text = (v: SqlValue): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
const bitValue = (v: Buffer): bigint => (v.length ? BigInt(`0x${v.toString('hex')}`) : 0n);
const isZeroDate = (s: string) => /^0000-00-00/.test(s) || /-00(-| |$)/.test(s.slice(0, 10));

function epochMicros(s: string): bigint {
  const [date = '', time = '00:00:00'] = s.split(' ');
  const [hms = '', frac = ''] = time.split('.');
  const d = new Date(`${date}T${hms}Z`);
  if (Number.isNaN(d.getTime())) {
    // Years before 1000 etc: build it piecewise.
    const [y, m, dd] = date.split('-').map(Number);
    const [h, mi, se] = hms.split(':').map(Number);
    const x = new Date(0);
    x.setUTCFullYear(y as number, (m as number) - 1, dd as number);
    x.setUTCHours(h as number, mi as number, se as number, 0);
    return BigInt(x.getTime()) * 1000n + BigInt(frac.padEnd(6, '0'));
  }
  return BigInt(d.getTime()) * 1000n + BigInt(frac.padEnd(6, '0').slice(0, 6));
}

function timeMicros(s: string): bigint {
  const neg = s.startsWith('-');
  const [hms = '', frac = ''] = s.replace(/^-/, '').split('.');
  const [h, m, sec] = hms.split(':').map((x) => BigInt(x));
  const us =
    (((h as bigint) * 60n + (m as bigint)) * 60n + (sec as bigint)) * 1_000_000n +
    BigInt(frac.padEnd(6, '0'));
  return neg ? -us : us;
}

function unscaledBase64(decimal: string, scale: number): string {
  const neg = decimal.startsWith('-');
  const [i = '0', f = ''] = decimal.replace(/^-/, '').split('.');
  let n = BigInt(i + f.padEnd(scale, '0').slice(0, scale));
  if (neg) n = -n;
  // Minimal big-endian two's complement.
  let bytes = 1;
  while (n < -(1n << BigInt(bytes * 8 - 1)) || n >= 1n << BigInt(bytes * 8 - 1)) bytes++;
  const u = n < 0n ? (1n << BigInt(bytes * 8)) + n : n;
  return Buffer.from(u.toString(16).padStart(bytes * 2, '0'), 'hex').toString('base64');
}

function bitWidth(c: ColumnInfo): number {
  return c.precision ?? 1;
}

/** Debezium value and Connect schema for one column. */
function debeziumField(c: ColumnInfo, v: SqlValue): { value: Json; schema: Json } {
  const t = c.dataType;
  const optional = c.nullable;
  const schema = (type: string, name?: string, parameters?: Record<string, string>): Json => ({
    type,
    optional,
    ...(name ? { name } : {}),
    ...(parameters ? { parameters } : {}),
    field: c.name,
  });
  if (INTS.has(t)) {
    const s = schema(
      t === 'bigint' || (t === 'int' && c.unsigned)
        ? 'int64'
        : t === 'tinyint' || t === 'smallint'
          ? 'int16'
          : 'int32',
    );
    if (v === null) return { value: null, schema: s };
    let n = BigInt(text(v));
    if (t === 'bigint' && n >= 1n << 63n) n -= 1n << 64n;
    return { value: new Raw(n.toString()), schema: s };
  }
  if (t === 'decimal') {
    const scale = c.scale ?? 0;
    const s = schema('bytes', 'org.apache.kafka.connect.data.Decimal', {
      scale: String(scale),
      'connect.decimal.precision': String(c.precision),
    });
    return { value: v === null ? null : unscaledBase64(text(v), scale), schema: s };
  }
  if (t === 'float' || t === 'double') {
    const s = schema(t === 'float' ? 'float32' : 'float64');
    if (v === null) return { value: null, schema: s };
    const n = t === 'float' ? Math.fround(Number(text(v))) : Number(text(v));
    return { value: new Raw(String(n)), schema: s };
  }
  if (t === 'bit') {
    const width = bitWidth(c);
    if (width === 1)
      return { value: v === null ? null : bitValue(v as Buffer) === 1n, schema: schema('boolean') };
    const s = schema('bytes', 'io.debezium.data.Bits', { length: String(width) });
    return {
      value:
        v === null
          ? null
          : Buffer.from(v as Buffer)
              .reverse()
              .toString('base64'),
      schema: s,
    };
  }
  if (t === 'date') {
    const s = schema('int32', 'io.debezium.time.Date');
    // Debezium turns zero dates into null (nullable column) or the epoch.
    if (v === null || isZeroDate(text(v)))
      return { value: v === null || optional ? null : new Raw('0'), schema: s };
    return { value: new Raw(String(epochMicros(text(v)) / 86_400_000_000n)), schema: s };
  }
  if (t === 'datetime') {
    const micro = (c.datetimePrecision ?? 0) > 3;
    const s = schema('int64', micro ? 'io.debezium.time.MicroTimestamp' : 'io.debezium.time.Timestamp');
    if (v === null || isZeroDate(text(v)))
      return { value: v === null || optional ? null : new Raw('0'), schema: s };
    const us = epochMicros(text(v));
    return { value: new Raw(String(micro ? us : us / 1000n)), schema: s };
  }
  if (t === 'timestamp') {
    const s = schema('string', 'io.debezium.time.ZonedTimestamp');
    if (v === null || isZeroDate(text(v))) return { value: null, schema: s };
    const [date, time] = text(v).split(' ');
    return { value: `${date}T${time}Z`, schema: s };
  }
  if (t === 'time') {
    const s = schema('int64', 'io.debezium.time.MicroTime');
    return { value: v === null ? null : new Raw(String(timeMicros(text(v)))), schema: s };
  }
  if (t === 'year') {
    // An int32: the server's text '0000' is the number 0.
    const s = schema('int32', 'io.debezium.time.Year');
    return { value: v === null ? null : new Raw(String(Number(text(v)))), schema: s };
  }
  if (BINARY.has(t))
    return { value: v === null ? null : (v as Buffer).toString('base64'), schema: schema('bytes') };
  if (GEOMETRY.has(t)) {
    const s = schema('struct', 'io.debezium.data.geometry.Geometry');
    if (v === null) return { value: null, schema: s };
    const b = v as Buffer;
    return {
      value: { wkb: b.subarray(4).toString('base64'), srid: new Raw(String(b.readUInt32LE(0))) },
      schema: s,
    };
  }
  if (t === 'json')
    return { value: v === null ? null : text(v), schema: schema('string', 'io.debezium.data.Json') };
  if (t === 'enum')
    return { value: v === null ? null : text(v), schema: schema('string', 'io.debezium.data.Enum') };
  if (t === 'set')
    return { value: v === null ? null : text(v), schema: schema('string', 'io.debezium.data.EnumSet') };
  return { value: v === null ? null : text(v), schema: schema('string') };
}

/** Where a change was read, as a Debezium MySQL connector's `source` block gives it. */
export interface DebeziumSource {
  /** The connector's logical name (topic prefix). */
  name: string;
  serverId: number;
  file: string;
  pos: number;
  /** The row's index within its binlog event. */
  row: number;
}

export interface DebeziumArgs {
  op: 'c' | 'u' | 'd' | 'r';
  db: string;
  table: string;
  columns: ColumnInfo[];
  before?: RawDbRow;
  after?: RawDbRow;
  withSchema: boolean;
  /** Source commit time (the binlog event's timestamp). */
  tsMs?: number;
  source?: DebeziumSource;
}

/** The record key a Debezium connector sends: the primary key columns, as JSON without a schema. */
export function encodeDebeziumKey(columns: ColumnInfo[], key: string[], row: RawDbRow): string {
  const value: Record<string, Json> = {};
  for (const c of columns)
    if (key.includes(c.name)) value[c.name] = debeziumField(c, row[c.name] ?? null).value;
  return toJson(value);
}

/**
 * A message of the connector's schema-change topic (named after the connector), as Debezium writes one
 * for each DDL statement: the statement, its database, and the table it changes.
 */
export function encodeDebeziumSchemaChange(a: {
  db: string;
  table?: string;
  ddl: string;
  tsMs: number;
  source: DebeziumSource;
}): string {
  return toJson({
    source: {
      version: '2.7.0.Final',
      connector: 'mysql',
      name: a.source.name,
      ts_ms: new Raw(String(a.tsMs)),
      snapshot: 'false',
      db: a.db,
      table: a.table ?? null,
      server_id: new Raw(String(a.source.serverId)),
      file: a.source.file,
      pos: new Raw(String(a.source.pos)),
      row: new Raw('0'),
    },
    ts_ms: new Raw(String(a.tsMs + 5)),
    databaseName: a.db,
    ddl: a.ddl,
    tableChanges: a.table ? [{ type: 'ALTER', id: `"${a.db}"."${a.table}"` }] : [],
  });
}

export function encodeDebezium(a: DebeziumArgs): string {
  const fields = (row: RawDbRow | undefined) => {
    if (!row) return { value: null as Json, schema: [] as Json[] };
    const value: Record<string, Json> = {};
    const schema: Json[] = [];
    for (const c of a.columns) {
      if (!(c.name in row)) continue;
      const f = debeziumField(c, row[c.name] ?? null);
      value[c.name] = f.value;
      schema.push(f.schema);
    }
    return { value, schema };
  };
  const before = fields(a.before);
  const after = fields(a.after);
  const ts = a.tsMs ?? Date.now();
  const payload: Json = {
    before: before.value,
    after: after.value,
    source: {
      version: '2.7.0.Final',
      connector: 'mysql',
      name: a.source?.name ?? 'dbserver1',
      ts_ms: new Raw(String(ts)),
      snapshot: a.op === 'r' ? 'true' : 'false',
      db: a.db,
      table: a.table,
      server_id: new Raw(String(a.source?.serverId ?? 1)),
      file: a.source?.file ?? 'binlog.000001',
      pos: new Raw(String(a.source?.pos ?? 4)),
      row: new Raw(String(a.source?.row ?? 0)),
    },
    op: a.op,
    ts_ms: new Raw(String(ts + 5)),
  };
  if (!a.withSchema) return toJson(payload);
  const rowSchema = (field: string, list: Json[]): Json => ({
    type: 'struct',
    fields: list.length ? list : a.after ? after.schema : before.schema,
    optional: true,
    name: `dbserver1.${a.db}.${a.table}.Value`,
    field,
  });
  return toJson({
    schema: {
      type: 'struct',
      fields: [
        rowSchema('before', before.schema),
        rowSchema('after', after.schema),
        {
          type: 'struct',
          fields: [],
          optional: false,
          name: 'io.debezium.connector.mysql.Source',
          field: 'source',
        },
        { type: 'string', optional: false, field: 'op' },
        { type: 'int64', optional: true, field: 'ts_ms' },
      ],
      optional: false,
      name: `dbserver1.${a.db}.${a.table}.Envelope`,
    },
    payload,
  });
}

/** java.sql.Types codes Canal puts in `sqlType`. */
const SQL_TYPES: Record<string, number> = {
  tinyint: -6,
  smallint: 5,
  mediumint: 4,
  int: 4,
  bigint: -5,
  decimal: 3,
  float: 7,
  double: 8,
  bit: -7,
  date: 91,
  datetime: 93,
  timestamp: 93,
  time: 92,
  year: 12,
  char: 1,
  varchar: 12,
  text: 2005,
  binary: -2,
  varbinary: -3,
  blob: 2004,
  json: 12,
  enum: 4,
  set: -7,
  geometry: -2,
  point: -2,
};

function canalValue(c: ColumnInfo, v: SqlValue): string | null {
  if (v === null) return null;
  if (c.dataType === 'bit') return bitValue(v as Buffer).toString();
  if (BINARY.has(c.dataType) || GEOMETRY.has(c.dataType)) return (v as Buffer).toString('latin1');
  return text(v);
}

function canalRow(columns: ColumnInfo[], row: Partial<RawDbRow>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const c of columns) if (c.name in row) out[c.name] = canalValue(c, row[c.name] ?? null);
  return out;
}

export interface CanalArgs {
  type: 'INSERT' | 'UPDATE' | 'DELETE';
  db: string;
  table: string;
  columns: ColumnInfo[];
  pkNames: string[];
  rows: RawDbRow[];
  old?: Partial<RawDbRow>[];
  tidbCommitTs?: string;
}

export function encodeCanal(a: CanalArgs): string {
  const now = Date.now();
  return JSON.stringify({
    data: a.rows.map((r) => canalRow(a.columns, r)),
    database: a.db,
    es: now,
    id: 1,
    isDdl: false,
    mysqlType: Object.fromEntries(a.columns.map((c) => [c.name, c.columnType])),
    old: a.old ? a.old.map((o) => canalRow(a.columns, o)) : null,
    pkNames: a.pkNames,
    sql: '',
    sqlType: Object.fromEntries(a.columns.map((c) => [c.name, SQL_TYPES[c.dataType] ?? 12])),
    table: a.table,
    ts: now + 3,
    type: a.type,
    ...(a.tidbCommitTs ? { _tidb: { commitTs: Number(a.tidbCommitTs) } } : {}),
  });
}

function maxwellValue(c: ColumnInfo, v: SqlValue | undefined): Json {
  if (v === null || v === undefined) return null;
  const t = c.dataType;
  if (INTS.has(t) || t === 'decimal') return new Raw(text(v));
  if (t === 'year') return new Raw(String(Number(text(v))));
  if (t === 'float' || t === 'double') {
    return new Raw(String(t === 'float' ? Math.fround(Number(text(v))) : Number(text(v))));
  }
  if (t === 'bit') return new Raw(bitValue(v as Buffer).toString());
  if (BINARY.has(t)) return (v as Buffer).toString('base64');
  if (GEOMETRY.has(t)) return wkbToWkt((v as Buffer).subarray(4));
  if (t === 'set') return text(v) === '' ? [] : text(v).split(',');
  return text(v);
}

export interface MaxwellArgs {
  type: 'insert' | 'update' | 'delete';
  db: string;
  table: string;
  columns: ColumnInfo[];
  data: RawDbRow;
  old?: Partial<RawDbRow>;
}

export function encodeMaxwell(a: MaxwellArgs): string {
  const obj = (row: Partial<RawDbRow>) => {
    const out: Record<string, Json> = {};
    for (const c of a.columns) if (c.name in row) out[c.name] = maxwellValue(c, row[c.name]);
    return out;
  };
  return toJson({
    database: a.db,
    table: a.table,
    type: a.type,
    ts: new Raw(String(Math.floor(Date.now() / 1000))),
    xid: new Raw('1'),
    commit: true,
    data: obj(a.data),
    ...(a.old ? { old: obj(a.old) } : {}),
  });
}
