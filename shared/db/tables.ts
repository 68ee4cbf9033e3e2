import type { Database } from './connection';

const created = new WeakMap<Database, Map<string, Promise<void>>>();

/**
 * Runs the CREATE ... IF NOT EXISTS statements of one of our own tables (jobs, dead letters) once per
 * database per container; a failure is not remembered, so the next call tries again.
 */
export function ensureTables(db: Database, name: string, ddl: readonly string[]): Promise<void> {
  let perDb = created.get(db);
  if (!perDb) {
    perDb = new Map();
    created.set(db, perDb);
  }
  let p = perDb.get(name);
  if (!p) {
    p = (async () => {
      for (const sql of ddl) await db.execute({ sql, params: [] });
    })();
    const map = perDb;
    p.catch(() => map.delete(name));
    map.set(name, p);
  }
  return p;
}

/** Now as DATETIME(6) text in UTC (the sessions run with time_zone '+00:00'). */
export const utcNow = (): string => new Date().toISOString().replace('T', ' ').replace('Z', '');
