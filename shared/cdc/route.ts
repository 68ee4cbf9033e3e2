import type { CdcEntry } from '../config/schema';
import type { DecodedEvent, RowChange, TableRef, WireRow } from '../types';

/** `*` any run of characters, `?` one character; MySQL names are matched case-insensitively. */
function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

const compiled = new Map<string, RegExp>();
export function tableAllowed(patterns: readonly string[], ref: TableRef): boolean {
  const name = `${ref.schema}.${ref.table}`;
  return patterns.some((p) => {
    let re = compiled.get(p);
    if (!re) {
      re = patternToRegExp(p);
      compiled.set(p, re);
    }
    return re.test(name);
  });
}

/** The offline table an online table maps to (`schemas: {shop: shop_test}`). */
export function mapTable(schemas: Record<string, string>, ref: TableRef): TableRef {
  return { schema: schemas[ref.schema] ?? ref.schema, table: ref.table };
}

export type RouteResult =
  | { kind: 'apply'; change: RowChange<WireRow> }
  | { kind: 'ddl'; table: TableRef; sql: string }
  | { kind: 'filtered'; reason: string };

/** Decides what a decoded event means for one `cdc` entry: apply (renamed), a DDL, or filtered out. */
export function routeEvent(event: DecodedEvent, entry: CdcEntry): RouteResult {
  if (event.kind === 'skip') return { kind: 'filtered', reason: event.reason };
  if (!tableAllowed(entry.tables, event.table)) {
    return { kind: 'filtered', reason: `table ${event.table.schema}.${event.table.table} is not in tables` };
  }
  const table = mapTable(entry.schemas, event.table);
  if (event.kind === 'ddl') return { kind: 'ddl', table, sql: event.sql };
  if (event.kind === 'truncate') {
    return entry.applyTruncate
      ? { kind: 'apply', change: { ...event, table } }
      : { kind: 'filtered', reason: 'truncate not applied (applyTruncate is off)' };
  }
  const op = event.kind === 'insert' ? 'insert' : event.kind === 'update' ? 'update' : 'delete';
  if (!entry.operations.includes(op))
    return { kind: 'filtered', reason: `operation ${op} is not in operations` };
  return { kind: 'apply', change: { ...event, table } };
}
