import { planBatch } from '../cdc/plan-batch';
import { TargetApplier, type TargetResult } from '../cdc/target-applier';
import type { SyncConfig } from '../config/schema';
import { getWriteTarget } from '../db/guard';
import { getDeadLetter, markDeadLetter, type StoredDeadLetter } from './dead-letters';

/** Why a dead letter cannot be replayed: it does not exist, a later change replaced it, or its payload was cut. */
export class DeadLetterError extends Error {
  override name = 'DeadLetterError';
  constructor(
    readonly kind: 'not-found' | 'superseded' | 'truncated',
    message: string,
  ) {
    super(message);
  }
}

export interface ReplayResult {
  deadLetter: Pick<StoredDeadLetter, 'id' | 'topic' | 'partition' | 'offset' | 'rowIndex'>;
  status: 'resolved' | 'open';
  summary: Pick<TargetResult, 'deadLettered' | 'superseded'> & { tables: Record<string, unknown> };
}

/**
 * Re-applies one dead-lettered record, once its cause is fixed, through the target's applier (the
 * guard, the same planning and writer as the live path). A letter a later change superseded is never
 * replayed: its older values would overwrite newer ones. The letter is resolved when the record now
 * applies without a new dead letter; otherwise it stays open with the new error and attempts bumped.
 */
export async function replayDeadLetter(
  config: SyncConfig,
  target: string,
  id: string,
  remainingMs: () => number,
): Promise<ReplayResult> {
  const offline = await getWriteTarget(target, config);
  const letter = await getDeadLetter(offline, id);
  if (!letter) throw new DeadLetterError('not-found', `dead letter ${id} not found in ${target}`);
  if (letter.status === 'superseded') {
    throw new DeadLetterError(
      'superseded',
      `dead letter ${id} was superseded by a later change to the same row (${letter.supersededBy ?? 'later record'}): not replayed`,
    );
  }
  if (letter.status === 'discarded') {
    throw new DeadLetterError(
      'superseded',
      `dead letter ${id} was discarded by ${letter.discardedBy ?? 'someone'}: not replayed`,
    );
  }
  if (letter.valueTruncated) {
    throw new DeadLetterError(
      'truncated',
      `dead letter ${id} kept only part of its payload: it cannot be replayed`,
    );
  }
  const entry = config.cdc.find((e) => e.topics.includes(letter.topic) && e.target === target);
  const plan = planBatch([
    {
      position: { topic: letter.topic, partition: letter.partition, offset: letter.offset, index: 0 },
      key: letter.key,
      value: letter.value,
      entry,
      onlyRowIndex: letter.rowIndex,
    },
  ]);
  const batch = plan.targets.find((t) => t.target === target);
  const result = batch ? await TargetApplier.create(target, config, remainingMs).apply(batch) : undefined;
  if (result?.failure) throw result.failure.error;
  const resolved = result !== undefined && result.deadLettered === 0 && entry !== undefined;
  if (resolved) await markDeadLetter(offline, id, 'resolved');
  return {
    deadLetter: {
      id: letter.id,
      topic: letter.topic,
      partition: letter.partition,
      offset: letter.offset,
      rowIndex: letter.rowIndex,
    },
    status: resolved ? 'resolved' : 'open',
    summary: {
      deadLettered: result?.deadLettered ?? 0,
      superseded: result?.superseded ?? 0,
      tables: Object.fromEntries(result?.tables ?? []),
    },
  };
}
