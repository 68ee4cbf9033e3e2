import { assembleSelectByKeys } from '../assembler/statements';
import type { Querier } from '../db/connection';
import type { SqlRow, TableSchema } from '../types';
import { hasAll, keyString, pick } from './keys';

/**
 * Reads against the offline table that planning needs: which keys exist, and which other rows hold
 * a unique value a row is about to take. Shared by CDC apply and manual sync.
 */

/** Identity key strings (see keyString) of `rows` that the table already has. */
export async function existingKeys(
  q: Querier,
  table: TableSchema,
  rows: readonly SqlRow[],
): Promise<Set<string>> {
  const id = table.identity;
  const found = new Set<string>();
  if (rows.length === 0) return found;
  for (const stmt of assembleSelectByKeys(table, id, rows, id)) {
    for (const row of await q.select(stmt.sql, stmt.params)) found.add(keyString(table, row, id));
  }
  return found;
}

export interface Collision {
  /** The unique key (index name) both rows hold the same value of. */
  keyName: string;
  /** Identity values of the offline row that holds it. */
  other: SqlRow;
}

/**
 * For each row (by identity key string), the offline rows with another identity that hold one of its
 * unique-key values: writing the row by key would collide with them.
 */
export async function findCollisions(
  q: Querier,
  table: TableSchema,
  rows: readonly SqlRow[],
): Promise<Map<string, Collision[]>> {
  const id = table.identity;
  const out = new Map<string, Collision[]>();
  for (const uk of table.uniqueKeys) {
    if (uk.columns.join() === id.join()) continue;
    const holders = new Map<string, SqlRow>();
    for (const row of rows) if (hasAll(row, uk.columns)) holders.set(keyString(table, row, uk.columns), row);
    if (holders.size === 0) continue;
    for (const stmt of assembleSelectByKeys(
      table,
      uk.columns,
      [...holders.values()],
      [...new Set([...id, ...uk.columns])],
    )) {
      for (const other of await q.select(stmt.sql, stmt.params)) {
        const holder = holders.get(keyString(table, other, uk.columns));
        if (!holder) continue;
        const holderKey = keyString(table, holder, id);
        if (keyString(table, other, id) === holderKey) continue;
        const list = out.get(holderKey) ?? [];
        list.push({ keyName: uk.name, other: pick(other, id) });
        out.set(holderKey, list);
      }
    }
  }
  return out;
}
