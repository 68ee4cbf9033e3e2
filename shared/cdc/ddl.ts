import type { Database } from '../db/connection';
import { quoteIdentifier, tableName } from '../db/identifiers';
import { logger } from '../observability';
import { invalidateTableSchema } from '../schema/cache';
import type { SourcePosition, TableRef } from '../types';

export interface SchemaChange {
  /** The offline table (after schema renames). */
  table: TableRef;
  /** The online schema the statement was written against. */
  sourceSchema: string;
  sql: string;
  position: SourcePosition;
  /** The entry opted in to executing DDL (`applyDdl`). */
  execute: boolean;
}

/** Errors a replayed DDL raises because it already happened: nothing to do. */
const ALREADY_APPLIED = new Set([
  1050, // table exists
  1060, // duplicate column
  1061, // duplicate key name
  1091, // can't drop: does not exist
  1007, // database exists
]);

/**
 * A DDL message always drops the cached shape of its table. It is executed on the offline database
 * only when the entry opts in, with the offline schema as the default database; a statement that names
 * the online schema explicitly while the schema is renamed is not executed (it would change the wrong
 * schema) and is reported instead.
 */
export async function handleSchemaChange(db: Database, change: SchemaChange): Promise<Error | undefined> {
  invalidateTableSchema(db, change.table);
  logger.info('schema change seen: cached table schema dropped', {
    table: tableName(change.table),
    target: db.name,
  });
  if (!change.execute || change.sql.trim() === '') return undefined;
  const renamed = change.sourceSchema !== change.table.schema;
  const namesSource = new RegExp(
    `\`?${change.sourceSchema.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\`?\\s*\\.`,
    'i',
  );
  if (renamed && namesSource.test(change.sql)) {
    return new Error(
      `DDL names the online schema "${change.sourceSchema}" while it maps to "${change.table.schema}": not executed`,
    );
  }
  try {
    await db.withConnection(async (conn) => {
      await conn.execute({ sql: `USE ${quoteIdentifier(change.table.schema)}`, params: [] });
      await conn.execute({ sql: change.sql, params: [] });
    });
    invalidateTableSchema(db, change.table);
    logger.info('schema change applied', { table: tableName(change.table), target: db.name });
    return undefined;
  } catch (err) {
    if (ALREADY_APPLIED.has((err as { errno?: number }).errno ?? 0)) return undefined;
    return err as Error;
  }
}
