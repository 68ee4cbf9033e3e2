import {
  assembleDelete,
  assembleGuardedUpsertParts,
  assembleTruncate,
  assembleUpsertParts,
  type ChunkLimits,
  type RowsStatement,
  rowBytes,
} from '../assembler/statements';
import { insertCounts, type Querier, type ResultSetHeader } from '../db/connection';
import { classifyError } from '../db/errors';
import { tableName } from '../db/identifiers';
import { hasAll, keyString, looseKeys, pick } from '../plan/keys';
import { existingKeys, findCollisions } from '../plan/lookups';
import type {
  RowChange,
  ServerInfo,
  SourcePosition,
  SqlRow,
  Statement,
  TableRef,
  TableSchema,
} from '../types';

export type ConflictPolicy = 'overwrite' | 'skip';

export interface TableCounts {
  inserted: number;
  updated: number;
  deleted: number;
  /** Deletes of rows the offline table did not have: nothing to do, nothing lost. */
  absent: number;
  skipped: number;
  conflicts: number;
  failed: number;
  truncated: number;
  droppedColumns: number;
}

export const emptyCounts = (): TableCounts => ({
  inserted: 0,
  updated: 0,
  deleted: 0,
  absent: 0,
  skipped: 0,
  conflicts: 0,
  failed: 0,
  truncated: 0,
  droppedColumns: 0,
});

/** Where per-row events go: logs with `topic-partition@offset`, metrics, dead letters. */
export interface ApplyObserver {
  conflict(position: SourcePosition, table: TableRef, detail: string): void;
  /** `key` is the row's identity keyString when the row had one. */
  rowFailed(position: SourcePosition, table: TableRef, error: Error, key?: string): void;
  /** A row change reached the table (written, deleted, or found already gone): later than any dead letter of that row. */
  rowApplied(table: TableRef, key: string, position: SourcePosition): void;
}

/**
 * How often the guarded upsert ran, how often the server sent its rows the careful way, and how often a
 * pipelined transaction was rolled back and re-run sequentially (for tests and bench).
 */
export const fastPathStats = { statements: 0, fallbacks: 0, reruns: 0 };

/** The server refused a pipelined statement: the transaction must roll back and run again in order. */
export class PipelineRefused extends Error {
  override name = 'PipelineRefused';
}

/**
 * Statements sent on the transaction's connection without waiting for each answer, so the server
 * works while the client prepares the next ones. The connection runs them in order. Answers are
 * handled as they come; `drain` waits for all and throws when any failed, before anything commits.
 * A refused statement (a data error) cannot fall back row by row here, since later statements may
 * already have run: the whole transaction rolls back and runs again sequentially (PipelineRefused).
 */
export class StatementPipeline {
  private pending: Promise<void>[] = [];
  private refused: unknown;
  private failed: unknown;

  constructor(private readonly q: Querier) {}

  send(stmt: Statement, onDone: (result: ResultSetHeader) => void): void {
    // Failures are kept, never rethrown here: a rejection nobody awaits yet would be an unhandled one.
    this.pending.push(
      this.q.execute(stmt).then(
        (result) => {
          try {
            onDone(result);
          } catch (err) {
            this.failed ??= err;
          }
        },
        (err: unknown) => {
          if (classifyError(err) === 'data') this.refused ??= err;
          else this.failed ??= err;
        },
      ),
    );
  }

  async drain(): Promise<void> {
    while (this.pending.length > 0) await Promise.all(this.pending.splice(0));
    if (this.failed !== undefined) throw this.failed;
    if (this.refused !== undefined)
      throw new PipelineRefused((this.refused as Error).message, { cause: this.refused });
  }
}

export class RowError extends Error {
  override name = 'RowError';
}

interface PendingUpsert {
  key: string;
  row: SqlRow;
  /** What the first buffered change for this key expected: the row absent (insert) or present (update). */
  first: 'insert' | 'update';
  hadUpdate: boolean;
  snapshot: boolean;
  positions: SourcePosition[];
}

interface PendingDelete {
  key: string;
  keyRow: SqlRow;
  position: SourcePosition;
}

/**
 * Buffers one table's changes and writes them as multi-row statements, keeping the end state equal
 * to applying them one by one:
 * - changes to one key coalesce into the net row (a later update overrides an earlier one);
 * - a delete flushes pending upserts of its key, an upsert flushes pending deletes of its key;
 * - a change whose unique values (before or after) meet another pending key's flushes first, so
 *   swaps of unique values never reorder.
 * Flushing checks the offline table: which keys exist (insert vs update, the conflict policy) and
 * which other rows hold the same unique values (overwrite evicts them, skip keeps them).
 */
export class TableWriter {
  private upserts = new Map<string, PendingUpsert>();
  /** Loose keys (see looseKeys) of pending upserts → their exact key. */
  private upsertLoose = new Map<string, string>();
  private deletes = new Map<string, PendingDelete>();
  private deleteLoose = new Set<string>();

  constructor(
    private readonly q: Querier,
    readonly table: TableSchema,
    private readonly server: ServerInfo,
    private readonly policy: ConflictPolicy,
    readonly counts: TableCounts,
    private readonly observer: ApplyObserver,
    private readonly limits: ChunkLimits,
    /** Try the guarded upsert without lookups first (`cdc[].fastPath`). */
    private readonly fastPath = true,
    /**
     * Send deletes and guarded upserts without waiting (see StatementPipeline), flushing every
     * `limits.maxRows` pending rows so that the server writes while later rows are prepared.
     */
    private readonly pipeline?: StatementPipeline,
  ) {}

  /** Runs a write: through the pipeline when there is one, else waiting for its answer. */
  private async write(stmt: Statement, onDone: (result: ResultSetHeader) => void): Promise<void> {
    if (this.pipeline) this.pipeline.send(stmt, onDone);
    else onDone(await this.q.execute(stmt));
  }

  /**
   * Buffers a change. Returns a promise only when something had to be written first (a flush): the
   * common case costs no await per row.
   */
  add(change: RowChange<SqlRow>): Promise<void> | undefined {
    const id = this.table.identity;
    switch (change.kind) {
      case 'truncate':
        return this.addTruncate();
      case 'delete':
        return this.addDelete(change.before, change.position);
      case 'insert':
        return this.addUpsert(change.after, undefined, change.position, 'insert', change.snapshot === true);
      case 'update': {
        const before = change.before;
        if (
          before &&
          hasAll(before, id) &&
          keyString(this.table, before, id) !== keyString(this.table, change.after, id)
        ) {
          // A primary-key change: the old key goes, the new key arrives.
          const then = () => this.addUpsert(change.after, undefined, change.position, 'insert', false);
          return this.addDelete(before, change.position)?.then(then) ?? then();
        }
        return this.addUpsert(change.after, before, change.position, 'update', false);
      }
    }
  }

  private async addTruncate(): Promise<void> {
    await this.flush();
    await this.write(assembleTruncate(this.table), () => {
      this.counts.truncated += 1;
    });
  }

  private requireKey(row: SqlRow, position: SourcePosition): string | undefined {
    if (hasAll(row, this.table.identity)) return keyString(this.table, row, this.table.identity);
    this.counts.failed += 1;
    this.observer.rowFailed(
      position,
      this.table.ref,
      new RowError(
        `row lacks key column(s) ${this.table.identity.join(', ')} of ${tableName(this.table.ref)}`,
      ),
    );
    return undefined;
  }

  private addDelete(before: SqlRow, position: SourcePosition): Promise<void> | undefined {
    const key = this.requireKey(before, position);
    if (key === undefined) return;
    const loose = looseKeys(this.table, before);
    const queue = () => {
      this.deletes.set(key, { key, keyRow: pick(before, this.table.identity), position });
      for (const v of loose) this.deleteLoose.add(v);
      return this.pipeline && this.deletes.size >= this.limits.maxRows ? this.flushDeletes() : undefined;
    };
    // Anything pending that may be the same row (by any key, as the server may compare) goes first.
    return loose.some((v) => this.upsertLoose.has(v)) ? this.flushUpserts().then(queue) : queue();
  }

  private addUpsert(
    after: SqlRow,
    before: SqlRow | undefined,
    position: SourcePosition,
    kind: 'insert' | 'update',
    snapshot: boolean,
  ): Promise<void> | undefined {
    const key = this.requireKey(after, position);
    if (key === undefined) return;
    // A before image whose key values are the after image's adds no key (the common update).
    const loose =
      before && keyValuesChanged(before, after)
        ? [...looseKeys(this.table, after), ...looseKeys(this.table, before)]
        : looseKeys(this.table, after);
    const queue = () => {
      const pending = this.upserts.get(key);
      if (pending) {
        pending.row = { ...pending.row, ...after };
        pending.hadUpdate ||= kind === 'update';
        pending.snapshot ||= snapshot;
        pending.positions.push(position);
      } else {
        this.upserts.set(key, {
          key,
          row: after,
          first: kind,
          hadUpdate: kind === 'update',
          snapshot,
          positions: [position],
        });
      }
      for (const v of loose) this.upsertLoose.set(v, key);
      return this.pipeline && this.upserts.size >= this.limits.maxRows ? this.flushUpserts() : undefined;
    };
    const deletesFirst = loose.some((v) => this.deleteLoose.has(v));
    // Another pending row that may share a key with this one keeps its place: flush it first.
    const upsertsFirst = loose.some((v) => (this.upsertLoose.get(v) ?? key) !== key);
    if (!deletesFirst && !upsertsFirst) return queue();
    return (async () => {
      if (deletesFirst) await this.flushDeletes();
      if (upsertsFirst) await this.flushUpserts();
      await queue();
    })();
  }

  async flush(): Promise<void> {
    await this.flushDeletes();
    await this.flushUpserts();
  }

  private async flushDeletes(): Promise<void> {
    const pending = [...this.deletes.values()];
    this.deletes.clear();
    this.deleteLoose.clear();
    if (pending.length === 0) return;
    // Each key is absent until a statement reports it deleted.
    this.counts.absent += pending.length;
    for (const stmt of assembleDelete(
      this.table,
      pending.map((d) => d.keyRow),
      this.table.identity,
      this.limits,
    )) {
      await this.write(stmt, ({ affectedRows }) => {
        this.counts.deleted += affectedRows;
        this.counts.absent -= affectedRows;
      });
    }
    for (const d of pending) this.observer.rowApplied(this.table.ref, d.key, d.position);
  }

  private async flushUpserts(): Promise<void> {
    const all = [...this.upserts.values()];
    this.upserts.clear();
    this.upsertLoose.clear();
    // A row larger than one statement may carry can never be written: it fails alone, before anything is sent.
    const entries = all.filter((e) => {
      if (rowBytes(e.row) <= this.limits.maxBytes) return true;
      this.counts.failed += 1;
      const error = new RowError(
        `row is larger than the offline server accepts in one statement (max_allowed_packet): ${rowBytes(e.row)} bytes escaped`,
      );
      for (const p of e.positions) this.observer.rowFailed(p, this.table.ref, error, e.key);
      return false;
    });
    if (entries.length === 0) return;
    const careful =
      this.fastPath && this.policy === 'overwrite' ? await this.guardedUpsert(entries) : entries;
    if (careful.length > 0) await this.carefulUpsert(careful);
  }

  /**
   * The happy path, with no lookups: guarded multi-row upserts (see assembleGuardedUpsertParts) counted
   * from the server's own `Records/Duplicates`. A statement the server refuses (a unique key held by
   * another row, a value that does not fit) was rolled back by the server alone; its rows are returned
   * for the careful path, which decides them one by one exactly as it always has. Single rows go the
   * careful way: the server's answer for one row cannot tell an insert from an unchanged update.
   */
  private async guardedUpsert(entries: readonly PendingUpsert[]): Promise<PendingUpsert[]> {
    if (entries.length < 2) return [...entries];
    const entryOf = entriesByRow(entries);
    const careful: PendingUpsert[] = [];
    const rows = entries.map((e) => e.row);
    for (const part of assembleGuardedUpsertParts(this.table, rows, this.server, this.limits)) {
      const parts = part.rows.map((r) => entryOf.get(r) as PendingUpsert);
      if (parts.length < 2) {
        careful.push(...parts);
        continue;
      }
      const counted = (result: ResultSetHeader) => {
        const duplicates = insertCounts(result)?.duplicates ?? 0;
        this.counts.inserted += parts.length - duplicates;
        this.counts.updated += duplicates;
        for (const e of parts) {
          this.observer.rowApplied(
            this.table.ref,
            e.key,
            e.positions[e.positions.length - 1] as SourcePosition,
          );
        }
      };
      fastPathStats.statements += 1;
      if (this.pipeline) {
        this.pipeline.send(part.statement, counted);
        continue;
      }
      try {
        counted(await this.q.execute(part.statement));
      } catch (err) {
        if (classifyError(err) !== 'data') throw err;
        fastPathStats.fallbacks += 1;
        careful.push(...parts);
      }
    }
    return careful;
  }

  /** Lookups first (which keys exist, which unique values other rows hold), then the conflict policy. */
  private async carefulUpsert(entries: readonly PendingUpsert[]): Promise<void> {
    const rows = entries.map((e) => e.row);
    const present = await existingKeys(this.q, this.table, rows);
    const collisions = await findCollisions(this.q, this.table, rows);
    const entryOf = entriesByRow(entries);
    const writes: SqlRow[] = [];
    const evict = new Map<string, SqlRow>();
    for (const e of entries) {
      const position = e.positions[e.positions.length - 1] as SourcePosition;
      const isPresent = present.has(e.key);
      if (this.policy === 'skip' && !e.snapshot) {
        const why =
          isPresent && e.first === 'insert' && !e.hadUpdate
            ? 'insert of a key the offline table already has'
            : !isPresent && e.first === 'update'
              ? 'update of a row the offline table does not have'
              : undefined;
        if (why) {
          this.skip(position, `${why}: skipped (onConflict: skip)`);
          continue;
        }
      }
      const clashes = collisions.get(e.key) ?? [];
      if (clashes.length > 0) {
        const names = [...new Set(clashes.map((c) => c.keyName))].join(', ');
        if (this.policy === 'skip') {
          this.skip(
            position,
            `unique key ${names} is held by another offline row: skipped (onConflict: skip)`,
          );
          continue;
        }
        for (const c of clashes) evict.set(keyString(this.table, c.other, this.table.identity), c.other);
        this.counts.conflicts += 1;
        this.observer.conflict(
          position,
          this.table.ref,
          `unique key ${names} was held by another offline row: replaced`,
        );
      }
      writes.push(e.row);
      if (isPresent) this.counts.updated += 1;
      else this.counts.inserted += 1;
    }
    if (evict.size > 0) {
      for (const stmt of assembleDelete(this.table, [...evict.values()], this.table.identity, this.limits))
        await this.q.execute(stmt);
    }
    const failed = new Set<PendingUpsert>();
    for (const part of assembleUpsertParts(this.table, writes, this.server, this.limits))
      await this.writePart(part, entryOf, present, failed);
    for (const row of writes) {
      const e = entryOf.get(row);
      if (e && !failed.has(e))
        this.observer.rowApplied(
          this.table.ref,
          e.key,
          e.positions[e.positions.length - 1] as SourcePosition,
        );
    }
  }

  private skip(position: SourcePosition, detail: string): void {
    this.counts.skipped += 1;
    this.counts.conflicts += 1;
    this.observer.conflict(position, this.table.ref, detail);
  }

  /**
   * Runs one multi-row statement. When the server refuses a value, InnoDB has rolled back just that
   * statement: the rows are tried one by one so that only the bad ones fail.
   */
  private async writePart(
    part: RowsStatement<SqlRow>,
    entryOf: Map<SqlRow, PendingUpsert>,
    present: Set<string>,
    failed: Set<PendingUpsert>,
  ): Promise<void> {
    try {
      await this.q.execute(part.statement);
      return;
    } catch (err) {
      if (classifyError(err) !== 'data') throw err;
      if (part.rows.length === 1) {
        this.failRow(entryOf.get(part.rows[0] as SqlRow), present, err as Error, failed);
        return;
      }
    }
    for (const row of part.rows) {
      const [single] = assembleUpsertParts(this.table, [row], this.server, this.limits);
      if (!single) continue;
      try {
        await this.q.execute(single.statement);
      } catch (err) {
        if (classifyError(err) !== 'data') throw err;
        this.failRow(entryOf.get(row), present, err as Error, failed);
      }
    }
  }

  private failRow(
    entry: PendingUpsert | undefined,
    present: Set<string>,
    err: Error,
    failed: Set<PendingUpsert>,
  ): void {
    if (!entry) throw err;
    failed.add(entry);
    // It was counted as written when planned.
    if (present.has(entry.key)) this.counts.updated -= 1;
    else this.counts.inserted -= 1;
    this.counts.failed += 1;
    // The server's own error (e.g. ER_DATA_TOO_LONG) says best what is wrong with the value.
    for (const position of entry.positions) this.observer.rowFailed(position, this.table.ref, err, entry.key);
  }
}

/** Each pending entry by its row object: the assembler hands back the rows of each statement it cut. */
function entriesByRow(entries: readonly PendingUpsert[]): Map<SqlRow, PendingUpsert> {
  return new Map(entries.map((e) => [e.row, e]));
}

/** Does the before image (key columns only, see materialize) hold a value the after image does not? */
function keyValuesChanged(before: SqlRow, after: SqlRow): boolean {
  for (const c in before) {
    const b = before[c];
    const a = after[c];
    if (b === a) continue;
    if (Buffer.isBuffer(b) && Buffer.isBuffer(a) && b.equals(a)) continue;
    return true;
  }
  return false;
}
