import type { MSKEvent, SelfManagedKafkaEvent } from 'aws-lambda';
import type { SyncConfig } from '../config/schema';
import { classifyError, redactMessage } from '../db/errors';
import { logger, MetricUnit, metrics, positionLabel } from '../observability';
import { partitionLabel } from '../reliability/positions';
import { flattenRecords, type KafkaRecordRef, planBatch } from './plan-batch';
import type { TableCounts } from './table-writer';
import { TargetApplier } from './target-applier';

export type { KafkaRecordRef } from './plan-batch';

export interface BatchItemFailure {
  itemIdentifier: { partition: string; offset: number };
}

export interface BatchSummary {
  records: number;
  changes: number;
  filtered: number;
  /** Rows or records dead-lettered: not applied, kept for replay, not blocking. */
  deadLettered: number;
  /** Older dead letters whose rows this batch changed again: never to be replayed over the newer values. */
  superseded: number;
  /** Items an earlier delivery of this batch had already applied (past a DDL). */
  alreadyApplied: number;
  /** `target/schema.table` → counts. */
  tables: Record<string, TableCounts>;
  /** Partial batch response: per topic-partition, the first offset that did not apply. */
  batchItemFailures: BatchItemFailure[];
}

const droppedLogged = new Set<string>();

/**
 * plan → apply per target → report. Planning is pure (planBatch); each offline target's share goes
 * through its TargetApplier (the guard, its transactions, retries, dead letters). A target that still
 * fails after retries either throws (Lambda retries the batch) or, where the entry reports partial
 * batch failures, is reported per partition from its first record that did not commit.
 */
export async function applyRecords(
  records: readonly KafkaRecordRef[],
  config: SyncConfig,
  remainingMs: () => number,
): Promise<BatchSummary> {
  const started = Date.now();
  const plan = planBatch(records);
  const summary: BatchSummary = {
    records: plan.records,
    changes: plan.changes,
    filtered: plan.filtered,
    deadLettered: 0,
    superseded: 0,
    alreadyApplied: 0,
    tables: {},
    batchItemFailures: [],
  };
  if (plan.filtered > 0) {
    logger.info('records filtered', {
      count: plan.filtered,
      first: plan.filteredSample.map((f) => ({ position: positionLabel(f.position), reason: f.reason })),
    });
  }
  for (const batch of plan.targets) {
    const result = await TargetApplier.create(batch.target, config, remainingMs).apply(batch);
    summary.deadLettered += result.deadLettered;
    summary.superseded += result.superseded;
    summary.alreadyApplied += result.alreadyApplied;
    metrics.addMetric('RowsDeadLettered', MetricUnit.Count, result.deadLettered);
    for (const c of result.conflicts) {
      logger.warn('row conflict', { position: positionLabel(c.position), table: c.table, detail: c.detail });
    }
    metrics.addMetric('RowConflicts', MetricUnit.Count, result.conflicts.length);
    for (const [table, columns] of result.droppedColumns) {
      metrics.addMetric('DroppedColumns', MetricUnit.Count, columns.size);
      if (droppedLogged.has(`${batch.target}/${table}`)) continue;
      droppedLogged.add(`${batch.target}/${table}`);
      logger.warn('columns missing from the offline table are dropped', {
        target: batch.target,
        table,
        columns: [...columns],
      });
    }
    for (const [name, c] of result.tables) {
      summary.tables[`${batch.target}/${name}`] = c;
      metrics.addMetric('RowsInserted', MetricUnit.Count, c.inserted);
      metrics.addMetric('RowsUpdated', MetricUnit.Count, c.updated);
      metrics.addMetric('RowsDeleted', MetricUnit.Count, c.deleted);
      metrics.addMetric('RowsSkipped', MetricUnit.Count, c.skipped + c.absent);
    }
    if (result.failure) {
      const reportable = batch.records.every((r) => r.entry?.retry.reportBatchItemFailures);
      logger.error('target not applied', {
        target: batch.target,
        errorClass: classifyError(result.failure.error),
        error: redactMessage(result.failure.error),
        reportingPartialFailure: reportable,
      });
      if (!reportable) throw result.failure.error;
      summary.batchItemFailures.push(...firstOffsets(result.failure.unapplied));
    }
  }
  metrics.addMetric('RecordsFiltered', MetricUnit.Count, summary.filtered);
  metrics.addMetric('BatchLatency', MetricUnit.Milliseconds, Date.now() - started);
  if (plan.oldestEventMs !== undefined) {
    metrics.addMetric(
      'ReplicationLag',
      MetricUnit.Milliseconds,
      Math.max(0, Date.now() - plan.oldestEventMs),
    );
  }
  return summary;
}

/** The first offset per topic-partition among `records`: where Lambda must resume. */
function firstOffsets(records: readonly KafkaRecordRef[]): BatchItemFailure[] {
  const first = new Map<string, bigint>();
  for (const r of records) {
    const tp = partitionLabel(r.position);
    const offset = BigInt(r.position.offset);
    const prev = first.get(tp);
    if (prev === undefined || offset < prev) first.set(tp, offset);
  }
  return [...first].map(([partition, offset]) => ({ itemIdentifier: { partition, offset: Number(offset) } }));
}

export function syncBatch(
  event: MSKEvent | SelfManagedKafkaEvent,
  config: SyncConfig,
  remainingMs: () => number,
): Promise<BatchSummary> {
  return applyRecords(flattenRecords(event, config), config, remainingMs);
}
