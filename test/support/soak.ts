import type { Connection } from 'mysql2/promise';
import type { BatchSummary } from '../../shared/cdc/sync-batch';
import { lambdaContext, mskEvent } from './kafka';
import { type CapturingWorkload, rng, type WORKLOAD_TABLES } from './workload';

type Handler = (event: unknown, context: unknown) => Promise<BatchSummary>;

export interface SoakOptions {
  workload: CapturingWorkload;
  handler: Handler;
  topic: string;
  /** Change events to produce and deliver. */
  events: number;
  seed: number;
  /** A connection to the offline server used to kill the product's connections (fault injection). */
  killer: Connection;
  /** Probability that a batch has its connections killed while it applies. */
  faultRate?: number;
  maxBatch?: number;
  onProgress?: (done: number) => void;
  /**
   * Waits until the messages of the steps taken so far are in `workload.messages` (when they come from a
   * binlog capture, asynchronously); without it each step emits its own messages at once.
   */
  settle?: () => Promise<void>;
}

export interface SoakReport {
  events: number;
  batches: number;
  redeliveries: number;
  faultsInjected: number;
  invocationsRetried: number;
}

/**
 * Produces a seeded random workload on the online server and delivers its change messages in random
 * batch sizes, with random re-deliveries of already delivered offsets (as after a partial failure) and
 * random connection kills while a batch applies. Streams: memory stays flat however many events.
 */
export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const random = rng(o.seed);
  const report: SoakReport = {
    events: 0,
    batches: 0,
    redeliveries: 0,
    faultsInjected: 0,
    invocationsRetried: 0,
  };
  let offset = 0;
  let window: { value: string; offset: number }[] = [];
  const maxBatch = o.maxBatch ?? 200;
  while (report.events < o.events) {
    const start = o.workload.messages.length;
    if (!o.settle) {
      // The bound is drawn anew for each step (as the soak always has: mostly small batches).
      while (o.workload.messages.length - start < 1 + Math.floor(random() * maxBatch))
        await o.workload.step();
    } else {
      const size = 1 + Math.floor(random() * maxBatch);
      while (o.workload.messages.length - start < size) {
        for (let i = o.workload.messages.length - start; i < size; i++) await o.workload.step();
        await o.settle();
      }
    }
    const fresh = o.workload.messages.splice(start).map((value) => ({ value, offset: offset++ }));
    report.events += fresh.length;
    // Sometimes start the batch a little before where the last one ended: offsets Lambda re-delivers.
    const redeliver = random() < 0.2 ? window.slice(-Math.floor(random() * window.length)) : [];
    if (redeliver.length) report.redeliveries += 1;
    const batch = [...redeliver, ...fresh];
    window = fresh;
    report.batches += 1;
    const event = mskEvent(
      batch.map((b) => ({ topic: o.topic, value: b.value })),
      batch.map((b) => b.offset),
    );
    const inject = random() < (o.faultRate ?? 0.1);
    for (let attempt = 1; ; attempt++) {
      const delivery = o.handler(event, lambdaContext());
      if (inject && attempt === 1) {
        report.faultsInjected += 1;
        await new Promise((r) => setTimeout(r, Math.floor(random() * 20)));
        const [procs] = await o.killer.query(
          'SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()',
        );
        for (const p of procs as { ID: string }[])
          await o.killer.query(`KILL ${p.ID}`).catch(() => undefined);
      }
      try {
        await delivery;
        break;
      } catch (err) {
        // Lambda retries a batch whose invocation failed; so do we, a bounded number of times.
        report.invocationsRetried += 1;
        if (attempt >= 10) throw err;
      }
    }
    o.onProgress?.(report.events);
  }
  return report;
}

export interface RowDiff {
  /** Online rows the offline table does not have. */
  lost: number;
  /** Rows on both sides with other values, plus offline rows online does not have. */
  differing: number;
}

const KEYS: Record<keyof typeof WORKLOAD_TABLES, string> = { kv: 'id', mixed: 'a, b' };

/** Compares every row of every workload table by key, with exact values. */
export async function diffRows(online: Connection, offline: Connection, schema: string): Promise<RowDiff> {
  const diff: RowDiff = { lost: 0, differing: 0 };
  for (const [table, key] of Object.entries(KEYS)) {
    const sql = `SELECT * FROM \`${schema}\`.${table} ORDER BY ${key}`;
    const [a] = (await online.query(sql)) as unknown as [Record<string, unknown>[]];
    const [b] = (await offline.query(sql)) as unknown as [Record<string, unknown>[]];
    const keyOf = (r: Record<string, unknown>) =>
      key
        .split(', ')
        .map((k) => String(r[k]))
        .join('\u0000');
    const off = new Map(b.map((r) => [keyOf(r), r]));
    for (const row of a) {
      const other = off.get(keyOf(row));
      off.delete(keyOf(row));
      if (!other) diff.lost += 1;
      else if (JSON.stringify(row) !== JSON.stringify(other)) diff.differing += 1;
    }
    diff.differing += off.size;
  }
  return diff;
}
