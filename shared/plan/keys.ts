import { setOwn } from '../formats/json';
import type { ColumnInfo, SqlRow, SqlValue, TableSchema } from '../types';

/**
 * Keys as the server compares them. Two strings give one `keyString` only when every collation the
 * server could use treats them as equal, so rows the server keeps apart are never merged: bytes and
 * `_bin` text compare exactly, `_ci` text folds ASCII case only (what every case-insensitive collation
 * does). `looseKeyString` errs the other way: it folds case, accents, compatibility forms and trailing
 * spaces, so two keys the server *might* treat as one always share it. Coalescing uses the first;
 * ordering (when pending changes must be flushed before the next) uses the second.
 */

const caseInsensitive = (c: ColumnInfo | undefined) => Boolean(c?.collation && /_ci$/i.test(c.collation));

function exactPart(v: SqlValue, column: ColumnInfo | undefined): string {
  if (v === null) return '\u0000N';
  if (typeof v !== 'string') return `x${v.toString('hex')}`;
  if (!column?.charset) return `s${v}`;
  return `s${caseInsensitive(column) ? v.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : v}`;
}

function loosePart(v: SqlValue, column: ColumnInfo | undefined): string {
  if (v === null) return '\u0000N';
  if (typeof v !== 'string') return `x${v.toString('hex')}`;
  if (!column?.charset) return `s${v}`;
  // PAD SPACE collations (the default ones) ignore trailing spaces, _bin ones included.
  const trimmed = v.replace(/ +$/, '');
  if (!caseInsensitive(column)) return `s${trimmed}`;
  // ASCII has no marks, compatibility forms or ß: the fold below would only lower its case.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: all of ASCII is meant.
  if (/^[\u0000-\u007f]*$/.test(trimmed)) return `s${trimmed.toLowerCase()}`;
  return `s${trimmed
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/ß/g, 's')}`;
}

function key(
  part: (v: SqlValue, c: ColumnInfo | undefined) => string,
  table: TableSchema,
  row: SqlRow,
  columns: readonly string[],
): string {
  return columns.map((c) => part(row[c] ?? null, table.columnsByName.get(c.toLowerCase()))).join('\u0001');
}

/** A stable string for a tuple of key values: equal only when the server surely sees one key. */
export function keyString(table: TableSchema, row: SqlRow, columns: readonly string[]): string {
  return key(exactPart, table, row, columns);
}

/** Equal whenever the server may see one key (a superset of keyString's equalities). */
export function looseKeyString(table: TableSchema, row: SqlRow, columns: readonly string[]): string {
  return key(loosePart, table, row, columns);
}

/** True when the row carries a non-null value for every column (NULLs never collide in a unique key). */
export function hasAll(row: SqlRow, columns: readonly string[]): boolean {
  return columns.every((c) => row[c] !== undefined && row[c] !== null);
}

export function pick(row: SqlRow, columns: readonly string[]): SqlRow {
  const out: SqlRow = {};
  for (const c of columns) setOwn(out, c, row[c] ?? null);
  return out;
}

/**
 * Every loose key a row may collide on, tagged with its key name: the identity and each unique key.
 * What decides whether two pending changes must keep their order.
 */
export function looseKeys(table: TableSchema, row: SqlRow): string[] {
  const out: string[] = [];
  if (hasAll(row, table.identity)) out.push(`\u0002${looseKeyString(table, row, table.identity)}`);
  for (const uk of table.uniqueKeys) {
    if (hasAll(row, uk.columns)) out.push(`${uk.name}\u0002${looseKeyString(table, row, uk.columns)}`);
  }
  return out;
}

/**
 * Finds, for a row we asked about, the row the server answered with: by exact key, else by loose key
 * when exactly one answer has it (a `_ci` key the server matched case- or accent-insensitively).
 */
export function rowMatcher(
  table: TableSchema,
  found: readonly SqlRow[],
  columns: readonly string[],
): (row: SqlRow) => SqlRow | undefined {
  const exact = new Map<string, SqlRow>();
  const loose = new Map<string, SqlRow[]>();
  for (const r of found) {
    exact.set(keyString(table, r, columns), r);
    const l = looseKeyString(table, r, columns);
    loose.set(l, [...(loose.get(l) ?? []), r]);
  }
  return (row) => {
    const hit = exact.get(keyString(table, row, columns));
    if (hit) return hit;
    const candidates = loose.get(looseKeyString(table, row, columns));
    return candidates?.length === 1 ? candidates[0] : undefined;
  };
}
