import type { Database, Querier } from '../db/connection';
import { tableName } from '../db/identifiers';
import { coerceValue } from '../formats/values';
import { getTableSchema } from '../schema/cache';
import type { RowChange, ServerInfo, SqlRow, TableSchema, WireRow } from '../types';
import {
  type ApplyObserver,
  type ConflictPolicy,
  emptyCounts,
  RowError,
  type TableCounts,
  TableWriter,
} from './table-writer';

export interface ApplyItem {
  change: RowChange<WireRow>;
  policy: ConflictPolicy;
}

export interface ApplyOptions {
  schemaTtlMs: number;
  observer: ApplyObserver & {
    /** Columns a message carries that the offline table lacks: reported once per table per batch. */
    droppedColumns(table: string, columns: string[]): void;
  };
}

/**
 * Turns a decoded row into the values to write, against the offline table's columns. Columns the
 * table lacks are dropped (and reported); generated columns are never written.
 */
export function materializeRow(
  row: WireRow,
  table: TableSchema,
  change: RowChange<WireRow>,
  dropped: Set<string>,
): SqlRow {
  const out: SqlRow = {};
  for (const [name, field] of Object.entries(row)) {
    const column = table.columnsByName.get(name.toLowerCase());
    if (!column) {
      dropped.add(name);
      continue;
    }
    if (column.generated) continue;
    out[column.name] = coerceValue(field, column, change.format);
  }
  return out;
}

function materialize(
  change: RowChange<WireRow>,
  table: TableSchema,
  dropped: Set<string>,
): RowChange<SqlRow> {
  const conv = (row: WireRow) => materializeRow(row, table, change, dropped);
  switch (change.kind) {
    case 'insert':
      return { ...change, after: conv(change.after) };
    case 'update': {
      const { before, ...rest } = change;
      return { ...rest, after: conv(change.after), ...(before ? { before: conv(before) } : {}) };
    }
    case 'delete':
      return { ...change, before: conv(change.before) };
    case 'truncate':
      return change;
  }
}

/**
 * TiDB caps a transaction's size (txn-total-size-limit, 100 MB by default) and its entry count, so a
 * large batch is committed in slices there; elsewhere one transaction holds the whole batch. Slicing
 * never reorders: slices run one after another, and re-applying a committed slice is idempotent.
 */
export const TIDB_CHANGES_PER_TRANSACTION = 2_000;

export function transactionSlices<T>(items: readonly T[], server: ServerInfo): T[][] {
  if (server.kind !== 'tidb') return [items.slice()];
  const slices: T[][] = [];
  for (let i = 0; i < items.length; i += TIDB_CHANGES_PER_TRANSACTION) {
    slices.push(items.slice(i, i + TIDB_CHANGES_PER_TRANSACTION));
  }
  return slices;
}

/**
 * Applies one target database's share of a batch, in order, in one transaction (per slice on TiDB).
 * Rows that cannot be written are reported and skipped; a transient error rolls back and propagates,
 * so the caller can retry (applying is idempotent).
 */
export async function applyToTarget(
  db: Database,
  items: readonly ApplyItem[],
  opts: ApplyOptions,
): Promise<Map<string, TableCounts>> {
  const counts = new Map<string, TableCounts>();
  const dropped = new Map<string, Set<string>>();
  for (const slice of transactionSlices(items, db.server)) {
    await db.transaction((tx) => applySlice(db, tx, slice, opts, counts, dropped));
  }
  for (const [name, cols] of dropped) {
    if (cols.size === 0) continue;
    const c = counts.get(name);
    if (c) c.droppedColumns += cols.size;
    opts.observer.droppedColumns(name, [...cols]);
  }
  return counts;
}

async function applySlice(
  db: Database,
  tx: Querier,
  items: readonly ApplyItem[],
  opts: ApplyOptions,
  counts: Map<string, TableCounts>,
  dropped: Map<string, Set<string>>,
): Promise<void> {
  const writers = new Map<string, TableWriter>();
  for (const { change, policy } of items) {
    const name = tableName(change.table);
    const tableCounts = counts.get(name) ?? emptyCounts();
    counts.set(name, tableCounts);
    let table: TableSchema;
    try {
      table = await getTableSchema(db, change.table, opts.schemaTtlMs);
    } catch (err) {
      if ((err as Error).name !== 'TableNotFoundError') throw err;
      tableCounts.failed += 1;
      opts.observer.rowFailed(change.position, change.table, err as Error);
      continue;
    }
    if (table.identity.length === 0) {
      tableCounts.failed += 1;
      opts.observer.rowFailed(
        change.position,
        change.table,
        new RowError(`table ${name} has no primary key and no NOT NULL unique key: rows cannot be matched`),
      );
      continue;
    }
    const droppedHere = dropped.get(name) ?? new Set<string>();
    dropped.set(name, droppedHere);
    let row: RowChange<SqlRow>;
    try {
      row = materialize(change, table, droppedHere);
    } catch (err) {
      tableCounts.failed += 1;
      opts.observer.rowFailed(change.position, change.table, err as Error);
      continue;
    }
    const writerKey = `${name}\u0000${policy}`;
    let writer = writers.get(writerKey);
    if (!writer) {
      writer = new TableWriter(tx, table, db.server, policy, tableCounts, opts.observer);
      writers.set(writerKey, writer);
    }
    await writer.add(row);
  }
  for (const writer of writers.values()) await writer.flush();
}
