import { assembleSelectByKeys } from '../assembler/statements';
import type { ReadQuerier } from '../db/connection';
import type { SqlRow, TableSchema } from '../types';
import { hasAll, keyString, looseKeyString, pick, rowMatcher } from './keys';

/**
 * Reads against the offline table that planning needs: which keys exist, and which other rows hold
 * a unique value a row is about to take. Shared by CDC apply and manual sync.
 */

/** Identity key strings (see keyString) of those `rows` the table already has, as the server matches keys. */
export async function existingKeys(
  q: ReadQuerier,
  table: TableSchema,
  rows: readonly SqlRow[],
): Promise<Set<string>> {
  const id = table.identity;
  const present = new Set<string>();
  if (rows.length === 0) return present;
  const found: SqlRow[] = [];
  for (const stmt of assembleSelectByKeys(table, id, rows, id))
    found.push(...(await q.select(stmt.sql, stmt.params)));
  const match = rowMatcher(table, found, id);
  for (const row of rows) if (match(row)) present.add(keyString(table, row, id));
  return present;
}

export interface Collision {
  /** The unique key (index name) both rows hold the same value of. */
  keyName: string;
  /** Identity values of the offline row that holds it. */
  other: SqlRow;
}

/**
 * For each row (by identity key string), the offline rows with another identity that hold one of its
 * unique-key values: writing the row by key would collide with them. An offline row counts as the
 * same row only when its key is surely the same (keyString); when in doubt it is another row.
 */
export async function findCollisions(
  q: ReadQuerier,
  table: TableSchema,
  rows: readonly SqlRow[],
): Promise<Map<string, Collision[]>> {
  const id = table.identity;
  const out = new Map<string, Collision[]>();
  for (const uk of table.uniqueKeys) {
    if (uk.columns.join() === id.join()) continue;
    const holders = new Map<string, SqlRow[]>();
    for (const row of rows) {
      if (!hasAll(row, uk.columns)) continue;
      const k = looseKeyString(table, row, uk.columns);
      holders.set(k, [...(holders.get(k) ?? []), row]);
    }
    if (holders.size === 0) continue;
    const wanted = [...holders.values()].flat();
    for (const stmt of assembleSelectByKeys(table, uk.columns, wanted, [
      ...new Set([...id, ...uk.columns]),
    ])) {
      for (const other of await q.select(stmt.sql, stmt.params)) {
        for (const holder of holders.get(looseKeyString(table, other, uk.columns)) ?? []) {
          const holderKey = keyString(table, holder, id);
          if (keyString(table, other, id) === holderKey) continue;
          const list = out.get(holderKey) ?? [];
          list.push({ keyName: uk.name, other: pick(other, id) });
          out.set(holderKey, list);
        }
      }
    }
  }
  return out;
}
