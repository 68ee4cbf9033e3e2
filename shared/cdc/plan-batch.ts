import { createHash } from 'node:crypto';
import type { MSKEvent, SelfManagedKafkaEvent } from 'aws-lambda';
import type { CdcEntry, SyncConfig } from '../config/schema';
import { tableName } from '../db/identifiers';
import { DecodeError, decodeRecord } from '../formats';
import type { DeadLetterClass } from '../reliability/dead-letters';
import type { RowChange, SourcePosition, TableRef, WireRow } from '../types';
import { checkDdl } from './ddl';
import { identifierProblem, routeEvent } from './route';
import type { ConflictPolicy } from './table-writer';

/**
 * Planning a Kafka batch, with no server involved: records in offset order per partition, decoded,
 * routed, and laid out per offline target as an ordered list of items (row changes, DDL at its
 * position, and records that can only be dead-lettered). Table-tested in plan-batch.test.ts.
 */

export interface KafkaRecordRef {
  position: SourcePosition;
  key: Buffer | null;
  /** The message value, or null for a tombstone. */
  value: Buffer | null;
  /** The value as Lambda delivered it, when it came in an event (decoded into `value` only when needed). */
  valueBase64?: string | null;
  entry: CdcEntry | undefined;
  /** Apply only this row of a multi-row message (replaying one dead letter). */
  onlyRowIndex?: number;
}

/**
 * A record of a Lambda event. Key and value stay base64 until something needs their bytes (a dead
 * letter, a message not recognised from its text): a known Connect envelope is decoded payload only.
 */
class EventRecord implements KafkaRecordRef {
  private keyBytes: Buffer | null | undefined;
  private valueBytes: Buffer | null | undefined;

  constructor(
    readonly position: SourcePosition,
    private readonly keyBase64: string | null,
    readonly valueBase64: string | null,
    readonly entry: CdcEntry | undefined,
  ) {}

  get key(): Buffer | null {
    this.keyBytes ??= this.keyBase64 ? Buffer.from(this.keyBase64, 'base64') : null;
    return this.keyBytes;
  }

  get value(): Buffer | null {
    this.valueBytes ??= this.valueBase64 ? Buffer.from(this.valueBase64, 'base64') : null;
    return this.valueBytes;
  }
}

export type PlannedItem =
  | { kind: 'change'; change: RowChange<WireRow>; policy: ConflictPolicy; record: KafkaRecordRef }
  | {
      kind: 'ddl';
      /** The offline table (after schema renames). */
      table: TableRef;
      sql: string;
      /** SHA-256 of the statement: identifies it in the DDL fence. */
      hash: string;
      /** Run it (the entry opted in with applyDdl and the statement passed checkDdl). */
      execute: boolean;
      refused?: Error;
      record: KafkaRecordRef;
      position: SourcePosition;
    }
  | {
      kind: 'dead-letter';
      record: KafkaRecordRef;
      position: SourcePosition;
      table?: string;
      error: Error;
      errorClass: DeadLetterClass;
    };

export interface TargetBatch {
  target: string;
  /** In the order they must apply: partition by partition, offsets ascending. */
  items: PlannedItem[];
  /** Every record routed to this target, applied or not: where partial failures are reported from. */
  records: KafkaRecordRef[];
}

export interface BatchPlan {
  targets: TargetBatch[];
  records: number;
  changes: number;
  filtered: number;
  /** Where the first filtered records were and why (for the log; a filtered topic can be busy). */
  filteredSample: { position: SourcePosition; reason: string }[];
  /** Oldest source commit time among the changes (for replication lag). */
  oldestEventMs?: number;
}

/** Offsets are decimal texts of non-negative integers: the shorter is smaller, else the text decides. */
const compareOffsets = (a: KafkaRecordRef, b: KafkaRecordRef) => {
  const x = a.position.offset;
  const y = b.position.offset;
  return x.length !== y.length ? x.length - y.length : x < y ? -1 : x > y ? 1 : 0;
};

/** In offset order: Lambda delivers a partition's records in order, so this is usually a check. */
function inOffsetOrder(records: KafkaRecordRef[]): KafkaRecordRef[] {
  for (let i = 1; i < records.length; i++) {
    if (compareOffsets(records[i - 1] as KafkaRecordRef, records[i] as KafkaRecordRef) > 0)
      return records.sort(compareOffsets);
  }
  return records;
}

/** Records of a Kafka event in apply order: partition by partition, offsets ascending within each. */
export function flattenRecords(
  event: MSKEvent | SelfManagedKafkaEvent,
  config: SyncConfig,
): KafkaRecordRef[] {
  const byTopic = new Map<string, CdcEntry>();
  for (const entry of config.cdc) for (const t of entry.topics) byTopic.set(t, entry);
  const out: KafkaRecordRef[] = [];
  for (const records of Object.values(event.records ?? {})) {
    const partition = records.map(
      (r): KafkaRecordRef =>
        new EventRecord(
          { topic: r.topic, partition: r.partition, offset: String(r.offset), index: 0 },
          r.key || null,
          r.value || null,
          byTopic.get(r.topic),
        ),
    );
    for (const r of inOffsetOrder(partition)) out.push(r);
  }
  return out;
}

function badName(ref: TableRef): string | undefined {
  for (const [what, name] of [
    ['schema', ref.schema],
    ['table', ref.table],
  ] as const) {
    const problem = identifierProblem(name);
    if (problem)
      return `${what} name ${JSON.stringify(name.slice(0, 80))}${name.length > 80 ? '…' : ''} ${problem}`;
  }
  return undefined;
}

export function planBatch(records: readonly KafkaRecordRef[]): BatchPlan {
  const plan: BatchPlan = {
    targets: [],
    records: records.length,
    changes: 0,
    filtered: 0,
    filteredSample: [],
  };
  const filter = (position: SourcePosition, reason: string) => {
    plan.filtered += 1;
    if (plan.filteredSample.length < 20) plan.filteredSample.push({ position, reason });
  };
  const byTarget = new Map<string, TargetBatch>();
  const batchOf = (target: string) => {
    let b = byTarget.get(target);
    if (!b) {
      b = { target, items: [], records: [] };
      byTarget.set(target, b);
      plan.targets.push(b);
    }
    return b;
  };
  for (const record of records) {
    const entry = record.entry;
    if (!entry) {
      filter(record.position, 'no cdc entry routes this topic');
      continue;
    }
    const batch = batchOf(entry.target);
    batch.records.push(record);
    const deadLetter = (
      position: SourcePosition,
      error: Error,
      errorClass: DeadLetterClass,
      table?: string,
    ) =>
      batch.items.push({
        kind: 'dead-letter',
        record,
        position,
        error,
        errorClass,
        ...(table ? { table } : {}),
      });
    let events: ReturnType<typeof decodeRecord>;
    try {
      const base64 = record.valueBase64;
      events = decodeRecord(
        typeof base64 === 'string' ? { base64 } : record.value,
        record.position,
        entry.format,
      );
    } catch (err) {
      deadLetter(record.position, err as Error, 'decode');
      continue;
    }
    for (const ev of events) {
      if (record.onlyRowIndex !== undefined && ev.position.index !== record.onlyRowIndex) continue;
      if (ev.kind !== 'skip') {
        const problem = badName(ev.table);
        if (problem) {
          deadLetter(ev.position, new DecodeError(`not a valid table: ${problem}`), 'table');
          continue;
        }
      }
      const routed = routeEvent(ev, entry);
      if (routed.kind === 'filtered') {
        filter(ev.position, routed.reason.slice(0, 300));
        continue;
      }
      const problem = badName(routed.kind === 'ddl' ? routed.table : routed.change.table);
      if (problem) {
        deadLetter(ev.position, new DecodeError(`not a valid offline table: ${problem}`), 'table');
        continue;
      }
      if (routed.kind === 'ddl') {
        const sourceSchema = (ev as { table: TableRef }).table.schema;
        let refused: Error | undefined;
        if (entry.applyDdl && routed.sql.trim() !== '') {
          try {
            checkDdl(routed.sql, { ...routed.table }, sourceSchema, routed.table.schema);
          } catch (err) {
            refused = err as Error;
          }
        }
        batch.items.push({
          kind: 'ddl',
          table: routed.table,
          sql: routed.sql,
          hash: createHash('sha256').update(routed.sql).digest('hex'),
          execute: entry.applyDdl && routed.sql.trim() !== '' && !refused,
          ...(refused ? { refused } : {}),
          record,
          position: ev.position,
        });
        continue;
      }
      const t = routed.change.position.eventTimeMs;
      if (t !== undefined && (plan.oldestEventMs === undefined || t < plan.oldestEventMs))
        plan.oldestEventMs = t;
      plan.changes += 1;
      batch.items.push({ kind: 'change', change: routed.change, policy: entry.onConflict, record });
    }
  }
  return plan;
}

/** `schema.table` of an item, for logs and dead letters. */
export function itemTable(item: PlannedItem): string | undefined {
  if (item.kind === 'change') return tableName(item.change.table);
  if (item.kind === 'ddl') return tableName(item.table);
  return item.table;
}
