import type { SqlRow, SqlValue, TableSchema } from '../types';

/**
 * A stable string for a tuple of key values, for maps and sets. Character columns are folded to
 * lower case because the usual *_ci collations compare them case-insensitively: 'A' and 'a' are
 * one key to the server, so they must be one key here too.
 */
export function keyString(table: TableSchema, row: SqlRow, columns: readonly string[]): string {
  return columns
    .map((c) => {
      const v: SqlValue = row[c] ?? null;
      if (v === null) return '\u0000N';
      if (typeof v !== 'string') return `x${v.toString('hex')}`;
      return table.columnsByName.get(c.toLowerCase())?.charset ? `s${v.toLowerCase()}` : `s${v}`;
    })
    .join('\u0001');
}

/** True when the row carries a non-null value for every column (NULLs never collide in a unique key). */
export function hasAll(row: SqlRow, columns: readonly string[]): boolean {
  return columns.every((c) => row[c] !== undefined && row[c] !== null);
}

export function pick(row: SqlRow, columns: readonly string[]): SqlRow {
  const out: SqlRow = {};
  for (const c of columns) out[c] = row[c] ?? null;
  return out;
}

/** Every unique-value tuple a row holds, tagged with its key name: what two rows may collide on. */
export function uniqueValues(table: TableSchema, row: SqlRow): string[] {
  const out: string[] = [];
  for (const key of table.uniqueKeys) {
    if (hasAll(row, key.columns)) out.push(`${key.name}\u0002${keyString(table, row, key.columns)}`);
  }
  return out;
}
