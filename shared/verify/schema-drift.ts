import { mapTable } from '../cdc/route';
import type { ReadQuerier } from '../db/connection';
import { detectServer } from '../db/dialect';
import { quoteIdentifier, quoteTable, tableName } from '../db/identifiers';
import { GEOMETRY_TYPES } from '../formats/column-types';
import type { ServerKind, TableRef } from '../types';

/**
 * The schema drift report of `verify`: how an offline table differs from its online twin, what each
 * difference does to cdc-mirror, and the DDL that would align the offline table. Both sides are only
 * read (information_schema and SHOW CREATE TABLE); the DDL is text for a person to run, never run here.
 *
 * `compareTables` is pure (two descriptions in, a report out); `schemaDrift` reads both descriptions.
 */

// ---------------------------------------------------------------------------------------------------
// Descriptions: what is read from each side
// ---------------------------------------------------------------------------------------------------

/**
 * A column default, the same whichever server reported it (MariaDB reports SQL text such as `'abc'`,
 * `NULL` or `current_timestamp(6)`; MySQL the raw value, with DEFAULT_GENERATED for expressions).
 */
export type ColumnDefault =
  /** No DEFAULT clause: a NOT NULL column an INSERT must give a value. */
  | { kind: 'none' }
  | { kind: 'null' }
  /** A string literal's value (unquoted, unescaped). */
  | { kind: 'string'; value: string }
  /** A numeric literal as written: `5`, `1.50`, `-2e3`. */
  | { kind: 'number'; value: string }
  /** A bit literal: `b'101'`. */
  | { kind: 'bits'; value: string }
  /** An expression: `current_timestamp(6)`, `uuid()`, `1 + 1`. */
  | { kind: 'expression'; sql: string };

export interface ColumnDescription {
  name: string;
  /** information_schema DATA_TYPE, lower case. */
  dataType: string;
  /** information_schema COLUMN_TYPE as reported ('bigint(20) unsigned', "enum('A','b')"). */
  columnType: string;
  charset: string | null;
  collation: string | null;
  nullable: boolean;
  default: ColumnDefault;
  autoIncrement: boolean;
  /** How the column is computed, or null for a stored (written) column. */
  generated: { kind: 'virtual' | 'stored'; expression: string } | null;
  /** ON UPDATE expression (`current_timestamp(3)`), or null. */
  onUpdate: string | null;
  /** INVISIBLE (MariaDB 10.3+, MySQL 8.0.23+): kept in DDL, not compared. */
  invisible?: boolean;
  /** COLUMN_COMMENT: kept in DDL, not compared. */
  comment?: string;
  /**
   * A column-level CHECK clause (MariaDB's JSON is LONGTEXT CHECK (json_valid(`c`))): carried into ADD and
   * MODIFY COLUMN (MariaDB keeps one check per column, so repeating it adds no second one); not compared.
   */
  check?: string | null;
}

export interface KeyPart {
  column: string;
  /** Prefix length (`KEY (c(10))`), or null for the whole column. */
  subPart: number | null;
}

export interface IndexDescription {
  /** `PRIMARY` for the primary key. */
  name: string;
  unique: boolean;
  parts: KeyPart[];
}

export interface TableDescription {
  server: ServerKind;
  /** In table order. */
  columns: ColumnDescription[];
  /** Every index with plain column parts (functional key parts cannot be compared and are left out). */
  indexes: IndexDescription[];
  /** SHOW CREATE TABLE text (read for the online side when the offline table is missing). */
  createTable?: string;
  /** The table's default collation (TABLES.TABLE_COLLATION): what a column added without one gets. */
  collation?: string | null;
}

// ---------------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------------

/** What a difference does to cdc-mirror: `breaks` rows are dead-lettered, lost, altered or mismatched; `risk` it may, depending on the data or on use; `info` harmless for mirrored rows. */
export type Severity = 'breaks' | 'risk' | 'info';

/**
 * What running the proposed DDL on the offline table risks: `safe`; `may-fail` when offline data does not
 * fit the new definition (a strict session refuses it, nothing is lost); `loses-offline-data` when it
 * deletes or silently alters offline values (a dropped column, rounded decimals).
 */
export type DdlRisk = 'safe' | 'may-fail' | 'loses-offline-data';

export type ColumnAttributeKind =
  | 'type'
  | 'charset'
  | 'collation'
  | 'nullability'
  | 'default'
  | 'auto-increment'
  | 'generated'
  | 'on-update';

interface DifferenceBase {
  severity: Severity;
  /** One sentence: what the difference breaks (or not) for cdc-mirror. */
  effect: string;
  /** The statement that aligns the offline table for this difference alone (shown, never run here). */
  ddl: string;
  ddlRisk: DdlRisk;
}

export type SchemaDifference = DifferenceBase &
  (
    | { kind: 'table-missing-offline' }
    | { kind: 'table-extra-offline' }
    | { kind: 'table-default-collation'; online: string; offline: string }
    | { kind: 'column-missing-offline'; column: string; online: string }
    | { kind: 'column-extra-offline'; column: string; offline: string }
    | { kind: ColumnAttributeKind; column: string; online: string; offline: string }
    | { kind: 'primary-key'; online: string[]; offline: string[] }
    | { kind: 'unique-key-missing-offline'; key: string; columns: string[] }
    | { kind: 'unique-key-extra-offline'; key: string; columns: string[] }
  );

export type SchemaDifferenceKind = SchemaDifference['kind'];

export interface SchemaDriftReport {
  online: { ref: TableRef; exists: boolean };
  offline: { ref: TableRef; exists: boolean };
  /** In the order their `ddl` can be run one by one. */
  differences: SchemaDifference[];
  /**
   * What aligns the offline table in one go: one ALTER TABLE holding every difference's clauses (the
   * server checks the end state, so key and AUTO_INCREMENT changes need no ordering), or the CREATE/DROP
   * TABLE. Empty when there is no difference.
   */
  ddl: string[];
  /** The worst severity, null when there is no difference. */
  worst: Severity | null;
  counts: Record<Severity, number>;
}

// ---------------------------------------------------------------------------------------------------
// Types and what one can hold of another
// ---------------------------------------------------------------------------------------------------

export interface SqlType {
  base: string;
  args: string[];
  unsigned: boolean;
  zerofill: boolean;
}

/** Splits a COLUMN_TYPE into base, arguments (enum/set values unquoted, case kept) and modifiers. */
export function parseColumnType(columnType: string): SqlType {
  const text = columnType.trim();
  const m = /^([A-Za-z0-9_]+)/.exec(text);
  const base = normalBase((m?.[1] ?? text).toLowerCase());
  let rest = text.slice(m?.[1]?.length ?? text.length);
  let args: string[] = [];
  if (rest.trimStart().startsWith('(')) {
    rest = rest.trimStart();
    let i = 1;
    let quoted = false;
    for (; i < rest.length; i++) {
      const ch = rest[i];
      if (quoted) {
        if (ch === "'" && rest[i + 1] === "'") i++;
        else if (ch === "'") quoted = false;
      } else if (ch === "'") quoted = true;
      else if (ch === ')') break;
    }
    const inner = rest.slice(1, i);
    rest = rest.slice(i + 1);
    args = base === 'enum' || base === 'set' ? enumValues(inner) : inner.split(',').map((a) => a.trim());
  }
  const mods = rest.toLowerCase();
  return { base, args, unsigned: /\bunsigned\b/.test(mods), zerofill: /\bzerofill\b/.test(mods) };
}

function normalBase(base: string): string {
  const aliases: Record<string, string> = {
    integer: 'int',
    int4: 'int',
    int8: 'bigint',
    numeric: 'decimal',
    dec: 'decimal',
    fixed: 'decimal',
    real: 'double',
    float8: 'double',
    float4: 'float',
    bool: 'tinyint',
    boolean: 'tinyint',
  };
  return aliases[base] ?? base;
}

function enumValues(inner: string): string[] {
  const values: string[] = [];
  let i = 0;
  while (i < inner.length) {
    if (inner[i] !== "'") {
      i++;
      continue;
    }
    let v = '';
    i++;
    while (i < inner.length) {
      if (inner[i] === "'" && inner[i + 1] === "'") {
        v += "'";
        i += 2;
      } else if (inner[i] === "'") {
        i++;
        break;
      } else v += inner[i++];
    }
    values.push(v);
  }
  return values;
}

const INT_BITS: Record<string, number> = { tinyint: 8, smallint: 16, mediumint: 24, int: 32, bigint: 64 };
const TEXT_BYTES: Record<string, number> = {
  tinytext: 255,
  text: 65_535,
  mediumtext: 16_777_215,
  longtext: 4_294_967_295,
  json: 4_294_967_295,
};
const BLOB_BYTES: Record<string, number> = {
  tinyblob: 255,
  blob: 65_535,
  mediumblob: 16_777_215,
  longblob: 4_294_967_295,
};
const TEMPORAL = new Set(['date', 'datetime', 'timestamp', 'time', 'year']);
const NUMERIC = new Set([...Object.keys(INT_BITS), 'decimal', 'float', 'double', 'bit', 'year']);

type Family = 'int' | 'decimal' | 'approx' | 'bit' | 'chars' | 'binary' | 'temporal' | 'enum' | 'spatial';

function familyOf(t: SqlType): Family | null {
  if (t.base in INT_BITS) return 'int';
  if (t.base === 'decimal') return 'decimal';
  if (t.base === 'float' || t.base === 'double') return 'approx';
  if (t.base === 'bit') return 'bit';
  if (t.base === 'char' || t.base === 'varchar' || t.base in TEXT_BYTES) return 'chars';
  if (t.base === 'binary' || t.base === 'varbinary' || t.base in BLOB_BYTES) return 'binary';
  if (TEMPORAL.has(t.base)) return 'temporal';
  if (t.base === 'enum' || t.base === 'set') return 'enum';
  if (GEOMETRY_TYPES.has(t.base)) return 'spatial';
  return null;
}

/** Compared type: integer display widths and YEAR(4) carry no meaning and are left out. */
function typeKey(columnType: string): string {
  const t = parseColumnType(columnType);
  const args =
    t.base in INT_BITS || t.base === 'year'
      ? ''
      : t.base === 'enum' || t.base === 'set'
        ? JSON.stringify(t.args)
        : t.args.join(',');
  return `${t.base}(${args})${t.unsigned ? ' unsigned' : ''}${t.zerofill ? ' zerofill' : ''}`;
}

const MB_MAX: Record<string, number> = {
  utf8mb4: 4,
  utf8mb3: 3,
  utf8: 3,
  ucs2: 2,
  utf16: 4,
  utf16le: 4,
  utf32: 4,
  gb18030: 4,
  gbk: 2,
  gb2312: 2,
  big5: 2,
  sjis: 2,
  cp932: 2,
  euckr: 2,
  ujis: 3,
  eucjpms: 3,
};
const mbMax = (charset: string | null) => MB_MAX[normalCharset(charset) ?? ''] ?? 1;

/** MySQL 8.0.30+ and MariaDB 10.6+ say utf8mb3 where older servers say utf8. */
function normalCharset(charset: string | null): string | null {
  if (charset === null) return null;
  const c = charset.toLowerCase();
  return c === 'utf8' ? 'utf8mb3' : c;
}
function normalCollation(collation: string | null): string | null {
  if (collation === null) return null;
  const c = collation.toLowerCase();
  return c.startsWith('utf8_') ? `utf8mb3_${c.slice(5)}` : c;
}

export type Loss = 'none' | 'refused' | 'altered';
export interface Verdict {
  severity: Severity;
  loss: Loss;
  effect: string;
}
const fits = (effect: string): Verdict => ({ severity: 'info', loss: 'none', effect });
const refused = (effect: string): Verdict => ({ severity: 'breaks', loss: 'refused', effect });
const altered = (effect: string, severity: Severity = 'breaks'): Verdict => ({
  severity,
  loss: 'altered',
  effect,
});

function intRange(t: SqlType): [bigint, bigint] {
  const bits = BigInt(INT_BITS[t.base] ?? 64);
  return t.unsigned ? [0n, 2n ** bits - 1n] : [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n];
}
function decimalShape(t: SqlType): { digits: number; scale: number } {
  const p = Number(t.args[0] ?? 10);
  const s = Number(t.args[1] ?? 0);
  return { digits: p - s, scale: s };
}
const digitsOf = (n: bigint) => (n < 0n ? -n : n).toString().length;
const fsp = (t: SqlType) => Number(t.args[0] ?? 0) || 0;
const fmt = (n: number) => n.toLocaleString('en-US');

/** Values a character column can hold: characters for CHAR/VARCHAR, bytes for the TEXT types. */
function charCapacity(t: SqlType): { chars: number } | { bytes: number } {
  if (t.base === 'char' || t.base === 'varchar') return { chars: Number(t.args[0] ?? 1) };
  return { bytes: TEXT_BYTES[t.base] ?? 4_294_967_295 };
}
function byteCapacity(t: SqlType): number {
  if (t.base === 'binary' || t.base === 'varbinary') return Number(t.args[0] ?? 1);
  return BLOB_BYTES[t.base] ?? 4_294_967_295;
}

/**
 * Whether `to` holds every value `from` can hold (written under the strict session cdc-mirror uses),
 * and if not, what happens to the values that do not fit. Used online→offline for the difference's
 * severity, and offline→online for what the aligning DDL risks.
 */
export function typeVerdict(from: ColumnDescription, to: ColumnDescription): Verdict {
  const a = parseColumnType(from.columnType);
  const b = parseColumnType(to.columnType);
  const fa = familyOf(a);
  const fb = familyOf(b);
  const toText = to.columnType;
  if (typeKey(from.columnType) === typeKey(to.columnType)) return fits('same type');
  if (a.base === b.base && a.base in INT_BITS && a.unsigned === b.unsigned) {
    return fits('only the display width or ZEROFILL differs: values are the same');
  }
  const generic = refused(
    `offline ${toText} cannot hold every ${from.columnType} value: the ones that do not fit are dead-lettered or altered`,
  );
  if (fa === 'int' && fb === 'int') {
    const [amin, amax] = intRange(a);
    const [bmin, bmax] = intRange(b);
    if (bmin <= amin && bmax >= amax)
      return fits(`${toText} holds every ${from.columnType} value (widening)`);
    return refused(`values outside ${bmin}..${bmax} (the range of ${toText}) are dead-lettered`);
  }
  if ((fa === 'int' || fa === 'decimal') && fb === 'decimal') {
    const problems: string[] = [];
    let loss: Loss = 'none';
    const target = decimalShape(b);
    if (fa === 'decimal') {
      const source = decimalShape(a);
      if (target.scale < source.scale) {
        problems.push(
          `values are rounded to ${target.scale} decimal place${target.scale === 1 ? '' : 's'} (silently: strict mode allows it)`,
        );
        loss = 'altered';
      }
      if (target.digits < source.digits) {
        problems.push(`values with more than ${target.digits} integer digits are dead-lettered`);
        if (loss === 'none') loss = 'refused';
      }
    } else {
      const [min, max] = intRange(a);
      if (target.digits < Math.max(digitsOf(min), digitsOf(max))) {
        problems.push(`values with more than ${target.digits} integer digits are dead-lettered`);
        loss = 'refused';
      }
    }
    if (b.unsigned && !a.unsigned) {
      problems.push('negative values are dead-lettered');
      if (loss === 'none') loss = 'refused';
    }
    if (loss === 'none') return fits(`${toText} holds every ${from.columnType} value (widening)`);
    return { severity: 'breaks', loss, effect: problems.join('; ') };
  }
  if (fa === 'decimal' && fb === 'int') {
    const source = decimalShape(a);
    const [min, max] = intRange(b);
    const problems: string[] = [];
    if (source.scale > 0) problems.push('fractions are rounded away (silently: strict mode allows it)');
    const need = 10n ** BigInt(source.digits) - 1n;
    if (max < need || (min > -need && !a.unsigned)) {
      problems.push(`values outside ${min}..${max} (the range of ${toText}) are dead-lettered`);
    }
    if (problems.length === 0) return fits(`${toText} holds every ${from.columnType} value`);
    return {
      severity: 'breaks',
      loss: source.scale > 0 ? 'altered' : 'refused',
      effect: problems.join('; '),
    };
  }
  if (fa === 'int' && fb === 'approx') {
    const [min, max] = intRange(a);
    const exact = b.base === 'float' ? 2n ** 24n : 2n ** 53n;
    if (max <= exact && -min <= exact) return fits(`${toText} holds every ${from.columnType} value exactly`);
    return altered(`integers beyond ±${exact} are rounded (${toText} is binary floating point)`);
  }
  if (fa === 'approx' && fb === 'approx') {
    if (b.base === 'double' || a.base === b.base)
      return fits(`${toText} holds every ${from.columnType} value`);
    return altered('values are rounded to single precision (silently)');
  }
  if (fa === 'decimal' && fb === 'approx') {
    return altered(`exact decimals become binary floating point ${toText}: values are rounded`);
  }
  if (fa === 'approx' && fb === 'decimal') {
    return altered(`floating-point values are rounded to ${toText} or, out of its range, dead-lettered`);
  }
  if (fa === 'bit' && fb === 'bit') {
    const n = Number(a.args[0] ?? 1);
    const m = Number(b.args[0] ?? 1);
    if (m >= n) return fits(`${toText} holds every ${from.columnType} value (widening)`);
    return refused(`values wider than ${m} bits are dead-lettered`);
  }
  if (fa === 'chars' && fb === 'chars') return charsVerdict(from, a, to, b);
  if (fa === 'binary' && fb === 'binary') {
    const need = byteCapacity(a);
    const have = byteCapacity(b);
    if (have < need) return refused(`values longer than ${fmt(have)} bytes are dead-lettered`);
    if (b.base === 'binary' && !(a.base === 'binary' && Number(a.args[0]) === have)) {
      return altered(`values are padded with 0x00 bytes to ${fmt(have)} bytes (BINARY)`, 'risk');
    }
    return fits(`${toText} holds every ${from.columnType} value (widening)`);
  }
  if (fa === 'chars' && fb === 'binary') {
    const cap = charCapacity(a);
    const need = 'chars' in cap ? cap.chars * mbMax(from.charset) : cap.bytes;
    if (byteCapacity(b) < need) {
      return refused(`values longer than ${fmt(byteCapacity(b))} bytes are dead-lettered`);
    }
    return altered(
      'text is stored as its bytes: comparisons and keys become byte-exact (case and accents matter)',
      'risk',
    );
  }
  if (fa === 'binary' && fb === 'chars') {
    return refused(`bytes that are not valid ${to.charset ?? 'text'} are dead-lettered`);
  }
  if (fa === 'temporal' && fb === 'temporal') return temporalVerdict(a, b, toText);
  if (fa === 'enum' && fb === 'enum' && a.base === b.base) {
    const missing = a.args.filter((v) => !b.args.includes(v));
    if (missing.length) {
      const listed = missing.map((v) => `'${v}'`).join(', ');
      return refused(
        `${missing.length === 1 ? `value ${listed} is` : `values ${listed} are`} not in offline's list: rows holding ${missing.length === 1 ? 'it' : 'them'} are dead-lettered`,
      );
    }
    const sameOrder = JSON.stringify(a.args) === JSON.stringify(b.args.filter((v) => a.args.includes(v)));
    if (!sameOrder && a.base === 'set') {
      return altered("values come back with their members in offline's order ('b,a' may read 'a,b')", 'risk');
    }
    return fits(
      `offline's list holds every online value${sameOrder ? '' : ' (in another order: sorting by it differs)'}`,
    );
  }
  if (fa === 'enum' && fb === 'chars') {
    const longest = Math.max(0, ...a.args.map((v) => [...v].length));
    const need = a.base === 'set' ? a.args.reduce((n, v) => n + [...v].length + 1, 0) : longest;
    const cap = charCapacity(b);
    const have = 'chars' in cap ? cap.chars : cap.bytes / mbMax(to.charset);
    if (have >= need) return fits(`${toText} holds every ${a.base.toUpperCase()} value as text`);
    return refused(`values longer than ${fmt(Math.floor(have))} characters are dead-lettered`);
  }
  if (fa === 'chars' && fb === 'enum') {
    return refused(`values not in offline's ${b.base.toUpperCase()} list are dead-lettered`);
  }
  if (fa === 'spatial' && fb === 'spatial') {
    if (b.base === 'geometry') return fits(`GEOMETRY holds every ${a.base.toUpperCase()}`);
    return refused(`geometries other than ${b.base.toUpperCase()} are dead-lettered`);
  }
  return generic;
}

function charsVerdict(from: ColumnDescription, a: SqlType, to: ColumnDescription, b: SqlType): Verdict {
  if (b.base === 'json' && a.base !== 'json') {
    return refused('text that is not valid JSON is dead-lettered (and MySQL reformats the rest)');
  }
  const source = charCapacity(a);
  const target = charCapacity(b);
  const sameCharset = normalCharset(from.charset) === normalCharset(to.charset);
  let ok: boolean;
  if ('chars' in target) {
    // A value of n bytes has at most n characters.
    ok = target.chars >= ('chars' in source ? source.chars : source.bytes);
  } else if ('chars' in source) {
    ok = target.bytes >= source.chars * mbMax(to.charset);
  } else {
    ok = target.bytes >= (sameCharset ? source.bytes : source.bytes * mbMax(to.charset));
  }
  if (!ok) {
    return refused(
      'chars' in target
        ? `values longer than ${fmt(target.chars)} characters are dead-lettered`
        : `values longer than ${fmt(target.bytes)} bytes are dead-lettered`,
    );
  }
  if (b.base === 'char' && a.base !== 'char') {
    return altered('trailing spaces are removed offline (CHAR pads and strips them)', 'risk');
  }
  return fits(`${to.columnType} holds every ${from.columnType} value (widening)`);
}

function temporalVerdict(a: SqlType, b: SqlType, toText: string): Verdict {
  const datetimeLike = (t: SqlType) => t.base === 'datetime' || t.base === 'timestamp';
  const precision = () =>
    fsp(b) < fsp(a)
      ? altered(
          `fractional seconds beyond ${fsp(b)} digit${fsp(b) === 1 ? '' : 's'} are cut (silently: MariaDB truncates, MySQL rounds)`,
        )
      : null;
  if (a.base === b.base) return precision() ?? fits(`${toText} keeps every fraction (widening)`);
  if (a.base === 'date' && datetimeLike(b)) {
    return b.base === 'timestamp'
      ? refused('dates outside 1970-01-01..2038-01-19 (the TIMESTAMP range) are dead-lettered')
      : fits(`${toText} holds every DATE (at midnight)`);
  }
  if (datetimeLike(a) && b.base === 'date') return altered('the time of day is cut (silently)');
  if (a.base === 'timestamp' && b.base === 'datetime') {
    return precision() ?? fits(`${toText} holds every TIMESTAMP value (sessions run in UTC)`);
  }
  if (a.base === 'datetime' && b.base === 'timestamp') {
    const p = precision();
    const range = 'values outside 1970-01-01 00:00:01..2038-01-19 03:14:07 UTC are dead-lettered';
    return p ? { ...p, effect: `${range}; ${p.effect}` } : refused(range);
  }
  return refused(`offline ${toText} cannot hold every ${a.base.toUpperCase()} value: they are dead-lettered`);
}

const UNICODE_ALL = new Set(['utf8mb4', 'utf16', 'utf16le', 'utf32', 'gb18030']);
const BMP_ONLY = new Set(['utf8mb3', 'ucs2']);

function charsetVerdict(from: string, to: string): Verdict {
  const a = normalCharset(from) as string;
  const b = normalCharset(to) as string;
  if (a === b || UNICODE_ALL.has(b) || a === 'ascii' || (BMP_ONLY.has(b) && !UNICODE_ALL.has(a))) {
    return fits(`${b} holds every ${a} character`);
  }
  if (a === 'utf8mb4' && BMP_ONLY.has(b)) {
    return refused(
      `4-byte characters (emoji, rarer CJK) do not fit ${b}: rows holding them are dead-lettered`,
    );
  }
  return refused(`characters ${b} cannot store are dead-lettered`);
}

/** How finely a collation tells values apart: binary > case-sensitive > accent-sensitive > insensitive. */
function collationStrength(collation: string): number {
  const c = collation.toLowerCase();
  if (c === 'binary' || c.endsWith('_bin') || c.includes('_nopad_bin')) return 3;
  if (/_cs$|_as_cs$|_cs_/.test(c)) return 2;
  if (/_ai_ci$|_ai_/.test(c)) return 0;
  return 1;
}

// ---------------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------------

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const CURRENT_TS = /^(current_timestamp|now|localtime|localtimestamp)\s*(\(\s*(\d*)\s*\))?$/i;

function unescapeMariadbString(body: string): string {
  const map: Record<string, string> = {
    '0': '\0',
    n: '\n',
    r: '\r',
    t: '\t',
    b: '\b',
    Z: '\x1a',
    '\\': '\\',
    "'": "'",
    '"': '"',
    '%': '\\%',
    _: '\\_',
  };
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (ch === "'" && body[i + 1] === "'") {
      out += "'";
      i++;
    } else if (ch === '\\' && i + 1 < body.length) {
      const next = body[i + 1] as string;
      out += map[next] ?? next;
      i++;
    } else out += ch;
  }
  return out;
}

/**
 * Reads information_schema.COLUMNS.COLUMN_DEFAULT into one form. MariaDB (10.2.7+) reports SQL: `NULL`
 * for DEFAULT NULL, SQL NULL for no default, `'it''s'` for strings, `5` for numbers, `b'101'`, and
 * expressions as text. MySQL (and TiDB) report the raw value, SQL NULL for both DEFAULT NULL and none,
 * and mark expression defaults DEFAULT_GENERATED (8.0.13+; CURRENT_TIMESTAMP before that).
 */
export function parseColumnDefault(
  raw: string | null,
  server: ServerKind,
  column: { dataType: string; nullable: boolean; extra: string },
): ColumnDefault {
  const dataType = column.dataType.toLowerCase();
  if (server === 'mariadb') {
    if (raw === null) return { kind: 'none' };
    if (raw === 'NULL') return { kind: 'null' };
    if (raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'")) {
      return { kind: 'string', value: unescapeMariadbString(raw.slice(1, -1)) };
    }
    if (/^b'[01]*'$/i.test(raw)) return { kind: 'bits', value: raw };
    if (NUMBER.test(raw)) return { kind: 'number', value: raw };
    return { kind: 'expression', sql: raw };
  }
  if (raw === null) return column.nullable ? { kind: 'null' } : { kind: 'none' };
  if (/default_generated/i.test(column.extra)) return { kind: 'expression', sql: raw };
  if (TEMPORAL.has(dataType) && CURRENT_TS.test(raw)) return { kind: 'expression', sql: raw };
  if (dataType === 'bit' && /^b'[01]*'$/i.test(raw)) return { kind: 'bits', value: raw };
  if (NUMERIC.has(dataType) && NUMBER.test(raw)) return { kind: 'number', value: raw };
  return { kind: 'string', value: raw };
}

function canonicalNumber(v: string): string {
  let s = v.trim().toLowerCase().replace(/^\+/, '');
  if (s.includes('e')) return s;
  const negative = s.startsWith('-');
  if (negative) s = s.slice(1);
  let [int = '', frac = ''] = s.split('.');
  int = int.replace(/^0+(?=\d)/, '') || '0';
  frac = frac.replace(/0+$/, '');
  const out = frac ? `${int}.${frac}` : int;
  return negative && out !== '0' ? `-${out}` : out;
}

/** Strips one pair of parentheses around the whole text, and collapses whitespace. */
function canonicalExpression(sql: string): string {
  let s = sql.trim().replace(/\s+/g, ' ');
  const ts = CURRENT_TS.exec(s);
  if (ts) return ts[3] && ts[3] !== '0' ? `current_timestamp(${ts[3]})` : 'current_timestamp';
  while (s.startsWith('(') && s.endsWith(')') && balancedInside(s)) s = s.slice(1, -1).trim();
  return s;
}
function balancedInside(s: string): boolean {
  let depth = 0;
  let quoted = false;
  for (let i = 1; i < s.length - 1; i++) {
    const ch = s[i];
    if (quoted) {
      if (ch === "'") quoted = false;
    } else if (ch === "'") quoted = true;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

function defaultKey(d: ColumnDefault, dataType: string): string {
  switch (d.kind) {
    case 'none':
    case 'null':
      return d.kind;
    case 'bits':
      return `b:${d.value.slice(2, -1).replace(/^0+(?=[01])/, '')}`;
    case 'expression':
      return `e:${canonicalExpression(d.sql)}`;
    case 'number':
      return `v:${canonicalNumber(d.value)}`;
    case 'string': {
      if (NUMBER.test(d.value) && NUMERIC.has(dataType)) return `v:${canonicalNumber(d.value)}`;
      // DATETIME(6) reports DEFAULT '2020-01-01' as '2020-01-01 00:00:00.000000'.
      if (TEMPORAL.has(dataType)) return `v:${d.value.replace(/\.0+$/, '')}`;
      return NUMBER.test(d.value) ? `v:${canonicalNumber(d.value)}` : `v:${d.value}`;
    }
  }
}

const isBinaryType = (dataType: string) =>
  /^(binary|varbinary|tinyblob|blob|mediumblob|longblob)$/.test(dataType);
const plainText = (s: string) =>
  ![...s].some((ch) => ch === '\\' || ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);

/**
 * A string literal that reads the same whatever the session's sql_mode: plain text is quoted with
 * doubled quotes; text with backslashes or control characters is sent as hex (with an introducer for
 * character columns, so it is converted to the column's charset).
 */
function stringLiteral(value: string, binary: boolean): string {
  if (plainText(value)) return `'${value.replaceAll("'", "''")}'`;
  const hex = Buffer.from(value, 'utf8').toString('hex').toUpperCase();
  return binary ? `X'${hex}'` : `_utf8mb4 X'${hex}'`;
}

function currentTimestampSql(sql: string): string | null {
  const m = CURRENT_TS.exec(sql.trim());
  if (!m) return null;
  return m[3] && m[3] !== '0' ? `CURRENT_TIMESTAMP(${m[3]})` : 'CURRENT_TIMESTAMP';
}

function defaultSql(d: ColumnDefault, col: ColumnDescription): string | null {
  switch (d.kind) {
    case 'none':
      return null;
    case 'null':
      return 'NULL';
    case 'bits':
      return d.value;
    case 'number':
      return NUMBER.test(d.value) ? d.value : stringLiteral(d.value, false);
    case 'string':
      return stringLiteral(d.value, isBinaryType(col.dataType));
    case 'expression':
      return currentTimestampSql(d.sql) ?? `(${canonicalExpression(d.sql)})`;
  }
}

function describeDefault(d: ColumnDefault, col: ColumnDescription): string {
  return d.kind === 'none' ? 'no default' : `DEFAULT ${defaultSql(d, col)}`;
}

// ---------------------------------------------------------------------------------------------------
// DDL text (names only through quoteIdentifier)
// ---------------------------------------------------------------------------------------------------

/** A full column definition as online has it, for ADD COLUMN / MODIFY COLUMN on the offline table. */
export function columnDefinition(col: ColumnDescription, opts: { withCheck?: boolean } = {}): string {
  const parts = [quoteIdentifier(col.name), col.columnType];
  if (col.charset) parts.push(`CHARACTER SET ${col.charset}`);
  if (col.collation) parts.push(`COLLATE ${col.collation}`);
  if (col.generated) {
    parts.push(`GENERATED ALWAYS AS (${col.generated.expression})`);
    parts.push(col.generated.kind === 'stored' ? 'STORED' : 'VIRTUAL');
    if (!col.nullable) parts.push('NOT NULL');
  } else {
    parts.push(col.nullable ? 'NULL' : 'NOT NULL');
    const d = defaultSql(col.default, col);
    if (d !== null) parts.push(`DEFAULT ${d}`);
    if (col.onUpdate) parts.push(`ON UPDATE ${currentTimestampSql(col.onUpdate) ?? col.onUpdate}`);
    if (col.autoIncrement) parts.push('AUTO_INCREMENT');
  }
  if (col.invisible) parts.push('INVISIBLE');
  if (col.comment) parts.push(`COMMENT ${stringLiteral(col.comment, false)}`);
  if (opts.withCheck && col.check) parts.push(`CHECK (${col.check})`);
  return parts.join(' ');
}

const keyPartsSql = (parts: KeyPart[]) =>
  `(${parts.map((p) => `${quoteIdentifier(p.column)}${p.subPart ? `(${p.subPart})` : ''}`).join(', ')})`;

/** Online's CREATE TABLE with the offline schema and table name, or one built from the description. */
function createTableSql(online: TableDescription, offlineRef: TableRef): string {
  const text = online.createTable;
  if (text) {
    const m = /^CREATE TABLE (`(?:[^`]|``)+`|[^\s(]+)/i.exec(text);
    if (m) return `CREATE TABLE ${quoteTable(offlineRef)}${text.slice(m[0].length)}`;
  }
  const lines = online.columns.map((c) => `  ${columnDefinition(c, { withCheck: true })}`);
  for (const ix of online.indexes) {
    if (ix.name === 'PRIMARY') lines.push(`  PRIMARY KEY ${keyPartsSql(ix.parts)}`);
    else if (ix.unique) lines.push(`  UNIQUE KEY ${quoteIdentifier(ix.name)} ${keyPartsSql(ix.parts)}`);
    else lines.push(`  KEY ${quoteIdentifier(ix.name)} ${keyPartsSql(ix.parts)}`);
  }
  return `CREATE TABLE ${quoteTable(offlineRef)} (\n${lines.join(',\n')}\n)`;
}

// ---------------------------------------------------------------------------------------------------
// The comparison (pure)
// ---------------------------------------------------------------------------------------------------

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Order in which per-difference statements can run one by one. */
const PHASE = {
  table: 0,
  dropUnique: 1,
  tableOptions: 2,
  addColumn: 3,
  modify: 4,
  primaryKey: 5,
  modifyAddingAutoIncrement: 6,
  dropColumn: 7,
  addUnique: 8,
} as const;

interface Pending {
  phase: number;
  order: number;
  /** The ALTER TABLE clause (without `ALTER TABLE t`), or a whole statement for table-level kinds. */
  clause: string;
  difference: DistributiveOmit<SchemaDifference, 'ddl'>;
}

const lower = (s: string) => s.toLowerCase();
const partKey = (p: KeyPart) => `${lower(p.column)}(${p.subPart ?? ''})`;
const keySignature = (parts: KeyPart[]) => parts.map(partKey).sort().join(',');
const RANK: Record<Severity, number> = { info: 0, risk: 1, breaks: 2 };
const DDL_RANK: Record<DdlRisk, number> = { safe: 0, 'may-fail': 1, 'loses-offline-data': 2 };
const ddlRiskOf = (loss: Loss): DdlRisk =>
  loss === 'none' ? 'safe' : loss === 'refused' ? 'may-fail' : 'loses-offline-data';
const worseDdlRisk = (a: DdlRisk, b: DdlRisk) => (DDL_RANK[b] > DDL_RANK[a] ? b : a);

/**
 * Compares an online table's description with its offline twin's (null: the table does not exist on
 * that side). Pure: the refs are used for names in the DDL only.
 */
export function compareTables(
  online: TableDescription | null,
  offline: TableDescription | null,
  onlineRef: TableRef,
  offlineRef: TableRef,
): SchemaDriftReport {
  const pending: Pending[] = [];
  const alter = `ALTER TABLE ${quoteTable(offlineRef)}`;
  if (online && !offline) {
    pending.push({
      phase: PHASE.table,
      order: 0,
      clause: createTableSql(online, offlineRef),
      difference: {
        kind: 'table-missing-offline',
        severity: 'breaks',
        effect: `every change to ${tableName(onlineRef)} is dead-lettered (the offline table ${tableName(offlineRef)} does not exist)`,
        ddlRisk: 'safe',
      },
    });
  } else if (!online && offline) {
    pending.push({
      phase: PHASE.table,
      order: 0,
      clause: `DROP TABLE ${quoteTable(offlineRef)}`,
      difference: {
        kind: 'table-extra-offline',
        severity: 'risk',
        effect: `no online table ${tableName(onlineRef)} feeds it, so cdc-mirror never writes it (check the schema renames); the proposed DROP TABLE deletes its offline rows`,
        ddlRisk: 'loses-offline-data',
      },
    });
  } else if (online && offline) {
    compareTableDefaults(online, offline, pending);
    compareColumns(online, offline, pending);
    compareKeys(online, offline, pending);
  }

  pending.sort((a, b) => a.phase - b.phase || a.order - b.order);
  const tableLevel = pending.length === 1 && pending[0]?.phase === PHASE.table;
  const differences = pending.map(
    (p) =>
      ({
        ...p.difference,
        ddl: p.phase === PHASE.table ? p.clause : `${alter} ${p.clause}`,
      }) as SchemaDifference,
  );
  const clauses = [...new Set(pending.map((p) => p.clause))];
  const ddl = tableLevel ? clauses : clauses.length ? [`${alter}\n  ${clauses.join(',\n  ')}`] : [];
  const counts: Record<Severity, number> = { breaks: 0, risk: 0, info: 0 };
  for (const d of differences) counts[d.severity] += 1;
  const worst = differences.reduce<Severity | null>(
    (w, d) => (w === null || RANK[d.severity] > RANK[w] ? d.severity : w),
    null,
  );
  return {
    online: { ref: onlineRef, exists: online !== null },
    offline: { ref: offlineRef, exists: offline !== null },
    differences,
    ddl,
    worst,
    counts,
  };
}

function columnLabel(kind: ColumnAttributeKind, col: ColumnDescription): string {
  switch (kind) {
    case 'type':
      return col.columnType;
    case 'charset':
      return col.charset ?? 'none';
    case 'collation':
      return col.collation ?? 'none';
    case 'nullability':
      return col.nullable ? 'NULL' : 'NOT NULL';
    case 'default':
      return describeDefault(col.default, col);
    case 'auto-increment':
      return col.autoIncrement ? 'AUTO_INCREMENT' : 'not AUTO_INCREMENT';
    case 'generated':
      return col.generated
        ? `GENERATED ALWAYS AS (${col.generated.expression}) ${col.generated.kind.toUpperCase()}`
        : 'not generated';
    case 'on-update':
      return col.onUpdate ? `ON UPDATE ${col.onUpdate}` : 'no ON UPDATE';
  }
}

const charsetOfCollation = (collation: string) => collation.toLowerCase().split('_')[0] as string;

function compareTableDefaults(online: TableDescription, offline: TableDescription, pending: Pending[]): void {
  const on = online.collation;
  const off = offline.collation;
  if (!on || !off || normalCollation(on) === normalCollation(off)) return;
  pending.push({
    phase: PHASE.tableOptions,
    order: 0,
    clause: `DEFAULT CHARACTER SET ${charsetOfCollation(on)} COLLATE ${on}`,
    difference: {
      kind: 'table-default-collation',
      online: on,
      offline: off,
      severity: 'info',
      effect:
        'only columns added later without their own charset and collation differ (existing columns are compared one by one)',
      ddlRisk: 'safe',
    },
  });
}

function keyedColumns(t: TableDescription): Set<string> {
  return new Set(t.indexes.filter((ix) => ix.unique).flatMap((ix) => ix.parts.map((p) => lower(p.column))));
}

function compareColumns(online: TableDescription, offline: TableDescription, pending: Pending[]): void {
  const offByName = new Map(offline.columns.map((c) => [lower(c.name), c]));
  const onNames = new Set(online.columns.map((c) => lower(c.name)));
  const keyed = new Set([...keyedColumns(online), ...keyedColumns(offline)]);
  online.columns.forEach((on, index) => {
    const prev = online.columns[index - 1];
    const position = prev ? `AFTER ${quoteIdentifier(prev.name)}` : 'FIRST';
    const off = offByName.get(lower(on.name));
    if (!off) {
      pending.push({
        phase: PHASE.addColumn,
        order: index,
        clause: `ADD COLUMN ${columnDefinition(on, { withCheck: true })} ${position}`,
        difference: {
          kind: 'column-missing-offline',
          column: on.name,
          online: columnDefinition(on),
          severity: on.generated ? 'risk' : 'breaks',
          effect: on.generated
            ? 'its values are dropped (the offline table has no such column; online computes it, so adding it recomputes them)'
            : 'its values are dropped (the offline table has no such column)',
          ddlRisk: 'safe',
        },
      });
      return;
    }
    const found = compareColumn(on, off, keyed);
    if (found.length === 0) return;
    // Changing whether (or how) a column is generated cannot be done by MODIFY: drop and add it back.
    const regenerate =
      (on.generated === null) !== (off.generated === null) ||
      (on.generated !== null && off.generated !== null && on.generated.kind !== off.generated.kind);
    const clause = regenerate
      ? `DROP COLUMN ${quoteIdentifier(off.name)}, ADD COLUMN ${columnDefinition(on, { withCheck: true })} ${position}`
      : `MODIFY COLUMN ${columnDefinition(on, { withCheck: true })}`;
    let ddlRisk = found.reduce<DdlRisk>((r, f) => worseDdlRisk(r, f.ddlRisk), 'safe');
    if (regenerate) ddlRisk = 'loses-offline-data';
    const phase = on.autoIncrement && !off.autoIncrement ? PHASE.modifyAddingAutoIncrement : PHASE.modify;
    for (const f of found) {
      pending.push({
        phase,
        order: index,
        clause,
        difference: {
          kind: f.kind,
          column: on.name,
          online: columnLabel(f.kind, on),
          offline: columnLabel(f.kind, off),
          severity: f.severity,
          effect: f.effect,
          ddlRisk,
        },
      });
    }
  });
  offline.columns.forEach((off, index) => {
    if (onNames.has(lower(off.name))) return;
    const required = !off.nullable && off.default.kind === 'none' && !off.autoIncrement && !off.generated;
    const drop = off.generated
      ? 'the proposed DROP COLUMN loses nothing stored (offline computes it)'
      : `the proposed DROP COLUMN deletes its offline values`;
    pending.push({
      phase: PHASE.dropColumn,
      order: index,
      clause: `DROP COLUMN ${quoteIdentifier(off.name)}`,
      difference: {
        kind: 'column-extra-offline',
        column: off.name,
        offline: columnDefinition(off),
        severity: required ? 'breaks' : off.generated ? 'info' : 'risk',
        effect: required
          ? `inserts fail (rows dead-lettered): online sends no value for this NOT NULL column without a default; ${drop}`
          : off.generated
            ? `offline-only generated column, computed offline and never written; ${drop}`
            : `offline-only column: mirrored inserts give it ${describeDefault(off.default, off)}${
                off.autoIncrement ? ' (its next AUTO_INCREMENT value)' : ''
              } and a manual sync in replace mode resets it to that; ${drop}`,
        ddlRisk: off.generated ? 'safe' : 'loses-offline-data',
      },
    });
  });
}

interface ColumnFinding {
  kind: ColumnAttributeKind;
  severity: Severity;
  effect: string;
  /** What aligning this attribute risks for the offline data. */
  ddlRisk: DdlRisk;
}

function compareColumn(on: ColumnDescription, off: ColumnDescription, keyed: Set<string>): ColumnFinding[] {
  const found: ColumnFinding[] = [];
  if (typeKey(on.columnType) !== typeKey(off.columnType)) {
    const forward = typeVerdict(on, off);
    const back = typeVerdict(off, on);
    found.push({
      kind: 'type',
      severity: forward.severity,
      effect: forward.effect,
      ddlRisk: ddlRiskOf(back.loss),
    });
  }
  const onCs = normalCharset(on.charset);
  const offCs = normalCharset(off.charset);
  if (onCs !== offCs) {
    if (onCs && offCs) {
      const forward = charsetVerdict(onCs, offCs);
      const back = charsetVerdict(offCs, onCs);
      found.push({
        kind: 'charset',
        severity: forward.severity,
        effect: forward.effect,
        ddlRisk: ddlRiskOf(back.loss),
      });
    } else if (!found.some((f) => f.kind === 'type')) {
      // A character column on one side only: the type differs too and says what breaks.
      found.push({
        kind: 'charset',
        severity: 'risk',
        effect: 'one side stores text and the other bytes',
        ddlRisk: 'may-fail',
      });
    }
  }
  const onColl = normalCollation(on.collation);
  const offColl = normalCollation(off.collation);
  const suffix = (c: string, cs: string | null) => (cs && c.startsWith(`${cs}_`) ? c.slice(cs.length) : c);
  if (
    onColl &&
    offColl &&
    onColl !== offColl &&
    (onCs === offCs || suffix(onColl, onCs) !== suffix(offColl, offCs))
  ) {
    const isKeyed = keyed.has(lower(on.name));
    const coarser = collationStrength(offColl) < collationStrength(onColl);
    found.push({
      kind: 'collation',
      severity: isKeyed ? (coarser ? 'breaks' : 'risk') : 'info',
      effect: isKeyed
        ? `keys may match differently (rows the server keeps apart online may collide offline, or the reverse)${
            coarser ? `: ${offColl} tells fewer values apart than ${onColl}` : ''
          }`
        : 'comparisons and sorting offline differ from online; no key uses this column, so rows still match',
      ddlRisk: isKeyed && coarser === false ? 'may-fail' : 'safe',
    });
  }
  const bothStored = !on.generated && !off.generated;
  if (bothStored && on.nullable !== off.nullable) {
    found.push(
      on.nullable
        ? { kind: 'nullability', severity: 'breaks', effect: 'NULLs are dead-lettered', ddlRisk: 'safe' }
        : {
            kind: 'nullability',
            severity: 'info',
            effect: 'offline also accepts NULL, which online never sends',
            ddlRisk: 'may-fail',
          },
    );
  }
  const impliedOnly =
    on.nullable !== off.nullable &&
    new Set([on.default.kind, off.default.kind]).size === 2 &&
    [on.default.kind, off.default.kind].every((k) => k === 'none' || k === 'null');
  if (
    bothStored &&
    !impliedOnly &&
    defaultKey(on.default, on.dataType) !== defaultKey(off.default, off.dataType)
  ) {
    found.push({
      kind: 'default',
      severity: 'info',
      effect: `rows inserted offline without a value for it get ${describeDefault(off.default, off)} instead of online's ${describeDefault(on.default, on)}; mirrored rows carry online's value`,
      ddlRisk: 'safe',
    });
  }
  if (on.autoIncrement !== off.autoIncrement) {
    found.push({
      kind: 'auto-increment',
      severity: 'info',
      effect: on.autoIncrement
        ? "rows inserted offline by hand need an explicit value; mirrored rows carry online's"
        : "offline numbers rows inserted by hand itself; mirrored rows carry online's values",
      ddlRisk: 'safe',
    });
  }
  const genKey = (c: ColumnDescription) =>
    c.generated ? `${c.generated.kind}:${canonicalExpression(c.generated.expression)}` : '';
  if (genKey(on) !== genKey(off)) {
    if (!off.generated) {
      found.push({
        kind: 'generated',
        severity: 'risk',
        effect:
          'offline stores whatever the change carries for it instead of computing it (a value the change lacks becomes its default)',
        ddlRisk: 'loses-offline-data',
      });
    } else if (!on.generated) {
      found.push({
        kind: 'generated',
        severity: 'breaks',
        effect: 'offline computes it and cdc-mirror never writes it: online values are not copied',
        ddlRisk: 'loses-offline-data',
      });
    } else if (
      canonicalExpression(on.generated.expression) !== canonicalExpression(off.generated.expression)
    ) {
      found.push({
        kind: 'generated',
        severity: 'risk',
        effect: 'offline computes it with a different expression: its values differ from online',
        ddlRisk: 'safe',
      });
    } else {
      found.push({
        kind: 'generated',
        severity: 'info',
        effect: 'computed the same way; only whether it is stored differs',
        ddlRisk: 'safe',
      });
    }
  }
  const updKey = (c: ColumnDescription) => (c.onUpdate ? canonicalExpression(c.onUpdate) : '');
  if (updKey(on) !== updKey(off)) {
    found.push(
      off.onUpdate
        ? {
            kind: 'on-update',
            severity: 'risk',
            effect:
              'offline sets it to the current time when a mirrored update leaves it unchanged: it drifts from online',
            ddlRisk: 'safe',
          }
        : {
            kind: 'on-update',
            severity: 'info',
            effect: "offline does not refresh it on its own updates; mirrored updates carry online's value",
            ddlRisk: 'safe',
          },
    );
  }
  return found;
}

function compareKeys(online: TableDescription, offline: TableDescription, pending: Pending[]): void {
  const onPk = online.indexes.find((ix) => ix.name === 'PRIMARY');
  const offPk = offline.indexes.find((ix) => ix.name === 'PRIMARY');
  const cols = (ix: IndexDescription | undefined) => ix?.parts.map((p) => p.column) ?? [];
  if ((onPk ? keySignature(onPk.parts) : '') !== (offPk ? keySignature(offPk.parts) : '')) {
    const clause = !onPk
      ? 'DROP PRIMARY KEY'
      : offPk
        ? `DROP PRIMARY KEY, ADD PRIMARY KEY ${keyPartsSql(onPk.parts)}`
        : `ADD PRIMARY KEY ${keyPartsSql(onPk.parts)}`;
    const describe = (ix: IndexDescription | undefined) =>
      ix ? `(${ix.parts.map((p) => p.column).join(', ')})` : 'none';
    pending.push({
      phase: PHASE.primaryKey,
      order: 0,
      clause,
      difference: {
        kind: 'primary-key',
        online: cols(onPk),
        offline: cols(offPk),
        severity: 'breaks',
        effect: `rows are matched by different keys: updates may hit the wrong rows (online primary key ${describe(onPk)}, offline ${describe(offPk)})`,
        ddlRisk: onPk ? 'may-fail' : 'safe',
      },
    });
  }

  const onUnique = online.indexes.filter((ix) => ix.unique && ix.name !== 'PRIMARY');
  const offUnique = offline.indexes.filter((ix) => ix.unique && ix.name !== 'PRIMARY');
  // Pair keys by what they enforce (their columns), whatever their names; the rest differ.
  const unmatchedOff = [...offUnique];
  const missing: IndexDescription[] = [];
  for (const k of onUnique) {
    const i = unmatchedOff.findIndex((o) => keySignature(o.parts) === keySignature(k.parts));
    if (i >= 0) unmatchedOff.splice(i, 1);
    else missing.push(k);
  }
  const onKeys = online.indexes.filter((ix) => ix.unique);
  const subset = (a: IndexDescription, b: IndexDescription) =>
    a.parts.every((p) => b.parts.some((q) => partKey(q) === partKey(p)));
  unmatchedOff.forEach((k, order) => {
    const impliedBy = onKeys.find((o) => subset(o, k));
    pending.push({
      phase: PHASE.dropUnique,
      order,
      clause: `DROP INDEX ${quoteIdentifier(k.name)}`,
      difference: {
        kind: 'unique-key-extra-offline',
        key: k.name,
        columns: cols(k),
        severity: impliedBy ? 'info' : 'risk',
        effect: impliedBy
          ? `no conflict possible: online's ${impliedBy.name === 'PRIMARY' ? 'primary key' : `unique key ${impliedBy.name}`} already keeps these rows apart`
          : 'rows distinct online may conflict offline (conflict policy decides)',
        ddlRisk: 'safe',
      },
    });
  });
  // Names the offline table keeps: an added key must not take one.
  const dropped = new Set(unmatchedOff.map((k) => lower(k.name)));
  const taken = new Map(
    offline.indexes.filter((ix) => !dropped.has(lower(ix.name))).map((ix) => [lower(ix.name), ix]),
  );
  missing.forEach((k, order) => {
    let name = k.name;
    let prefix = '';
    const clash = taken.get(lower(name));
    if (clash && !clash.unique) prefix = `DROP INDEX ${quoteIdentifier(clash.name)}, `;
    else if (clash) {
      let n = 2;
      while (taken.has(lower(`${k.name}_${n}`))) n++;
      name = `${k.name}_${n}`;
    }
    taken.set(lower(name), { ...k, name });
    pending.push({
      phase: PHASE.addUnique,
      order,
      clause: `${prefix}ADD UNIQUE KEY ${quoteIdentifier(name)} ${keyPartsSql(k.parts)}`,
      difference: {
        kind: 'unique-key-missing-offline',
        key: k.name,
        columns: cols(k),
        severity: 'risk',
        effect:
          'offline may accept duplicates online refuses (rows made offline are not checked against it, and mirrored rows may then duplicate them)',
        ddlRisk: 'may-fail',
      },
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Reading (both sides are only read)
// ---------------------------------------------------------------------------------------------------

interface ColumnRow {
  name: string;
  data_type: string;
  column_type: string;
  is_nullable: string;
  column_default: string | null;
  charset: string | null;
  collation: string | null;
  extra: string | null;
  generation_expression: string | null;
  comment: string | null;
  [k: string]: string | null;
}

interface IndexRow {
  index_name: string;
  non_unique: string;
  column_name: string | null;
  sub_part: string | null;
  [k: string]: string | null;
}

/** Which server answers (MariaDB reports defaults as SQL, MySQL and TiDB as values). */
export async function serverKindOf(q: ReadQuerier): Promise<ServerKind> {
  const [row] = await q.select<{ v: string }>('SELECT VERSION() AS v');
  return detectServer(String(row?.v ?? '')).kind;
}

/**
 * Reads one table's description, or null when it does not exist, from information_schema (TABLES,
 * COLUMNS, STATISTICS, and on MariaDB CHECK_CONSTRAINTS).
 */
export async function describeTable(
  q: ReadQuerier,
  ref: TableRef,
  opts: { server?: ServerKind } = {},
): Promise<TableDescription | null> {
  const [table] = await q.select<{ type: string; collation: string | null }>(
    `SELECT TABLE_TYPE AS type, TABLE_COLLATION AS collation
       FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
    [ref.schema, ref.table],
  );
  if (!table) return null;
  const server = opts.server ?? (await serverKindOf(q));
  const columnRows = await q.select<ColumnRow>(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS data_type, COLUMN_TYPE AS column_type,
            IS_NULLABLE AS is_nullable, COLUMN_DEFAULT AS column_default,
            CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation, EXTRA AS extra,
            GENERATION_EXPRESSION AS generation_expression, COLUMN_COMMENT AS comment
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [ref.schema, ref.table],
  );
  const checks = new Map<string, string>();
  if (server === 'mariadb') {
    try {
      const rows = await q.select<{ name: string; clause: string }>(
        `SELECT CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS
          WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND LEVEL = 'Column'`,
        [ref.schema, ref.table],
      );
      for (const r of rows) checks.set(lower(String(r.name)), String(r.clause));
    } catch {
      // MariaDB before 10.5.10 has no LEVEL: column checks are then not carried into added columns.
    }
  }
  const columns = columnRows.map((r): ColumnDescription => {
    const extra = String(r.extra ?? '');
    const dataType = String(r.data_type).toLowerCase();
    const nullable = r.is_nullable === 'YES';
    const expression = r.generation_expression ? String(r.generation_expression) : '';
    const isGenerated = /generated|persistent/i.test(extra) && expression !== '';
    const onUpdate = /on update ([a-z_]+(?:\(\d*\))?)/i.exec(extra)?.[1] ?? null;
    return {
      name: String(r.name),
      dataType,
      columnType: String(r.column_type),
      charset: r.charset === null ? null : String(r.charset),
      collation: r.collation === null ? null : String(r.collation),
      nullable,
      default: isGenerated
        ? { kind: 'null' }
        : parseColumnDefault(r.column_default === null ? null : String(r.column_default), server, {
            dataType,
            nullable,
            extra,
          }),
      autoIncrement: /auto_increment/i.test(extra),
      generated: isGenerated
        ? { kind: /stored|persistent/i.test(extra) ? 'stored' : 'virtual', expression }
        : null,
      onUpdate,
      invisible: /\binvisible\b/i.test(extra),
      comment: r.comment ? String(r.comment) : '',
      check: checks.get(lower(String(r.name))) ?? null,
    };
  });
  const indexRows = await q.select<IndexRow>(
    `SELECT INDEX_NAME AS index_name, NON_UNIQUE AS non_unique, COLUMN_NAME AS column_name, SUB_PART AS sub_part
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
      ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [ref.schema, ref.table],
  );
  const byName = new Map<string, { unique: boolean; parts: (KeyPart | null)[] }>();
  for (const r of indexRows) {
    const name = String(r.index_name);
    const entry = byName.get(name) ?? { unique: Number(r.non_unique) === 0, parts: [] };
    entry.parts.push(
      r.column_name === null
        ? null
        : { column: String(r.column_name), subPart: r.sub_part === null ? null : Number(r.sub_part) },
    );
    byName.set(name, entry);
  }
  const indexes: IndexDescription[] = [];
  for (const [name, ix] of byName) {
    // Functional key parts (MySQL 8) have no column: such a key is left out of the comparison.
    if (ix.parts.some((p) => p === null)) continue;
    indexes.push({ name, unique: ix.unique, parts: ix.parts as KeyPart[] });
  }
  return { server, columns, indexes, collation: table.collation === null ? null : String(table.collation) };
}

/** The server's own CREATE TABLE text for a table. */
export async function showCreateTable(q: ReadQuerier, ref: TableRef): Promise<string | undefined> {
  const [row] = await q.select<Record<string, string>>(`SHOW CREATE TABLE ${quoteTable(ref)}`);
  const text = row?.['Create Table'];
  return typeof text === 'string' ? text : undefined;
}

/**
 * The schema drift report for one table: online `onlineRef` against offline `offlineRef` (the name after
 * the schema renames: `mapTable(entry.schemas, onlineRef)`). Reads both sides, writes neither.
 */
export async function schemaDrift(
  online: ReadQuerier,
  offline: ReadQuerier,
  onlineRef: TableRef,
  offlineRef: TableRef,
): Promise<SchemaDriftReport> {
  const [onlineTable, offlineTable] = await Promise.all([
    describeTable(online, onlineRef),
    describeTable(offline, offlineRef),
  ]);
  if (onlineTable && !offlineTable) {
    // CREATE TABLE is built from online's own text, read only when it is needed.
    const text = await showCreateTable(online, onlineRef);
    if (text) onlineTable.createTable = text;
  }
  return compareTables(onlineTable, offlineTable, onlineRef, offlineRef);
}

/** `schemaDrift` for an online table routed by a cdc/manual entry's schema renames. */
export function schemaDriftRouted(
  online: ReadQuerier,
  offline: ReadQuerier,
  schemas: Record<string, string>,
  onlineRef: TableRef,
): Promise<SchemaDriftReport> {
  return schemaDrift(online, offline, onlineRef, mapTable(schemas, onlineRef));
}
