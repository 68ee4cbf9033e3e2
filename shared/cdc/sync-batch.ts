import type { MSKEvent, SelfManagedKafkaEvent } from 'aws-lambda';
import type { CdcEntry, SyncConfig } from '../config/schema';
import { getDatabase } from '../db/connection';
import { tableName } from '../db/identifiers';
import { withRetry } from '../db/retry';
import { decodeRecord } from '../formats';
import { logger, MetricUnit, metrics, positionLabel } from '../observability';
import { invalidateTableSchema } from '../schema/cache';
import type { SourcePosition, TableRef } from '../types';
import { type ApplyItem, applyToTarget } from './apply';
import { routeEvent } from './route';
import type { TableCounts } from './table-writer';

export interface KafkaRecordRef {
  position: SourcePosition;
  /** The message value as text, or null for a tombstone. */
  value: string | null;
  entry: CdcEntry | undefined;
}

export interface BatchSummary {
  records: number;
  changes: number;
  filtered: number;
  failed: number;
  /** `target/schema.table` → counts. */
  tables: Record<string, TableCounts>;
}

/** Records of a Kafka event in delivery order: partition by partition, offsets ascending. */
export function flattenRecords(event: MSKEvent | SelfManagedKafkaEvent, config: SyncConfig): KafkaRecordRef[] {
  const byTopic = new Map<string, CdcEntry>();
  for (const entry of config.cdc) for (const t of entry.topics) byTopic.set(t, entry);
  const out: KafkaRecordRef[] = [];
  for (const records of Object.values(event.records ?? {})) {
    for (const r of records) {
      out.push({
        position: { topic: r.topic, partition: r.partition, offset: String(r.offset), index: 0 },
        value: r.value ? Buffer.from(r.value, 'base64').toString('utf8') : null,
        entry: byTopic.get(r.topic),
      });
    }
  }
  return out;
}

/** Per-row problems go to logs with their position, and to metrics. */
const observer = {
  conflict(position: SourcePosition, table: TableRef, detail: string) {
    logger.warn('row conflict', { position: positionLabel(position), table: tableName(table), detail });
    metrics.addMetric('RowConflicts', MetricUnit.Count, 1);
  },
  rowFailed(position: SourcePosition, table: TableRef | undefined, error: Error) {
    logger.error('row not applied', {
      position: positionLabel(position),
      ...(table ? { table: tableName(table) } : {}),
      error: { name: error.name, message: error.message },
    });
    metrics.addMetric('RowsFailed', MetricUnit.Count, 1);
  },
  droppedColumns: (() => {
    const logged = new Set<string>();
    return (table: string, columns: string[]) => {
      metrics.addMetric('DroppedColumns', MetricUnit.Count, columns.length);
      if (logged.has(table)) return;
      logged.add(table);
      logger.warn('columns missing from the offline table are dropped', { table, columns });
    };
  })(),
};

/**
 * decode → route → plan/assemble/apply, for one Kafka batch. Every target database gets its share in
 * one transaction, retried on transient errors while the invocation has time.
 */
export async function syncBatch(
  event: MSKEvent | SelfManagedKafkaEvent,
  config: SyncConfig,
  remainingMs: () => number,
): Promise<BatchSummary> {
  const started = Date.now();
  const records = flattenRecords(event, config);
  const summary: BatchSummary = { records: records.length, changes: 0, filtered: 0, failed: 0, tables: {} };
  const perTarget = new Map<string, ApplyItem[]>();
  const ddl: { target: string; table: TableRef }[] = [];
  let oldestEventMs: number | undefined;

  for (const record of records) {
    if (!record.entry) {
      summary.filtered += 1;
      logger.warn('no cdc entry routes this topic', { position: positionLabel(record.position) });
      continue;
    }
    let events: ReturnType<typeof decodeRecord>;
    try {
      events = decodeRecord(record.value, record.position, record.entry.format);
    } catch (err) {
      summary.failed += 1;
      observer.rowFailed(record.position, undefined, err as Error);
      continue;
    }
    for (const ev of events) {
      const routed = routeEvent(ev, record.entry);
      if (routed.kind === 'filtered') {
        summary.filtered += 1;
        continue;
      }
      if (routed.kind === 'ddl') {
        ddl.push({ target: record.entry.target, table: routed.table });
        continue;
      }
      const t = routed.change.position.eventTimeMs;
      if (t !== undefined && (oldestEventMs === undefined || t < oldestEventMs)) oldestEventMs = t;
      summary.changes += 1;
      const items = perTarget.get(record.entry.target) ?? [];
      items.push({ change: routed.change, policy: record.entry.onConflict });
      perTarget.set(record.entry.target, items);
    }
  }

  for (const { target, table } of ddl) {
    const db = await getDatabase(target, config);
    invalidateTableSchema(db, table);
    logger.info('schema change seen: cached table schema dropped', { table: tableName(table), target });
  }

  for (const [target, items] of perTarget) {
    const db = await withRetry(() => getDatabase(target, config), { remainingMs });
    const counts = await withRetry(
      () =>
        applyToTarget(db, items, {
          schemaTtlMs: config.schemaCacheTtlSeconds * 1000,
          observer,
        }),
      {
        remainingMs,
        onRetry: (err, attempt, kind) => {
          logger.warn('retrying batch after a transient error', { target, attempt, kind, error: (err as Error).message });
          if (kind === 'schema') for (const item of items) invalidateTableSchema(db, item.change.table);
        },
      },
    );
    for (const [name, c] of counts) {
      summary.tables[`${target}/${name}`] = c;
      summary.failed += c.failed;
      metrics.addMetric('RowsInserted', MetricUnit.Count, c.inserted);
      metrics.addMetric('RowsUpdated', MetricUnit.Count, c.updated);
      metrics.addMetric('RowsDeleted', MetricUnit.Count, c.deleted);
      metrics.addMetric('RowsSkipped', MetricUnit.Count, c.skipped + c.absent);
    }
  }

  metrics.addMetric('RecordsFiltered', MetricUnit.Count, summary.filtered);
  metrics.addMetric('BatchLatency', MetricUnit.Milliseconds, Date.now() - started);
  if (oldestEventMs !== undefined) {
    metrics.addMetric('ReplicationLag', MetricUnit.Milliseconds, Math.max(0, Date.now() - oldestEventMs));
  }
  return summary;
}
