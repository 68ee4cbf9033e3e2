import { setOwn } from '../formats/json';
import { coerceValue } from '../formats/values';
import { keyString } from '../plan/keys';
import type { ColumnInfo, RowChange, SqlRow, TableSchema, WireField, WireRow } from '../types';

/**
 * Turns a decoded row into the values to write, against the offline table's columns. Columns the
 * table lacks are dropped (and reported); generated columns are never written.
 */
/** Field name as sent → the offline column (null: none), per table schema: no case folding per value. */
const lookups = new WeakMap<TableSchema, Map<string, ColumnInfo | null>>();

function columnLookup(table: TableSchema): Map<string, ColumnInfo | null> {
  let m = lookups.get(table);
  if (!m) {
    m = new Map();
    lookups.set(table, m);
  }
  return m;
}

/** The columns of the identity and of every unique key: all a `before` image is needed for. */
const keyColumnSets = new WeakMap<TableSchema, Set<string>>();

function keyColumnsOf(table: TableSchema): Set<string> {
  let keys = keyColumnSets.get(table);
  if (!keys) {
    keys = new Set([...table.identity, ...table.uniqueKeys.flatMap((k) => k.columns)]);
    keyColumnSets.set(table, keys);
  }
  return keys;
}

/** `only`: convert just these columns (the others are still checked for existence). */
export function materializeRow(
  row: WireRow,
  table: TableSchema,
  change: RowChange<WireRow>,
  dropped: Set<string>,
  only?: Set<string>,
): SqlRow {
  const out: SqlRow = {};
  const columnOf = columnLookup(table);
  for (const name in row) {
    let column = columnOf.get(name);
    if (column === undefined) {
      column = table.columnsByName.get(name.toLowerCase()) ?? null;
      columnOf.set(name, column);
    }
    if (!column) {
      dropped.add(name);
      continue;
    }
    if (column.generated || (only && !only.has(column.name))) continue;
    setOwn(out, column.name, coerceValue(row[name] as WireField, column, change.format));
  }
  return out;
}

export function materialize(
  change: RowChange<WireRow>,
  table: TableSchema,
  dropped: Set<string>,
): RowChange<SqlRow> {
  const conv = (row: WireRow) => materializeRow(row, table, change, dropped);
  // A before image only ever names rows (key changes, deletes, unique swaps): its other values are not
  // converted, so they cost nothing and an unfit one there cannot fail the change.
  const keys = (row: WireRow) => materializeRow(row, table, change, dropped, keyColumnsOf(table));
  const { table: ref, position, format } = change;
  // Built field by field: spreading and rest-destructuring change objects cost more than the rows here.
  switch (change.kind) {
    case 'insert':
      return change.snapshot === undefined
        ? { kind: 'insert', table: ref, position, format, after: conv(change.after) }
        : {
            kind: 'insert',
            table: ref,
            position,
            format,
            after: conv(change.after),
            snapshot: change.snapshot,
          };
    case 'update':
      return change.before
        ? {
            kind: 'update',
            table: ref,
            position,
            format,
            after: conv(change.after),
            before: keys(change.before),
          }
        : { kind: 'update', table: ref, position, format, after: conv(change.after) };
    case 'delete':
      return { kind: 'delete', table: ref, position, format, before: keys(change.before) };
    case 'truncate':
      return change;
  }
}

/**
 * The identity keyString of a change's row, from its key columns alone, when they can be read: a row
 * whose other values are unfit still names the row it was meant for (so a later change supersedes it).
 */
export function identityKeyOf(change: RowChange<WireRow>, table: TableSchema): string | undefined {
  const row =
    change.kind === 'delete' ? change.before : change.kind === 'truncate' ? undefined : change.after;
  if (!row || table.identity.length === 0) return undefined;
  try {
    const key: SqlRow = {};
    for (const c of table.identity) {
      const column = table.columnsByName.get(c.toLowerCase());
      const field = Object.entries(row).find(([n]) => n.toLowerCase() === c.toLowerCase())?.[1];
      if (!column || !field || field.value.kind === 'null') return undefined;
      setOwn(key, c, coerceValue(field, column, change.format));
    }
    return keyString(table, key, table.identity);
  } catch {
    return undefined;
  }
}
