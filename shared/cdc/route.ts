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

/**
 * Schemas that are never a source or a target, whatever `tables` says: server accounts and grants
 * (`mysql`), catalogs, and cdc-mirror's own bookkeeping.
 */
const SYSTEM_SCHEMAS = new Set(['mysql', 'sys', 'information_schema', 'performance_schema', 'cdc_mirror']);

export function isSystemSchema(schema: string): boolean {
  return SYSTEM_SCHEMAS.has(schema.toLowerCase());
}

/**
 * Why a name cannot be a MySQL identifier, or undefined when it can: at most 64 characters of the
 * Basic Multilingual Plane (the data dictionary is utf8mb3), no NUL, no trailing space.
 */
export function identifierProblem(name: string): string | undefined {
  // Every change message names its table: the answer for the names seen last is kept.
  if (checkedNames.has(name)) return checkedNames.get(name);
  const problem = findIdentifierProblem(name);
  if (checkedNames.size >= 1024) checkedNames.clear();
  checkedNames.set(name, problem);
  return problem;
}

const checkedNames = new Map<string, string | undefined>();

function findIdentifierProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  // Code points, not UTF-16 units; a name of at most 64 units has at most 64 code points.
  if (name.length > 64 && [...name].length > 64) return 'is longer than 64 characters';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what this looks for.
  if (/[\u0000]/.test(name)) return 'contains NUL';
  if (/[\uD800-\uDFFF]/.test(name)) return 'contains a character outside the Basic Multilingual Plane';
  if (/ $/.test(name)) return 'ends with a space';
  return undefined;
}

const compiled = new Map<string, RegExp>();
/** Per pattern list (one per cdc entry): `schema.table` → allowed, for the names seen last. */
const decided = new WeakMap<readonly string[], Map<string, boolean>>();

/** True when `ref` matches one of the patterns and is not in a system schema. */
export function tableAllowed(patterns: readonly string[], ref: TableRef): boolean {
  if (isSystemSchema(ref.schema)) return false;
  const name = `${ref.schema}.${ref.table}`;
  let seen = decided.get(patterns);
  if (!seen) {
    seen = new Map();
    decided.set(patterns, seen);
  }
  let allowed = seen.get(name);
  if (allowed === undefined) {
    allowed = matchesAny(patterns, name);
    if (seen.size >= 1024) seen.clear();
    seen.set(name, allowed);
  }
  return allowed;
}

function matchesAny(patterns: readonly string[], name: string): boolean {
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
  if (isSystemSchema(event.table.schema)) {
    return { kind: 'filtered', reason: `schema ${event.table.schema} is a system schema: never mirrored` };
  }
  if (!tableAllowed(entry.tables, event.table)) {
    return { kind: 'filtered', reason: `table ${event.table.schema}.${event.table.table} is not in tables` };
  }
  const table = mapTable(entry.schemas, event.table);
  if (isSystemSchema(table.schema)) {
    return { kind: 'filtered', reason: `schema ${table.schema} is a system schema: never written` };
  }
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
