import type { ColumnInfo, SourceFormat, SqlValue, TypeHint, WireField, WireValue } from '../types';
import {
  BINARY_TYPES as BINARY,
  DECIMAL_TYPES as DECIMAL,
  FLOAT_TYPES as FLOAT,
  GEOMETRY_TYPES as GEOMETRY,
  INTEGER_TYPES as INTEGER,
} from './column-types';
import { ValueError } from './errors';
import { internalGeometry, wktToWkb } from './geometry';
import { isJsonObject, type JsonNode, jsonNumber, parseJsonLossless } from './json';

/**
 * Turns a field as a wire format carried it into the exact value to send for the offline column:
 * decimal text for numbers, 'YYYY-MM-DD HH:MM:SS.ffffff' for temporal values (UTC wall clock),
 * Buffers for bytes, BIT and geometry. Producer type hints win; without them the column type decides.
 */

type DebeziumHint = Extract<TypeHint, { format: 'debezium' }>;

function fail(column: ColumnInfo, why: string): never {
  throw new ValueError(`column ${column.name} (${column.columnType}): ${why}`);
}

function describe(v: WireValue): string {
  switch (v.kind) {
    case 'null':
      return 'NULL';
    case 'boolean':
      return String(v.value);
    default:
      return JSON.stringify(v.text.length > 40 ? `${v.text.slice(0, 40)}…` : v.text);
  }
}

function scalarText(v: WireValue, column: ColumnInfo): string {
  switch (v.kind) {
    case 'string':
    case 'number':
    case 'json':
      return v.text;
    case 'boolean':
      return v.value ? '1' : '0';
    case 'null':
      return fail(column, 'unexpected NULL');
  }
}

const pad = (n: number | bigint, width: number) => String(n).padStart(width, '0');

/** Fractional seconds from a count of sub-second units, cut to the column's precision. */
function fraction(micros: bigint, precision: number | null): string {
  const p = precision ?? 0;
  if (p === 0) return '';
  return `.${pad(micros, 6).slice(0, p)}`;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Microseconds since the epoch → 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC. */
function formatEpochMicros(micros: bigint, precision: number | null): string {
  const ms = floorDiv(micros, 1000n);
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) throw new ValueError(`timestamp out of range: ${micros}µs`);
  const sub = micros - floorDiv(micros, 1_000_000n) * 1_000_000n;
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
  const time = `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  return `${date} ${time}${fraction(sub, precision)}`;
}

function formatEpochDays(days: bigint): string {
  return formatEpochMicros(days * 86_400_000_000n, 0).slice(0, 10);
}

/** Microseconds (may be negative, may exceed 24 h) → '[-]HHH:MM:SS[.ffffff]'. */
function formatMicroTime(micros: bigint, precision: number | null): string {
  const neg = micros < 0n;
  const abs = neg ? -micros : micros;
  const secs = abs / 1_000_000n;
  const h = secs / 3600n;
  const m = (secs % 3600n) / 60n;
  const s = secs % 60n;
  return `${neg ? '-' : ''}${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${fraction(abs % 1_000_000n, precision)}`;
}

/** An ISO-8601 instant ('2038-01-19T03:14:07.999999Z', or with an offset) → UTC wall clock text. */
function formatIsoInstant(text: string, column: ColumnInfo): string {
  const m =
    /^(-?\d{4,})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!m) return fail(column, `not an ISO timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const instant = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  instant.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  instant.setUTCHours(Number(h), Number(mi), Number(s), 0);
  let micros = BigInt(instant.getTime()) * 1000n + BigInt(frac.padEnd(6, '0').slice(0, 6));
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1n : 1n;
    const [oh, om] = [zone.slice(1, 3), zone.slice(-2)];
    micros -= sign * (BigInt(oh) * 3600n + BigInt(om) * 60n) * 1_000_000n;
  }
  return formatEpochMicros(micros, column.datetimePrecision);
}

const CANONICAL_NATURAL = /^(?:0|[1-9]\d*)$/;

function integerOf(v: WireValue, column: ColumnInfo): bigint {
  const text = scalarText(v, column);
  if (!/^[-+]?\d+$/.test(text)) return fail(column, `not an integer: ${describe(v)}`);
  return BigInt(text);
}

/** Kafka Connect Decimal: base64 of a big-endian two's-complement unscaled integer, with a scale. */
function decodeConnectDecimal(base64: string, scale: number): string {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) return '0';
  let n = BigInt(`0x${bytes.toString('hex')}`);
  if ((bytes[0] as number) & 0x80) n -= 1n << BigInt(bytes.length * 8);
  return scaleDecimal(n, scale);
}

function scaleDecimal(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString();
  if (scale <= 0) return `${neg ? '-' : ''}${digits}${'0'.repeat(-scale)}`;
  const padded = digits.padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

const PLAIN_DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function bitWidthBytes(column: ColumnInfo): number {
  const bits = column.precision ?? (Number(/bit\((\d+)\)/.exec(column.columnType)?.[1]) || 1);
  return Math.max(1, Math.ceil(bits / 8));
}

function bigintToBytes(n: bigint, width: number, column: ColumnInfo): Buffer {
  if (n < 0n) return fail(column, 'negative BIT value');
  const hex = n.toString(16).padStart(width * 2, '0');
  if (hex.length > width * 2) return fail(column, `value ${n} does not fit`);
  return Buffer.from(hex, 'hex');
}

function json(v: WireValue, column: ColumnInfo): JsonNode {
  try {
    return parseJsonLossless(scalarText(v, column));
  } catch {
    return fail(column, `not a JSON value: ${describe(v)}`);
  }
}

function coerceInteger(v: WireValue, column: ColumnInfo, hint: DebeziumHint | undefined): string {
  // bigint.unsigned.handling.mode=precise sends a Connect Decimal with scale 0.
  if (v.kind === 'string' && hint?.name === 'org.apache.kafka.connect.data.Decimal')
    return decodeConnectDecimal(v.text, 0);
  // Digits with no sign and no leading zero are already what BigInt would print back.
  if (v.kind === 'number' && CANONICAL_NATURAL.test(v.text)) return v.text;
  let n = integerOf(v, column);
  // bigint.unsigned.handling.mode=long (the default) wraps values above 2^63 to negative.
  if (n < 0n && column.unsigned && column.dataType === 'bigint') n += 1n << 64n;
  return n.toString();
}

function coerceDecimal(
  v: WireValue,
  column: ColumnInfo,
  hint: DebeziumHint | undefined,
  format: SourceFormat,
): string {
  if (v.kind === 'number') return v.text;
  if (v.kind === 'json' || hint?.name === 'io.debezium.data.VariableScaleDecimal') {
    const node = json(v, column);
    if (!isJsonObject(node) || typeof node.value !== 'string')
      return fail(column, 'bad VariableScaleDecimal');
    const scale = node.scale === undefined || node.scale === null ? 0 : jsonNumber(node.scale);
    if (scale === undefined || !Number.isSafeInteger(scale)) return fail(column, 'bad VariableScaleDecimal');
    return decodeConnectDecimal(node.value, scale);
  }
  const text = scalarText(v, column);
  const isConnectDecimal = hint?.name === 'org.apache.kafka.connect.data.Decimal';
  if (!isConnectDecimal && PLAIN_DECIMAL.test(text)) return text;
  if (isConnectDecimal || format === 'debezium') {
    const scale = Number(hint?.parameters?.scale ?? column.scale ?? 0);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return fail(column, `not a decimal: ${describe(v)}`);
    return decodeConnectDecimal(text, scale);
  }
  return fail(column, `not a decimal: ${describe(v)}`);
}

function coerceBit(v: WireValue, column: ColumnInfo, format: SourceFormat): Buffer {
  const width = bitWidthBytes(column);
  if (v.kind === 'boolean') return bigintToBytes(v.value ? 1n : 0n, width, column);
  if (v.kind === 'string' && format === 'debezium' && !/^\d+$/.test(v.text)) {
    // io.debezium.data.Bits: little-endian bytes.
    const le = Buffer.from(v.text, 'base64');
    const be = Buffer.from(le).reverse();
    const out = Buffer.alloc(width);
    be.copy(out, Math.max(0, width - be.length), Math.max(0, be.length - width));
    return out;
  }
  return bigintToBytes(integerOf(v, column), width, column);
}

function temporalUnits(hint: DebeziumHint | undefined): 'ms' | 'us' | 'ns' | undefined {
  switch (hint?.name) {
    case 'io.debezium.time.Timestamp':
    case 'io.debezium.time.Time':
    case 'org.apache.kafka.connect.data.Timestamp':
    case 'org.apache.kafka.connect.data.Time':
      return 'ms';
    case 'io.debezium.time.MicroTimestamp':
    case 'io.debezium.time.MicroTime':
      return 'us';
    case 'io.debezium.time.NanoTimestamp':
    case 'io.debezium.time.NanoTime':
      return 'ns';
    default:
      return undefined;
  }
}

function toMicros(n: bigint, units: 'ms' | 'us' | 'ns'): bigint {
  return units === 'ms' ? n * 1000n : units === 'ns' ? floorDiv(n, 1000n) : n;
}

function coerceDate(v: WireValue, column: ColumnInfo): string {
  if (v.kind === 'number') return formatEpochDays(integerOf(v, column));
  return scalarText(v, column);
}

function coerceDateTime(v: WireValue, column: ColumnInfo, hint: DebeziumHint | undefined): string {
  if (v.kind === 'number') {
    const units =
      temporalUnits(hint) ??
      (column.dataType === 'datetime' && (column.datetimePrecision ?? 0) > 3 ? 'us' : 'ms');
    return formatEpochMicros(toMicros(integerOf(v, column), units), column.datetimePrecision);
  }
  const text = scalarText(v, column);
  if (/T|Z$|[+-]\d{2}:\d{2}$/.test(text)) return formatIsoInstant(text, column);
  return text;
}

function coerceTime(v: WireValue, column: ColumnInfo, hint: DebeziumHint | undefined): string {
  if (v.kind === 'number') {
    return formatMicroTime(
      toMicros(integerOf(v, column), temporalUnits(hint) ?? 'us'),
      column.datetimePrecision,
    );
  }
  return scalarText(v, column);
}

function coerceBinary(v: WireValue, column: ColumnInfo, format: SourceFormat): Buffer {
  const text = scalarText(v, column);
  // Canal carries bytes as an ISO-8859-1 string; Debezium and Maxwell as base64.
  if (format === 'canal') return Buffer.from(text, 'latin1');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return fail(column, `not base64: ${describe(v)}`);
  return Buffer.from(text, 'base64');
}

function coerceGeometry(v: WireValue, column: ColumnInfo, format: SourceFormat): Buffer {
  if (v.kind === 'json') {
    // Debezium io.debezium.data.geometry.*: {wkb: base64, srid}.
    const node = json(v, column);
    if (!isJsonObject(node) || typeof node.wkb !== 'string')
      return fail(column, 'geometry struct without wkb');
    const srid = jsonNumber(node.srid) ?? 0;
    return internalGeometry(srid, Buffer.from(node.wkb, 'base64'));
  }
  const text = scalarText(v, column);
  if (format === 'canal') return Buffer.from(text, 'latin1');
  if (/^\s*[A-Za-z]+\s*\(/.test(text)) return internalGeometry(0, wktToWkb(text));
  return Buffer.from(text, 'base64');
}

/**
 * YEAR as four digits: the server reads the strings '0' and '00' as 2000, '0000' as year 0.
 * A YEAR column holds 0 or 1901..2155; anything else would be stored as something else, so it is refused.
 */
function coerceYear(v: WireValue, column: ColumnInfo): string {
  const year = integerOf(v, column);
  if (year !== 0n && (year < 1901n || year > 2155n)) return fail(column, `YEAR out of range: ${describe(v)}`);
  return pad(year, 4);
}

function coerceText(v: WireValue, column: ColumnInfo): string {
  if (v.kind === 'json' && column.dataType === 'set') {
    // Maxwell sends SET values as an array of members.
    const node = json(v, column);
    if (Array.isArray(node)) return node.map(String).join(',');
  }
  return scalarText(v, column);
}

export function coerceValue(field: WireField, column: ColumnInfo, format: SourceFormat): SqlValue {
  const v = field.value;
  if (v.kind === 'null') return null;
  const hint = field.hint?.format === 'debezium' ? field.hint : undefined;
  const type = column.dataType;
  if (INTEGER.has(type)) return coerceInteger(v, column, hint);
  if (DECIMAL.has(type)) return coerceDecimal(v, column, hint, format);
  if (FLOAT.has(type)) {
    const text = scalarText(v, column);
    if (!PLAIN_DECIMAL.test(text) && !/^-?(Infinity|NaN)$/.test(text))
      return fail(column, `not a number: ${describe(v)}`);
    return text;
  }
  if (type === 'bit') return coerceBit(v, column, format);
  if (type === 'date') return coerceDate(v, column);
  if (type === 'datetime' || type === 'timestamp') return coerceDateTime(v, column, hint);
  if (type === 'time') return coerceTime(v, column, hint);
  if (type === 'year') return coerceYear(v, column);
  if (BINARY.has(type)) return coerceBinary(v, column, format);
  if (GEOMETRY.has(type)) return coerceGeometry(v, column, format);
  if (type === 'json' && v.kind === 'json') return v.text;
  return coerceText(v, column);
}
