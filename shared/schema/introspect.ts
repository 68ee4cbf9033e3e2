import type { ReadQuerier } from '../db/connection';
import { tableName } from '../db/identifiers';
import type { ColumnInfo, TableRef, TableSchema, UniqueKey } from '../types';

export class TableNotFoundError extends Error {
  override name = 'TableNotFoundError';
  constructor(readonly ref: TableRef) {
    super(`table ${tableName(ref)} does not exist on the offline database`);
  }
}

interface ColumnRow {
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  IS_NULLABLE: string;
  NUMERIC_PRECISION: string | null;
  NUMERIC_SCALE: string | null;
  CHARACTER_MAXIMUM_LENGTH: string | null;
  DATETIME_PRECISION: string | null;
  CHARACTER_SET_NAME: string | null;
  COLLATION_NAME: string | null;
  EXTRA: string | null;
  [k: string]: string | null;
}

interface IndexRow {
  INDEX_NAME: string;
  COLUMN_NAME: string | null;
  [k: string]: string | null;
}

const num = (v: string | null): number | null => (v === null ? null : Number(v));

/**
 * Reads one table's shape from information_schema, filtered by schema and table name so that
 * TiDB (whose information_schema scans are costly) and large MySQL catalogs stay cheap.
 */
export async function introspectTable(q: ReadQuerier, ref: TableRef): Promise<TableSchema> {
  const columnRows = await q.select<ColumnRow>(
    `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, NUMERIC_PRECISION, NUMERIC_SCALE,
            CHARACTER_MAXIMUM_LENGTH, DATETIME_PRECISION, CHARACTER_SET_NAME, COLLATION_NAME, EXTRA
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [ref.schema, ref.table],
  );
  if (columnRows.length === 0) throw new TableNotFoundError(ref);
  const columns: ColumnInfo[] = columnRows.map((r) => {
    const dataType = r.DATA_TYPE.toLowerCase();
    const columnType = r.COLUMN_TYPE.toLowerCase();
    const extra = (r.EXTRA ?? '').toLowerCase();
    return {
      name: r.COLUMN_NAME,
      dataType,
      columnType,
      unsigned: /\bunsigned\b/.test(columnType),
      nullable: r.IS_NULLABLE === 'YES',
      // BIT keeps its width in NUMERIC_PRECISION; character types in CHARACTER_MAXIMUM_LENGTH.
      precision: num(r.NUMERIC_PRECISION) ?? num(r.CHARACTER_MAXIMUM_LENGTH),
      scale: num(r.NUMERIC_SCALE),
      datetimePrecision: num(r.DATETIME_PRECISION),
      charset: r.CHARACTER_SET_NAME,
      collation: r.COLLATION_NAME,
      autoIncrement: extra.includes('auto_increment'),
      // MySQL says VIRTUAL/STORED GENERATED, MariaDB also PERSISTENT.
      generated: /generated|persistent/.test(extra),
    };
  });
  const indexRows = await q.select<IndexRow>(
    `SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [ref.schema, ref.table],
  );
  const byIndex = new Map<string, (string | null)[]>();
  for (const r of indexRows) {
    const cols = byIndex.get(r.INDEX_NAME) ?? [];
    cols.push(r.COLUMN_NAME);
    byIndex.set(r.INDEX_NAME, cols);
  }
  const columnsByName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  let primaryKey: string[] = [];
  const uniqueKeys: UniqueKey[] = [];
  for (const [name, cols] of byIndex) {
    // Functional key parts (MySQL 8) have no column; such a key cannot be matched from row values.
    if (cols.some((c) => c === null)) continue;
    if (name === 'PRIMARY') primaryKey = cols as string[];
    else uniqueKeys.push({ name, columns: cols as string[] });
  }
  const notNullKey = uniqueKeys.find((k) =>
    k.columns.every((c) => !columnsByName.get(c.toLowerCase())?.nullable),
  );
  const autoIncrement = columns.find((c) => c.autoIncrement);
  return {
    ref,
    columns,
    columnsByName,
    primaryKey,
    uniqueKeys,
    identity: primaryKey.length ? primaryKey : (notNullKey?.columns ?? []),
    autoIncrementColumn: autoIncrement?.name ?? null,
    autoRandom: columnRows.some((r) => (r.EXTRA ?? '').toLowerCase().includes('auto_random')),
  };
}
