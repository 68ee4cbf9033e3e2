import { applyRecords, type BatchSummary } from '../cdc/sync-batch';
import type { SyncConfig } from '../config/schema';
import { getDatabase } from '../db/connection';
import { ensureDeadLetterTable, getDeadLetter, markDeadLetter, type StoredDeadLetter } from './dead-letters';

export class DeadLetterNotFoundError extends Error {
  override name = 'DeadLetterNotFoundError';
  readonly statusCode = 404;
}

export interface ReplayResult {
  deadLetter: Pick<StoredDeadLetter, 'id' | 'topic' | 'partition' | 'offset' | 'rowIndex'>;
  status: 'resolved' | 'open';
  summary: BatchSummary;
}

/**
 * Re-applies one dead-lettered record through the normal path (decode → route → plan → apply), once
 * its cause is fixed. The letter is resolved when the record now applies without a new dead letter;
 * otherwise it stays open with the new error (recordDeadLetters bumps its attempts).
 */
export async function replayDeadLetter(
  config: SyncConfig,
  target: string,
  id: string,
  remainingMs: () => number,
): Promise<ReplayResult> {
  const db = await getDatabase(target, config);
  await ensureDeadLetterTable(db);
  const letter = await getDeadLetter(db, id);
  if (!letter) throw new DeadLetterNotFoundError(`dead letter ${id} not found in ${target}`);
  const entry = config.cdc.find((e) => e.topics.includes(letter.topic) && e.target === target);
  const summary = await applyRecords(
    [
      {
        position: { topic: letter.topic, partition: letter.partition, offset: letter.offset, index: 0 },
        key: letter.key,
        value: letter.value,
        entry,
        onlyRowIndex: letter.rowIndex,
      },
    ],
    config,
    remainingMs,
  );
  const resolved =
    summary.deadLettered === 0 && summary.batchItemFailures.length === 0 && entry !== undefined;
  if (resolved) await markDeadLetter(db, id, 'resolved');
  return {
    deadLetter: {
      id: letter.id,
      topic: letter.topic,
      partition: letter.partition,
      offset: letter.offset,
      rowIndex: letter.rowIndex,
    },
    status: resolved ? 'resolved' : 'open',
    summary,
  };
}
