/**
 * Domain types shared by every stage: decode → route → plan → assemble → apply.
 * A change (what happened) is kept apart from a statement (what we send).
 */

/** A value as it goes to the server: exact decimal/temporal text, raw bytes, or NULL. Never a JS float. */
export type SqlValue = string | Buffer | null;
export type SqlRow = Record<string, SqlValue>;

export interface TableRef {
  schema: string;
  table: string;
}

/** Where a change came from: for logs (`topic-partition@offset`), ordering and dead letters. */
export interface SourcePosition {
  topic: string;
  partition: number;
  /** Kafka offset as decimal text (offsets are 64-bit). */
  offset: string;
  /** Index of the row inside a multi-row message (Canal), 0 otherwise. */
  index: number;
  /** Source commit time in ms since epoch, when the message carries one (for replication lag). */
  eventTimeMs?: number;
}

/**
 * A field exactly as the wire format carried it, before it is turned into a SqlValue
 * against the offline column's type. Numbers keep their source digits.
 */
export type WireValue =
  | { kind: 'null' }
  | { kind: 'string'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'boolean'; value: boolean }
  /** An embedded JSON object/array (e.g. a Maxwell JSON column), re-serialised losslessly. */
  | { kind: 'json'; text: string };

/** What the producer said about a field's type, when it said anything. */
export type TypeHint =
  | {
      format: 'debezium';
      /** Kafka Connect schema type: int8..int64, float32, float64, boolean, string, bytes, struct, array. */
      connectType: string;
      /** Semantic name, e.g. io.debezium.time.MicroTimestamp, org.apache.kafka.connect.data.Decimal. */
      name?: string;
      parameters?: Record<string, string>;
    }
  | { format: 'canal'; mysqlType?: string; sqlType?: number }
  | { format: 'maxwell' };

export interface WireField {
  value: WireValue;
  hint?: TypeHint;
}
export type WireRow = Record<string, WireField>;

export type SourceFormat = 'debezium' | 'canal' | 'maxwell';

interface ChangeBase {
  table: TableRef;
  position: SourcePosition;
  format: SourceFormat;
}

/** One row-level change. Row values are WireRow straight from a decoder, SqlRow once coerced. */
export type RowChange<R = SqlRow> =
  /** `snapshot` inserts (Debezium op `r`) are upserts whatever the conflict policy. */
  | (ChangeBase & { kind: 'insert'; after: R; snapshot?: boolean })
  | (ChangeBase & { kind: 'update'; before?: R; after: R })
  | (ChangeBase & { kind: 'delete'; before: R })
  | (ChangeBase & { kind: 'truncate' });

/** Everything a decoder can yield for one Kafka record. */
export type DecodedEvent =
  | RowChange<WireRow>
  | { kind: 'ddl'; table: TableRef; sql: string; position: SourcePosition; format: SourceFormat }
  | { kind: 'skip'; reason: string; position: SourcePosition };

/** A column of the offline table as introspected. Names are as the server reports them. */
export interface ColumnInfo {
  name: string;
  /** information_schema DATA_TYPE, lower case: int, bigint, decimal, datetime, varbinary, geometry... */
  dataType: string;
  /** information_schema COLUMN_TYPE, lower case: 'bigint(20) unsigned', "enum('a','b')", 'bit(1)'. */
  columnType: string;
  unsigned: boolean;
  nullable: boolean;
  /** NUMERIC_PRECISION / NUMERIC_SCALE for exact numerics; CHARACTER_MAXIMUM_LENGTH for bit/char. */
  precision: number | null;
  scale: number | null;
  /** DATETIME_PRECISION for datetime/timestamp/time. */
  datetimePrecision: number | null;
  /** CHARACTER_SET_NAME; null for non-character columns, 'binary' never appears (binary types have null). */
  charset: string | null;
  /** COLLATION_NAME (e.g. utf8mb4_general_ci, utf8mb4_bin); how the server compares this column's values. */
  collation: string | null;
  autoIncrement: boolean;
  /** Generated (virtual/stored) columns are never written. */
  generated: boolean;
}

export interface UniqueKey {
  name: string;
  columns: string[];
}

export interface TableSchema {
  ref: TableRef;
  columns: ColumnInfo[];
  /** Lower-cased column name → column (MySQL column names are case-insensitive). */
  columnsByName: Map<string, ColumnInfo>;
  primaryKey: string[];
  /** Unique keys other than the primary key. */
  uniqueKeys: UniqueKey[];
  /** Columns that identify a row: the primary key, else the first unique key whose columns are all NOT NULL. */
  identity: string[];
  autoIncrementColumn: string | null;
  /** TiDB AUTO_RANDOM primary key. */
  autoRandom: boolean;
}

export interface Statement {
  sql: string;
  params: SqlValue[];
}

export type ServerKind = 'mysql' | 'mariadb' | 'tidb';

export interface ServerInfo {
  kind: ServerKind;
  /** Full VERSION() text. */
  version: string;
  /** MySQL 8.0.19+: `INSERT ... AS new ON DUPLICATE KEY UPDATE c = new.c`; VALUES(c) is deprecated there. */
  supportsRowAlias: boolean;
}
