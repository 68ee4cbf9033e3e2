import type { ReadQuerier } from '../db/connection';
import { tableName } from '../db/identifiers';
import type { TableRef, TableSchema } from '../types';
import { introspectTable } from './introspect';

/**
 * Table schemas per database, kept in module scope so warm invocations skip introspection.
 * An entry lives `ttlMs`; a DDL message or an unknown-column/table error drops it sooner. The lookup
 * runs on the querier it is given (the connection that is about to write), never on another pooled
 * connection: a pool of one must not wait for itself.
 */
const cache = new Map<string, { schema: Promise<TableSchema>; expiresAt: number }>();
export const schemaCacheStats = { hits: 0, introspections: 0 };

const keyOf = (db: { name: string }, ref: TableRef) => `${db.name}\u0000${tableName(ref).toLowerCase()}`;

export function getTableSchema(
  db: { name: string },
  q: ReadQuerier,
  ref: TableRef,
  ttlMs: number,
): Promise<TableSchema> {
  const key = keyOf(db, ref);
  const hit = cache.get(key);
  if (hit && hit.expiresAt > Date.now()) {
    schemaCacheStats.hits += 1;
    return hit.schema;
  }
  schemaCacheStats.introspections += 1;
  const schema = introspectTable(q, ref);
  cache.set(key, { schema, expiresAt: Date.now() + ttlMs });
  // A failed lookup (missing table, lost connection) is not remembered.
  schema.catch(() => {
    if (cache.get(key)?.schema === schema) cache.delete(key);
  });
  return schema;
}

export function invalidateTableSchema(db: { name: string }, ref: TableRef): void {
  cache.delete(keyOf(db, ref));
}

export function clearSchemaCache(): void {
  cache.clear();
}
