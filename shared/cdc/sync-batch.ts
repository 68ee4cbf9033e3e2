import type { MSKEvent, SelfManagedKafkaEvent } from 'aws-lambda';
import type { CdcEntry, SyncConfig } from '../config/schema';
import { getDatabase } from '../db/connection';
import { classifyError } from '../db/errors';
import { assertOfflineTarget } from '../db/guard';
import { tableName } from '../db/identifiers';
import { withRetry } from '../db/retry';
import { decodeRecord } from '../formats';
import { logger, MetricUnit, metrics, positionLabel } from '../observability';
import { type DeadLetter, recordDeadLetters } from '../reliability/dead-letters';
import { invalidateTableSchema } from '../schema/cache';
import type { DecodedEvent, SourcePosition, TableRef } from '../types';
import { type ApplyItem, applyToTarget } from './apply';
import { handleSchemaChange, type SchemaChange } from './ddl';
import { routeEvent } from './route';
import type { TableCounts } from './table-writer';

export interface KafkaRecordRef {
  position: SourcePosition;
  key: Buffer | null;
  /** The message value, or null for a tombstone. */
  value: Buffer | null;
  entry: CdcEntry | undefined;
  /** Apply only this row of a multi-row message (replaying one dead letter). */
  onlyRowIndex?: number;
}

export interface BatchItemFailure {
  itemIdentifier: { partition: string; offset: number };
}

export interface BatchSummary {
  records: number;
  changes: number;
  filtered: number;
  /** Rows or records dead-lettered: not applied, kept for replay, not blocking. */
  deadLettered: number;
  /** `target/schema.table` → counts. */
  tables: Record<string, TableCounts>;
  /** Partial batch response: per topic-partition, the first offset that did not apply. */
  batchItemFailures: BatchItemFailure[];
}

/** Records of a Kafka event in delivery order: partition by partition, offsets ascending. */
export function flattenRecords(
  event: MSKEvent | SelfManagedKafkaEvent,
  config: SyncConfig,
): KafkaRecordRef[] {
  const byTopic = new Map<string, CdcEntry>();
  for (const entry of config.cdc) for (const t of entry.topics) byTopic.set(t, entry);
  const out: KafkaRecordRef[] = [];
  for (const records of Object.values(event.records ?? {})) {
    for (const r of records) {
      out.push({
        position: { topic: r.topic, partition: r.partition, offset: String(r.offset), index: 0 },
        key: r.key ? Buffer.from(r.key, 'base64') : null,
        value: r.value ? Buffer.from(r.value, 'base64') : null,
        entry: byTopic.get(r.topic),
      });
    }
  }
  return out;
}

const recordLabel = (p: SourcePosition) => `${p.topic}\u0000${p.partition}\u0000${p.offset}`;

const droppedLogged = new Set<string>();

/**
 * decode → route → plan/assemble/apply for a list of Kafka records. Every target database gets its
 * share in one transaction, retried on transient errors while the invocation has time. Rows that can
 * never apply are dead-lettered and the rest goes on. A target that still fails after retries either
 * throws (Lambda retries the batch) or, where the entry reports partial batch failures, is reported
 * from its first record on, per partition.
 */
export async function applyRecords(
  records: readonly KafkaRecordRef[],
  config: SyncConfig,
  remainingMs: () => number,
): Promise<BatchSummary> {
  const started = Date.now();
  const summary: BatchSummary = {
    records: records.length,
    changes: 0,
    filtered: 0,
    deadLettered: 0,
    tables: {},
    batchItemFailures: [],
  };
  const byLabel = new Map(records.map((r) => [recordLabel(r.position), r]));
  const deadLetters = new Map<string, DeadLetter[]>();
  const deadLetter = (
    target: string,
    position: SourcePosition,
    table: string | undefined,
    error: Error,
    errorClass: DeadLetter['errorClass'],
  ) => {
    const record = byLabel.get(recordLabel(position));
    logger.error('row dead-lettered', {
      position: positionLabel(position),
      target,
      ...(table ? { table } : {}),
      error: { name: error.name, message: error.message },
    });
    metrics.addMetric('RowsDeadLettered', MetricUnit.Count, 1);
    summary.deadLettered += 1;
    const list = deadLetters.get(target) ?? [];
    list.push({
      position,
      target,
      ...(table ? { table } : {}),
      key: record?.key ?? null,
      value: record?.value ?? null,
      error: `${error.name}: ${error.message}`,
      errorClass,
    });
    deadLetters.set(target, list);
  };

  const perTarget = new Map<string, { items: ApplyItem[]; records: KafkaRecordRef[] }>();
  const ddl: { target: string; change: SchemaChange }[] = [];
  let oldestEventMs: number | undefined;

  for (const record of records) {
    const entry = record.entry;
    if (!entry) {
      summary.filtered += 1;
      logger.warn('no cdc entry routes this topic', { position: positionLabel(record.position) });
      continue;
    }
    const group = perTarget.get(entry.target) ?? { items: [], records: [] };
    perTarget.set(entry.target, group);
    group.records.push(record);
    let events: DecodedEvent[];
    try {
      events = decodeRecord(record.value?.toString('utf8') ?? null, record.position, entry.format);
    } catch (err) {
      deadLetter(entry.target, record.position, undefined, err as Error, 'decode');
      continue;
    }
    for (const ev of events) {
      if (record.onlyRowIndex !== undefined && ev.position.index !== record.onlyRowIndex) continue;
      const routed = routeEvent(ev, entry);
      if (routed.kind === 'filtered') {
        summary.filtered += 1;
        continue;
      }
      if (routed.kind === 'ddl') {
        ddl.push({
          target: entry.target,
          change: {
            table: routed.table,
            sourceSchema: (ev as { table: TableRef }).table.schema,
            sql: routed.sql,
            position: ev.position,
            execute: entry.applyDdl,
          },
        });
        continue;
      }
      const t = routed.change.position.eventTimeMs;
      if (t !== undefined && (oldestEventMs === undefined || t < oldestEventMs)) oldestEventMs = t;
      summary.changes += 1;
      group.items.push({ change: routed.change, policy: entry.onConflict });
    }
  }

  for (const [target, { items, records: targetRecords }] of perTarget) {
    const letters = () => deadLetters.get(target) ?? [];
    try {
      const db = await withRetry(() => getDatabase(target, config), { remainingMs });
      await assertOfflineTarget(target, config);
      // Schema changes go first: the rows of this batch are planned against the shape they lead to.
      for (const d of ddl) {
        if (d.target !== target) continue;
        const failed = await handleSchemaChange(db, d.change);
        if (failed) deadLetter(target, d.change.position, tableName(d.change.table), failed, 'data');
      }
      let runLetters: Parameters<typeof deadLetter>[] = [];
      const counts = await withRetry(
        async () => {
          // A retried attempt starts over: only the last attempt's per-row failures count.
          runLetters = [];
          return applyToTarget(db, items, {
            schemaTtlMs: config.schemaCacheTtlSeconds * 1000,
            observer: {
              conflict(position, table, detail) {
                logger.warn('row conflict', {
                  position: positionLabel(position),
                  table: tableName(table),
                  detail,
                });
                metrics.addMetric('RowConflicts', MetricUnit.Count, 1);
              },
              rowFailed(position, table, error) {
                const kind =
                  error.name === 'TableNotFoundError' || error.name === 'RowError' ? 'table' : 'value';
                runLetters.push([target, position, tableName(table), error, kind]);
              },
              droppedColumns(table, columns) {
                metrics.addMetric('DroppedColumns', MetricUnit.Count, columns.length);
                if (droppedLogged.has(`${target}/${table}`)) return;
                droppedLogged.add(`${target}/${table}`);
                logger.warn('columns missing from the offline table are dropped', { target, table, columns });
              },
            },
          });
        },
        {
          remainingMs,
          onRetry: (err, attempt, kind) => {
            logger.warn('retrying after a transient error', {
              target,
              attempt,
              kind,
              error: (err as Error).message,
            });
            if (kind === 'schema') for (const item of items) invalidateTableSchema(db, item.change.table);
          },
        },
      );
      for (const args of runLetters) deadLetter(...args);
      await withRetry(() => recordDeadLetters(db, letters()), { remainingMs });
      for (const [name, c] of counts) {
        summary.tables[`${target}/${name}`] = c;
        metrics.addMetric('RowsInserted', MetricUnit.Count, c.inserted);
        metrics.addMetric('RowsUpdated', MetricUnit.Count, c.updated);
        metrics.addMetric('RowsDeleted', MetricUnit.Count, c.deleted);
        metrics.addMetric('RowsSkipped', MetricUnit.Count, c.skipped + c.absent);
      }
    } catch (err) {
      const reportable = targetRecords.every((r) => r.entry?.retry.reportBatchItemFailures);
      logger.error('target not applied', {
        target,
        errorClass: classifyError(err),
        error: (err as Error).message,
        reportingPartialFailure: reportable,
      });
      if (!reportable) throw err;
      summary.batchItemFailures.push(...firstOffsets(targetRecords));
    }
  }

  metrics.addMetric('RecordsFiltered', MetricUnit.Count, summary.filtered);
  metrics.addMetric('BatchLatency', MetricUnit.Milliseconds, Date.now() - started);
  if (oldestEventMs !== undefined) {
    metrics.addMetric('ReplicationLag', MetricUnit.Milliseconds, Math.max(0, Date.now() - oldestEventMs));
  }
  return summary;
}

/** The first offset per topic-partition among `records`: where Lambda must resume. */
function firstOffsets(records: readonly KafkaRecordRef[]): BatchItemFailure[] {
  const first = new Map<string, number>();
  for (const r of records) {
    const tp = `${r.position.topic}-${r.position.partition}`;
    const offset = Number(r.position.offset);
    if (!first.has(tp) || offset < (first.get(tp) as number)) first.set(tp, offset);
  }
  return [...first].map(([partition, offset]) => ({ itemIdentifier: { partition, offset } }));
}

export function syncBatch(
  event: MSKEvent | SelfManagedKafkaEvent,
  config: SyncConfig,
  remainingMs: () => number,
): Promise<BatchSummary> {
  return applyRecords(flattenRecords(event, config), config, remainingMs);
}
