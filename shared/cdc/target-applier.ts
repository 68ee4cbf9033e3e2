import { limitsFor } from '../assembler/statements';
import type { SyncConfig } from '../config/schema';
import { forgetDatabase, type Querier } from '../db/connection';
import type { Dialect } from '../db/dialect';
import { classifyError, redactMessage } from '../db/errors';
import { getWriteTarget, type OfflineTarget, type WriteSession } from '../db/guard';
import { quoteIdentifier, tableName } from '../db/identifiers';
import { withRetry } from '../db/retry';
import { forgetSecret } from '../db/secrets';
import { logger, positionLabel } from '../observability';
import {
  type AppliedRow,
  type DeadLetter,
  type DeadLetterClass,
  ensureDeadLetterTable,
  hasOpenDeadLetters,
  markSuperseded,
  rowKeyHash,
  storeDeadLetters,
} from '../reliability/dead-letters';
import {
  ensurePositionsTable,
  type PartitionOffset,
  partitionLabel,
  readDdlFences,
  recordApplied,
  recordDdlFence,
} from '../reliability/positions';
import { type AppliedCounts, ensureApplyStatsTable, recordApplyStats } from '../reliability/status';
import { getTableSchema, invalidateTableSchema } from '../schema/cache';
import type { SourcePosition, TableRef, TableSchema } from '../types';
import { identityKeyOf, materialize } from './materialize';
import type { KafkaRecordRef, PlannedItem, TargetBatch } from './plan-batch';
import {
  type ApplyObserver,
  emptyCounts,
  fastPathStats,
  PipelineRefused,
  RowError,
  StatementPipeline,
  type TableCounts,
  TableWriter,
} from './table-writer';

/** What one target made of its share of a batch. */
export interface TargetResult {
  target: string;
  /** `schema.table` → counts, for what committed. */
  tables: Map<string, TableCounts>;
  deadLettered: number;
  superseded: number;
  /** Items skipped because an earlier delivery already applied them past a DDL. */
  alreadyApplied: number;
  conflicts: { position: SourcePosition; table: string; detail: string }[];
  droppedColumns: Map<string, Set<string>>;
  /** Set when the target could not apply everything: the error and the records from the first not applied. */
  failure?: { error: unknown; unapplied: KafkaRecordRef[] };
}

/** A run of items applied in one transaction, or one DDL statement (which commits on its own). */
export type Segment =
  | { kind: 'rows'; items: PlannedItem[] }
  | { kind: 'ddl'; item: Extract<PlannedItem, { kind: 'ddl' }> };

/**
 * Cuts a target's items into what commits together: a DDL stands alone at its position (rows before
 * it commit first, rows after it see the new shape), and a server that caps transaction size (TiDB)
 * gets runs of at most `changesPerTransaction` changes. Never reorders.
 */
export function segmentItems(
  items: readonly PlannedItem[],
  dialect: Pick<Dialect, 'changesPerTransaction'>,
): Segment[] {
  const out: Segment[] = [];
  let run: PlannedItem[] = [];
  let changes = 0;
  const close = () => {
    if (run.length) out.push({ kind: 'rows', items: run });
    run = [];
    changes = 0;
  };
  for (const item of items) {
    if (item.kind === 'ddl') {
      close();
      out.push({ kind: 'ddl', item });
      continue;
    }
    if (item.kind === 'change' && changes >= dialect.changesPerTransaction) close();
    run.push(item);
    if (item.kind === 'change') changes += 1;
  }
  close();
  return out;
}

/** Errors a replayed DDL raises because it already happened: nothing to do. */
const ALREADY_APPLIED = new Set([
  1050, // table exists
  1051, // unknown table (dropped already)
  1060, // duplicate column
  1061, // duplicate key name
  1091, // can't drop: does not exist
]);

const offsetOf = (p: SourcePosition) => BigInt(p.offset);

/**
 * Segments per target left to run sequentially after the server refused a pipelined one: a table whose
 * batches keep meeting unique collisions would otherwise pay for every batch twice.
 */
const sequentialSegments = new Map<string, number>();
const SEQUENTIAL_AFTER_REFUSAL = 20;

/**
 * Applies one offline target's share of a batch. It owns the guarded write handle (there is no other
 * way to write), the target's Dialect through it, retries, the dead-letter store and the result.
 * Rows commit segment by segment; a segment that fails transiently is retried while the invocation
 * has time, and committed segments are never applied twice within an invocation. Dead letters, the
 * superseding of older ones and the partitions' applied offsets commit in the segment's transaction.
 */
export class TargetApplier {
  private readonly ttlMs: number;
  /**
   * Whether open dead letters may exist: read once per batch (a partition's batches never overlap, so a
   * letter of an earlier batch has committed by then) and set when this batch stores one.
   */
  private openLetters = false;

  private constructor(
    readonly name: string,
    private readonly config: SyncConfig,
    private readonly remainingMs: () => number,
  ) {
    this.ttlMs = config.schemaCacheTtlSeconds * 1000;
  }

  /** The write handle for this target, through the guard (cached once proven; retried as transient). */
  private target(): Promise<OfflineTarget> {
    return getWriteTarget(this.name, this.config);
  }

  static create(name: string, config: SyncConfig, remainingMs: () => number): TargetApplier {
    return new TargetApplier(name, config, remainingMs);
  }

  private retry<T>(fn: () => Promise<T>, tables: readonly TableRef[] = []): Promise<T> {
    return withRetry(fn, {
      remainingMs: this.remainingMs,
      reserveMs: 2_000,
      onRetry: (err, attempt, kind) => {
        logger.warn('retrying after a transient error', {
          target: this.name,
          attempt,
          kind,
          error: redactMessage(err),
        });
        if (kind === 'schema') for (const t of tables) invalidateTableSchema({ name: this.name }, t);
        if ((err as { errno?: number }).errno === 1045) {
          // The password may have rotated: reopen with a freshly fetched secret.
          const secretId = this.config.databases[this.name]?.secretId;
          if (secretId) forgetSecret(secretId);
          void forgetDatabase(this.name, this.config);
        }
      },
    });
  }

  async apply(batch: TargetBatch): Promise<TargetResult> {
    const result: TargetResult = {
      target: this.name,
      tables: new Map(),
      deadLettered: 0,
      superseded: 0,
      alreadyApplied: 0,
      conflicts: [],
      droppedColumns: new Map(),
    };
    let segments: Segment[];
    try {
      const target = await this.retry(async () => {
        const t = await this.target();
        await ensureDeadLetterTable(t);
        await ensurePositionsTable(t);
        await ensureApplyStatsTable(t);
        this.openLetters = await hasOpenDeadLetters(t);
        return t;
      });
      const items = await this.retry(() => this.skipFenced(target, batch.items, result));
      segments = segmentItems(items, target.dialect);
    } catch (error) {
      result.failure = { error, unapplied: batch.records };
      return result;
    }
    for (const [i, segment] of segments.entries()) {
      try {
        if (segment.kind === 'ddl') await this.retry(() => this.applyDdl(segment.item, result));
        else {
          const refs = segment.items.flatMap((it) => (it.kind === 'change' ? [it.change.table] : []));
          await this.retry(() => this.applyRowsPipelinedFirst(segment.items, result), refs);
        }
      } catch (error) {
        const unappliedItems = segments.slice(i).flatMap((s) => (s.kind === 'ddl' ? [s.item] : s.items));
        const unapplied = new Set(unappliedItems.map((it) => it.record));
        result.failure = { error, unapplied: batch.records.filter((r) => unapplied.has(r)) };
        return result;
      }
    }
    return result;
  }

  /**
   * Drops the items a previous delivery already applied: when this batch holds the DDL recorded as the
   * partition's last (same offset, same text), everything up to it in that partition has committed.
   */
  private async skipFenced(
    target: OfflineTarget,
    items: PlannedItem[],
    result: TargetResult,
  ): Promise<PlannedItem[]> {
    const ddls = items.filter((i): i is Extract<PlannedItem, { kind: 'ddl' }> => i.kind === 'ddl');
    if (ddls.length === 0) return items;
    const partitions = [...new Map(ddls.map((d) => [partitionLabel(d.position), d.position])).values()];
    const fences = await readDdlFences(target, this.name, partitions);
    const upTo = new Map<string, bigint>();
    for (const d of ddls) {
      const fence = fences.get(partitionLabel(d.position));
      if (fence && fence.offset === d.position.offset && fence.hash === d.hash) {
        upTo.set(partitionLabel(d.position), offsetOf(d.position));
      }
    }
    if (upTo.size === 0) return items;
    return items.filter((item) => {
      const limit = upTo.get(partitionLabel(item.record.position));
      const skip = limit !== undefined && offsetOf(item.record.position) <= limit;
      if (skip) result.alreadyApplied += 1;
      return !skip;
    });
  }

  /**
   * A run of rows, pipelined (see StatementPipeline). When the server refused a statement, the
   * transaction rolled back whole and the run is applied again in order, where each refusal is decided
   * row by row exactly as without pipelining (conflict policy, dead letters).
   */
  private async applyRowsPipelinedFirst(items: readonly PlannedItem[], result: TargetResult): Promise<void> {
    const left = sequentialSegments.get(this.name) ?? 0;
    if (left > 0) {
      sequentialSegments.set(this.name, left - 1);
      return this.applyRows(items, result, false);
    }
    try {
      await this.applyRows(items, result, true);
    } catch (err) {
      if (!(err instanceof PipelineRefused)) throw err;
      fastPathStats.reruns += 1;
      sequentialSegments.set(this.name, SEQUENTIAL_AFTER_REFUSAL);
      await this.applyRows(items, result, false);
    }
  }

  private async applyRows(
    items: readonly PlannedItem[],
    result: TargetResult,
    pipelined: boolean,
  ): Promise<void> {
    const target = await this.target();
    // Everything this attempt learns is kept apart until it commits: a retried attempt starts over.
    const attempt = {
      tables: new Map<string, TableCounts>(),
      letters: [] as DeadLetter[],
      // Hashed only when older dead letters may exist (the common case has none to supersede).
      applied: [] as { table: TableRef; key: string; position: SourcePosition }[],
      conflicts: [] as TargetResult['conflicts'],
      dropped: new Map<string, Set<string>>(),
      superseded: 0,
    };
    const letter = (...args: DeadLetterDetails) => attempt.letters.push(deadLetterOf(this.name, ...args));
    const countsOf = (name: string) => {
      let c = attempt.tables.get(name);
      if (!c) {
        c = emptyCounts();
        attempt.tables.set(name, c);
      }
      return c;
    };
    const recordKey = (p: SourcePosition) => `${partitionLabel(p)}@${p.offset}`;
    // Only a failing row needs it: built on the first.
    let byRecord: Map<string, PlannedItem> | undefined;
    const itemAt = (position: SourcePosition) => {
      byRecord ??= new Map(items.map((i) => [recordKey(i.record.position), i]));
      return byRecord.get(recordKey(position));
    };
    // Runs of changes to one table are the rule: its name is worked out once per run.
    let lastRef: TableRef | undefined;
    let lastName = '';
    const nameOf = (ref: TableRef) => {
      if (ref.schema !== lastRef?.schema || ref.table !== lastRef.table) {
        lastRef = ref;
        lastName = tableName(ref);
      }
      return lastName;
    };
    const observer: ApplyObserver = {
      conflict: (position, table, detail) =>
        attempt.conflicts.push({ position, table: tableName(table), detail }),
      rowFailed: (position, table, error, key) => {
        const item = itemAt(position);
        if (!item) throw error;
        const kind = error.name === 'RowError' ? 'table' : 'value';
        letter(item, position, error, kind, tableName(table), key);
      },
      rowApplied: (table, key, position) => attempt.applied.push({ table, key, position }),
    };

    await target.session(this.remainingMs, async (session) => {
      const schemas = await this.schemasFor(session, items);
      await session.transaction(async (tx) => {
        const writers = new Map<string, TableWriter>();
        const limits = limitsFor(target.maxAllowedPacket);
        const pipeline = pipelined ? new StatementPipeline(tx) : undefined;
        for (const item of items) {
          if (item.kind === 'dead-letter') {
            letter(item, item.position, item.error, item.errorClass, item.table);
            continue;
          }
          if (item.kind !== 'change') continue;
          const { change, policy } = item;
          const name = nameOf(change.table);
          const counts = countsOf(name);
          const table = schemas.get(name.toLowerCase());
          if (!(table && 'identity' in table)) {
            counts.failed += 1;
            letter(item, change.position, table ?? new RowError(`table ${name} not found`), 'table', name);
            continue;
          }
          if (table.identity.length === 0) {
            counts.failed += 1;
            letter(
              item,
              change.position,
              new RowError(
                `table ${name} has no primary key and no NOT NULL unique key: rows cannot be matched`,
              ),
              'table',
              name,
            );
            continue;
          }
          const dropped = attempt.dropped.get(name) ?? new Set<string>();
          attempt.dropped.set(name, dropped);
          let row: ReturnType<typeof materialize>;
          try {
            row = materialize(change, table, dropped);
          } catch (err) {
            counts.failed += 1;
            letter(item, change.position, err as Error, 'value', name, identityKeyOf(change, table));
            continue;
          }
          const fastPath = item.record.entry?.fastPath ?? true;
          const writerKey = `${name}\u0000${policy}\u0000${fastPath}`;
          let writer = writers.get(writerKey);
          if (!writer) {
            writer = new TableWriter(
              tx,
              table,
              target.dialect,
              policy,
              counts,
              observer,
              limits,
              fastPath,
              fastPath && policy === 'overwrite' ? pipeline : undefined,
            );
            writers.set(writerKey, writer);
          }
          const flushing = writer.add(row);
          if (flushing) await flushing;
        }
        for (const writer of writers.values()) await writer.flush();
        await pipeline?.drain();
        await storeDeadLetters(tx, attempt.letters, target.maxAllowedPacket);
        if (attempt.applied.length > 0 && (this.openLetters || attempt.letters.length > 0)) {
          const applied = attempt.applied.map(
            (a): AppliedRow => ({ rowKeyHash: rowKeyHash(tableName(a.table), a.key), position: a.position }),
          );
          attempt.superseded = await markSuperseded(tx, applied);
        }
        await recordApplied(tx, this.name, lastOffsets(items));
        await recordApplyStats(tx, this.name, appliedCounts(attempt.tables, attempt.letters));
      });
    });

    for (const [name, c] of attempt.tables) {
      const total = result.tables.get(name) ?? emptyCounts();
      for (const k of Object.keys(c) as (keyof TableCounts)[]) total[k] += c[k];
      result.tables.set(name, total);
    }
    for (const [name, cols] of attempt.dropped) {
      if (cols.size === 0) continue;
      const all = result.droppedColumns.get(name) ?? new Set<string>();
      for (const c of cols) all.add(c);
      result.droppedColumns.set(name, all);
      const counts = result.tables.get(name);
      if (counts) counts.droppedColumns = all.size;
    }
    result.deadLettered += attempt.letters.length;
    if (attempt.letters.length > 0) this.openLetters = true;
    result.superseded += attempt.superseded;
    result.conflicts.push(...attempt.conflicts);
    for (const l of attempt.letters) {
      logger.error('record dead-lettered', {
        position: positionLabel(l.position),
        target: this.name,
        ...(l.table ? { table: l.table.slice(0, 200) } : {}),
        errorClass: l.errorClass,
        error: l.error.slice(0, 1_000),
      });
    }
  }

  /**
   * The offline shape of every table the items touch, read on the session's own connection before
   * its transaction begins: a pool of one connection never waits for itself.
   */
  private async schemasFor(
    session: WriteSession,
    items: readonly PlannedItem[],
  ): Promise<Map<string, TableSchema | Error>> {
    const out = new Map<string, TableSchema | Error>();
    for (const item of items) {
      if (item.kind !== 'change') continue;
      const key = tableName(item.change.table).toLowerCase();
      if (out.has(key)) continue;
      try {
        out.set(key, await getTableSchema({ name: this.name }, session, item.change.table, this.ttlMs));
      } catch (err) {
        if ((err as Error).name !== 'TableNotFoundError') throw err;
        out.set(key, err as Error);
      }
    }
    return out;
  }

  private async applyDdl(item: Extract<PlannedItem, { kind: 'ddl' }>, result: TargetResult): Promise<void> {
    const target = await this.target();
    invalidateTableSchema({ name: this.name }, item.table);
    const at: PartitionOffset = item.position;
    const refuse = async (error: Error) => {
      await target.session(this.remainingMs, (s) =>
        s.transaction(async (tx) => {
          const letter = deadLetterOf(this.name, item, item.position, error, 'ddl', tableName(item.table));
          await storeDeadLetters(tx, [letter], target.maxAllowedPacket);
          await recordApplied(tx, this.name, [at]);
        }),
      );
      result.deadLettered += 1;
      logger.error('DDL dead-lettered', {
        position: positionLabel(item.position),
        target: this.name,
        table: tableName(item.table),
        error: error.message.slice(0, 1_000),
      });
    };
    if (item.refused) return refuse(item.refused);
    if (!item.execute) {
      logger.info('schema change seen: cached table schema dropped', {
        table: tableName(item.table),
        target: this.name,
      });
      await target.session(this.remainingMs, (s) => recordApplied(s, this.name, [at]));
      return;
    }
    let failed: Error | undefined;
    await target.session(this.remainingMs, async (s) => {
      try {
        await s.execute({ sql: `USE ${quoteIdentifier(item.table.schema)}`, params: [] });
        await s.execute({ sql: item.sql, params: [] });
      } catch (err) {
        if (classifyError(err) === 'transient') throw err;
        if (!ALREADY_APPLIED.has((err as { errno?: number }).errno ?? 0)) failed = err as Error;
      }
      invalidateTableSchema({ name: this.name }, item.table);
      if (!failed) await recordDdlFence(s as Querier, this.name, at, item.hash);
    });
    if (failed) return refuse(failed);
    logger.info('schema change applied', { table: tableName(item.table), target: this.name });
  }
}

/** deadLetterOf's arguments after the target. */
type DeadLetterDetails = Parameters<typeof deadLetterOf> extends [string, ...infer Rest] ? Rest : never;

/** The dead letter of an item: its record's key and value, where it failed and why. */
function deadLetterOf(
  target: string,
  item: PlannedItem,
  position: SourcePosition,
  error: Error,
  errorClass: DeadLetterClass,
  table?: string,
  key?: string,
): DeadLetter {
  return {
    position,
    target,
    ...(table ? { table } : {}),
    ...(key !== undefined && table ? { rowKeyHash: rowKeyHash(table, key) } : {}),
    key: item.record.key,
    value: item.record.value,
    error: `${error.name}: ${error.message}`,
    errorClass,
  };
}

/** The highest offset of each partition among the items' records. */
function lastOffsets(items: readonly PlannedItem[]): PartitionOffset[] {
  const last = new Map<string, PartitionOffset>();
  for (const item of items) {
    const position = item.kind === 'change' ? item.change.position : item.record.position;
    const label = partitionLabel(position);
    const prev = last.get(label);
    if (!prev || BigInt(prev.offset) <= BigInt(position.offset)) {
      // A record without a commit time (undecodable, a tombstone) keeps the latest one seen before it.
      const eventTimeMs = position.eventTimeMs ?? prev?.eventTimeMs;
      last.set(label, {
        topic: position.topic,
        partition: position.partition,
        offset: position.offset,
        ...(eventTimeMs !== undefined ? { eventTimeMs } : {}),
      });
    }
  }
  return [...last.values()];
}

/** Per table: what one transaction applied, and the letters it stored (for the status view). */
function appliedCounts(tables: Map<string, TableCounts>, letters: readonly DeadLetter[]): AppliedCounts[] {
  const out = new Map<string, AppliedCounts>();
  const of = (table: string) => {
    let c = out.get(table);
    if (!c) {
      c = { table, inserted: 0, updated: 0, deleted: 0, conflicts: 0, deadLettered: 0 };
      out.set(table, c);
    }
    return c;
  };
  for (const [table, c] of tables) {
    const a = of(table);
    a.inserted += c.inserted;
    a.updated += c.updated;
    a.deleted += c.deleted;
    a.conflicts += c.conflicts;
  }
  for (const l of letters) of(l.table ?? '(unknown)').deadLettered += 1;
  return [...out.values()];
}
