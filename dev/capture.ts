/**
 * Local change capture: follows the online server's binlog and publishes each row change as the chosen
 * connector would (Debezium with its schema envelope by default; Canal or Maxwell on request), grouped
 * into MSK-shaped events exactly as Lambda delivers them (records keyed `topic-partition`, base64 key
 * and value, offsets per partition), handed to `deliver` one batch at a time. A development tool: the
 * handlers cannot tell its batches from real ones.
 *
 * The binlog client is @vlasky/zongji: maintained, reads MariaDB 10.x and MySQL 8 ROW binlogs (TableMap,
 * row events, GTIDs, compressed events), and exposes column metadata. Its values are brought to the form
 * the rest of cdc-mirror reads (exactTypeCast's text or bytes): dates as strings (`dateStrings`, so
 * DATETIME(6) keeps its microseconds), YEAR 0 restored (zongji adds 1900 to the stored byte), FLOAT as
 * the shortest text of its 32-bit value, and geometry as the server's own bytes (SRID + WKB; zongji
 * would parse it into coordinates and drop the SRID).
 */
import type { MSKEvent, MSKRecord } from 'aws-lambda';
import mysql from 'mysql2/promise';
import { parseMysqlUrl } from '../shared/config/endpoint';
import { exactTypeCast } from '../shared/db/connection';
import { quoteIdentifier as q } from '../shared/db/identifiers';
import { introspectTable } from '../shared/schema/introspect';
import type { ColumnInfo, SqlValue, TableSchema } from '../shared/types';
import {
  type DebeziumSource,
  encodeCanal,
  encodeDebezium,
  encodeDebeziumKey,
  encodeDebeziumSchemaChange,
  encodeMaxwell,
  type RawDbRow,
} from './encode';

export type CaptureFormat = 'debezium' | 'canal' | 'maxwell';

export interface CaptureOptions {
  /** The online server (read with a replication client and plain SELECTs; never written). */
  onlineUrl: string;
  /** Schemas to follow. */
  schemas: string[];
  format?: CaptureFormat;
  /** Debezium's logical server name: topics are `<name>.<schema>.<table>`, schema changes go to `<name>`. */
  serverName?: string;
  /** Send the rows already there first (Debezium's initial snapshot, op `r`). */
  snapshot?: boolean;
  /** Records per delivered event (Lambda's batch size) and how long a batch may wait to fill. */
  batchSize?: number;
  batchWindowMs?: number;
  /** The replication client's server id: unique among the server's replicas. */
  serverId?: number;
  /** Receives each batch; the next is not sent before it settles (as Lambda does per partition). */
  deliver(event: MSKEvent): Promise<void>;
  onError?(err: Error): void;
}

export interface CaptureStats {
  /** Records handed to `deliver`, and batches. */
  records: number;
  batches: number;
  /** Source commit time of the last delivered change (for lag). */
  lastSourceMs?: number;
  /** Where the capture has read to. */
  position?: { file: string; pos: number };
}

interface PendingRecord {
  topic: string;
  key: string | null;
  value: string;
  sourceMs: number;
}

/** The binlog events the capture reads (zongji's event names). */
const EVENTS = ['tablemap', 'writerows', 'updaterows', 'deleterows', 'query', 'rotate'];
const MYSQL_TYPE = { BLOB: 252, GEOMETRY: 255 };

/** A 32-bit float as its shortest decimal text that reads back to the same float (as Java prints it). */
export function float32Text(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  for (let digits = 1; digits <= 9; digits++) {
    const text = n.toPrecision(digits);
    if (Math.fround(Number(text)) === n) return String(Number(text));
  }
  return String(n);
}

/** A value as zongji decoded it → exactTypeCast's form for the column. */
export function exactValue(column: ColumnInfo, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  switch (column.dataType) {
    case 'float':
      return float32Text(value as number);
    case 'year':
      // The binlog stores YEAR as one byte, year - 1900 (0 for the year 0); zongji adds 1900 back.
      return String(value === 1900 ? 0 : value).padStart(4, '0');
    default:
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
        return String(typeof value === 'boolean' ? Number(value) : value);
      // A parsed JSON document (MySQL's binary JSON; MariaDB's JSON is text already).
      return JSON.stringify(value);
  }
}

function changedColumns(before: RawDbRow, after: RawDbRow): RawDbRow {
  const same = (a: SqlValue | undefined, b: SqlValue | undefined) =>
    Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
  return Object.fromEntries(Object.entries(before).filter(([k, v]) => !same(v, after[k])));
}

/** The table a DDL statement changes (`schema` when the statement qualifies it), for the forms a schema-change message names. */
export function ddlTable(sql: string): { schema?: string; table: string } | undefined {
  const m =
    /^\s*(?:ALTER|CREATE|DROP|TRUNCATE|RENAME)\s+(?:ONLINE\s+|IGNORE\s+|TEMPORARY\s+|OR\s+REPLACE\s+)*(?:TABLE\s+)?(?:IF\s+(?:NOT\s+)?EXISTS\s+)?((?:`[^`]+`|\w+)(?:\.(?:`[^`]+`|\w+))?)/i.exec(
      sql,
    );
  if (!m?.[1]) return undefined;
  const parts = m[1].split('.').map((p) => p.replace(/^`|`$/g, ''));
  const table = parts[parts.length - 1] as string;
  return parts.length > 1 ? { schema: parts[0] as string, table } : { table };
}

const isDdl = (sql: string) =>
  /^\s*(ALTER|CREATE|DROP|TRUNCATE|RENAME)\s+(TABLE|ONLINE|IGNORE|TEMPORARY|OR)/i.test(sql);

/** Per topic-partition offsets, as a fresh topic starts them. */
class Offsets {
  private next = new Map<string, number>();
  take(topic: string): number {
    const n = this.next.get(topic) ?? 0;
    this.next.set(topic, n + 1);
    return n;
  }
}

export class BinlogCapture {
  readonly stats: CaptureStats = { records: 0, batches: 0 };
  private readonly format: CaptureFormat;
  private readonly serverName: string;
  private readonly batchSize: number;
  private readonly batchWindowMs: number;
  private readonly serverId: number;
  private zongji: ZongJiLike | undefined;
  private reader: mysql.Connection | undefined;
  private readonly tables = new Map<string, Promise<TableSchema>>();
  private pending: PendingRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private readonly offsets = new Offsets();
  private file = '';
  /** Row events are processed one after another, in binlog order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: CaptureOptions) {
    this.format = opts.format ?? 'debezium';
    this.serverName = opts.serverName ?? 'dbserver1';
    this.batchSize = opts.batchSize ?? 500;
    this.batchWindowMs = opts.batchWindowMs ?? 200;
    this.serverId = opts.serverId ?? 5400 + Math.floor(Math.random() * 1000);
  }

  /** Reads the binlog position, takes the snapshot (if asked), then follows the binlog from that position. */
  async start(): Promise<void> {
    const endpoint = parseMysqlUrl(this.opts.onlineUrl);
    this.reader = await mysql.createConnection({
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.user,
      password: endpoint.password,
      timezone: 'Z',
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      typeCast: exactTypeCast,
    });
    await this.reader.query("SET time_zone = '+00:00'");
    await this.reader.query('SET SESSION TRANSACTION READ ONLY');
    const [[status]] = (await this.reader.query('SHOW MASTER STATUS')) as unknown as [
      { File: string; Position: number }[],
    ];
    if (!status) throw new Error('the online server has no binary log (start it with --log-bin)');
    this.file = status.File;
    this.stats.position = { file: status.File, pos: Number(status.Position) };
    if (this.opts.snapshot) await this.snapshot();
    await this.follow(endpoint, status.File, Number(status.Position));
  }

  /** Delivers what is pending and stops reading. */
  async stop(): Promise<void> {
    const zongji = this.zongji;
    this.zongji = undefined;
    if (zongji)
      await new Promise<void>((resolve) => {
        zongji.once('stopped', () => resolve());
        zongji.stop();
        setTimeout(resolve, 2_000).unref();
      });
    await this.queue;
    await this.flush();
    await this.sending;
    await this.reader?.end().catch(() => undefined);
    this.reader = undefined;
  }

  /**
   * Resolves once everything the online server had committed when called has been read and delivered
   * (its binlog position reached, the pending batch sent and settled).
   */
  async caughtUp(timeoutMs = 15_000): Promise<void> {
    const [[status]] = (await (this.reader as mysql.Connection).query('SHOW MASTER STATUS')) as unknown as [
      { File: string; Position: number }[],
    ];
    const deadline = Date.now() + timeoutMs;
    const target = { file: status?.File ?? '', pos: Number(status?.Position ?? 0) };
    for (;;) {
      const at = this.zongji?.options;
      // Binlog file names carry a fixed-width sequence number: they sort as text.
      if (at && (at.filename > target.file || (at.filename === target.file && at.position >= target.pos)))
        break;
      if (Date.now() > deadline)
        throw new Error(`the capture did not reach ${target.file}:${target.pos} in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.queue;
    await this.flush();
    await this.sending;
  }

  private table(schema: string, table: string): Promise<TableSchema> {
    const key = `${schema}.${table}`;
    let t = this.tables.get(key);
    if (!t) {
      const reader = this.reader as mysql.Connection;
      t = introspectTable(
        { select: async (sql, params = []) => (await reader.query(sql, [...params]))[0] as never },
        { schema, table },
      );
      t.catch(() => this.tables.delete(key));
      this.tables.set(key, t);
    }
    return t;
  }

  private topicOf(schema: string, table: string): string {
    return `${this.serverName}.${schema}.${table}`;
  }

  private async snapshot(): Promise<void> {
    const reader = this.reader as mysql.Connection;
    for (const schema of this.opts.schemas) {
      const [tables] = (await reader.query(
        "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
        [schema],
      )) as unknown as [{ t: string }[]];
      for (const { t } of tables) {
        const table = await this.table(schema, t);
        const [rows] = (await reader.query(`SELECT * FROM ${q(schema)}.${q(t)}`)) as unknown as [RawDbRow[]];
        const at = Date.now();
        for (const [i, row] of rows.entries()) {
          this.publishRow(table, 'r', undefined, row, at, i, this.stats.position?.pos ?? 4);
        }
      }
    }
    await this.flush();
  }

  private async follow(
    endpoint: ReturnType<typeof parseMysqlUrl>,
    file: string,
    position: number,
  ): Promise<void> {
    const { default: ZongJi } = (await import('@vlasky/zongji')) as unknown as { default: ZongJiConstructor };
    const zongji = new ZongJi({
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.user,
      password: endpoint.password,
      dateStrings: true,
      timezone: 'Z',
      jsonStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
    this.zongji = zongji;
    zongji.on('error', (err: Error) => this.opts.onError?.(err));
    zongji.on('binlog', (event: BinlogEventLike) => this.onEvent(zongji, event));
    const includeSchema = Object.fromEntries(this.opts.schemas.map((s) => [s, true as const]));
    await new Promise<void>((resolve, reject) => {
      zongji.once('ready', () => resolve());
      zongji.once('error', reject);
      zongji.start({
        serverId: this.serverId,
        filename: file,
        position,
        includeEvents: EVENTS,
        includeSchema,
      });
    });
  }

  private onEvent(zongji: ZongJiLike, event: BinlogEventLike): void {
    const name = event.getEventName();
    if (name === 'rotate') {
      this.file = event.binlogName ?? this.file;
      return;
    }
    if (name === 'tablemap') {
      // Geometry as the server's bytes (SRID + WKB): read it as the BLOB it is stored as.
      for (const column of zongji.tableMap[event.tableId as number]?.columns ?? []) {
        if (column.type === MYSQL_TYPE.GEOMETRY) {
          column.type = MYSQL_TYPE.BLOB;
          column.charset = null;
        }
      }
      return;
    }
    const pos = event.nextPosition - event.size;
    const at = event.timestamp;
    this.queue = this.queue
      .then(async () => {
        if (name === 'query') return this.onQuery(event, pos, at);
        const map = zongji.tableMap[event.tableId as number];
        if (!map) return;
        const table = await this.table(map.parentSchema, map.tableName);
        const rows = event.rows ?? [];
        for (const [i, r] of rows.entries()) {
          const exact = (row: Record<string, unknown>) =>
            Object.fromEntries(table.columns.map((c) => [c.name, exactValue(c, row[c.name])]));
          if (name === 'writerows') this.publishRow(table, 'c', undefined, exact(r), at, i, pos);
          else if (name === 'deleterows') this.publishRow(table, 'd', exact(r), undefined, at, i, pos);
          else {
            const u = r as { before: Record<string, unknown>; after: Record<string, unknown> };
            this.publishRow(table, 'u', exact(u.before), exact(u.after), at, i, pos);
          }
        }
        this.stats.position = { file: this.file, pos: event.nextPosition };
      })
      .catch((err: Error) => this.opts.onError?.(err));
  }

  private async onQuery(event: BinlogEventLike, pos: number, at: number): Promise<void> {
    const sql = event.query ?? '';
    if (!isDdl(sql)) return;
    const target = ddlTable(sql);
    // The statement's own qualifier, else the session's current database.
    const db = target?.schema ?? event.schema ?? '';
    if (!this.opts.schemas.includes(db)) return;
    const table = target?.table;
    if (table) this.tables.delete(`${db}.${table}`);
    if (this.format !== 'debezium') return;
    // A DDL stands between the changes before and after it: its own batch.
    await this.flush();
    this.enqueue({
      topic: this.serverName,
      key: null,
      value: encodeDebeziumSchemaChange({
        db,
        ...(table ? { table } : {}),
        ddl: sql,
        tsMs: at,
        source: this.source(pos, 0),
      }),
      sourceMs: at,
    });
    await this.flush();
  }

  private source(pos: number, row: number): DebeziumSource {
    return { name: this.serverName, serverId: this.serverId, file: this.file, pos, row };
  }

  private publishRow(
    table: TableSchema,
    op: 'c' | 'u' | 'd' | 'r',
    before: RawDbRow | undefined,
    after: RawDbRow | undefined,
    at: number,
    row: number,
    pos: number,
  ): void {
    const { schema, table: name } = table.ref;
    const columns = table.columns;
    const image = (after ?? before) as RawDbRow;
    // Canal and Maxwell put only the columns an update changed in `old`.
    const old = op === 'u' && before && after ? changedColumns(before, after) : undefined;
    let value: string;
    if (this.format === 'canal') {
      value = encodeCanal({
        type: op === 'd' ? 'DELETE' : op === 'u' ? 'UPDATE' : 'INSERT',
        db: schema,
        table: name,
        columns,
        pkNames: table.primaryKey,
        rows: [image],
        ...(old ? { old: [old] } : {}),
      });
    } else if (this.format === 'maxwell') {
      value = encodeMaxwell({
        type: op === 'd' ? 'delete' : op === 'u' ? 'update' : 'insert',
        db: schema,
        table: name,
        columns,
        data: image,
        ...(old ? { old } : {}),
      });
    } else {
      value = encodeDebezium({
        op,
        db: schema,
        table: name,
        columns,
        ...(before ? { before } : {}),
        ...(after ? { after } : {}),
        withSchema: true,
        tsMs: at,
        source: this.source(pos, row),
      });
    }
    const key = table.primaryKey.length ? encodeDebeziumKey(columns, table.primaryKey, image) : null;
    this.enqueue({ topic: this.topicOf(schema, name), key, value, sourceMs: at });
  }

  private enqueue(record: PendingRecord): void {
    this.pending.push(record);
    if (this.pending.length >= this.batchSize) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.batchWindowMs);
  }

  /** Sends what is pending as one event, after the batch before it has settled. */
  private flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.sending;
    this.sending = this.sending
      .then(async () => {
        await this.opts.deliver(this.eventOf(batch));
        this.stats.records += batch.length;
        this.stats.batches += 1;
        this.stats.lastSourceMs = batch[batch.length - 1]?.sourceMs;
      })
      .catch((err: Error) => this.opts.onError?.(err));
    return this.sending;
  }

  private eventOf(batch: PendingRecord[]): MSKEvent {
    const records: Record<string, MSKRecord[]> = {};
    for (const r of batch) {
      const partition = `${r.topic}-0`;
      records[partition] ??= [];
      records[partition].push({
        topic: r.topic,
        partition: 0,
        offset: this.offsets.take(r.topic),
        timestamp: r.sourceMs,
        timestampType: 'CREATE_TIME',
        key: r.key === null ? '' : Buffer.from(r.key).toString('base64'),
        value: Buffer.from(r.value).toString('base64'),
        headers: [],
      });
    }
    return {
      eventSource: 'aws:kafka',
      eventSourceArn:
        'arn:aws:kafka:us-east-1:000000000000:cluster/local-capture/00000000-0000-0000-0000-000000000000-1',
      bootstrapServers: 'localhost:9092',
      records,
    };
  }
}

/** The parts of zongji this file uses (its bundled types describe the events, not the table map's mutability). */
interface ZongJiColumn {
  type: number;
  charset: string | null;
}
interface ZongJiLike {
  /** Where the stream has read to (advanced by every committed transaction, filtered or not). */
  options: { filename: string; position: number };
  tableMap: Record<number, { parentSchema: string; tableName: string; columns?: ZongJiColumn[] }>;
  on(event: string, fn: (...args: never[]) => void): void;
  once(event: string, fn: (...args: never[]) => void): void;
  start(options: Record<string, unknown>): void;
  stop(): void;
}
type ZongJiConstructor = new (dsn: Record<string, unknown>) => ZongJiLike;
interface BinlogEventLike {
  getEventName(): string;
  timestamp: number;
  nextPosition: number;
  size: number;
  tableId?: number;
  rows?: Record<string, unknown>[];
  query?: string;
  schema?: string;
  binlogName?: string;
}
