import type { Querier } from './connection';
import type { OfflineTarget } from './guard';
import { PromiseCache } from './promise-cache';

/** One of cdc-mirror's own tables in the `cdc_mirror` schema of an offline database. */
export interface BookkeepingTable {
  name: string;
  create: string;
  /**
   * Columns added after the first release (`create` has them too): `column name → ADD COLUMN clause`,
   * applied when a table an earlier release created lacks them.
   */
  added?: Record<string, string>;
}

const created = new WeakMap<OfflineTarget, PromiseCache<void>>();

/**
 * Creates (or brings up to date) one of our own tables, once per target per container. Takes an
 * OfflineTarget, so bookkeeping is written only where the guard has proven the server offline. A
 * failure is not remembered: the next call tries again.
 */
export function ensureTable(target: OfflineTarget, table: BookkeepingTable): Promise<void> {
  let perTarget = created.get(target);
  if (!perTarget) {
    perTarget = new PromiseCache();
    created.set(target, perTarget);
  }
  return perTarget.get(table.name, async () => {
    await target.execute({ sql: 'CREATE DATABASE IF NOT EXISTS `cdc_mirror`', params: [] });
    await target.execute({ sql: table.create, params: [] });
    const added = Object.entries(table.added ?? {});
    if (added.length === 0) return;
    const have = new Set(
      (
        await target.select<{ c: string }>(
          `SELECT LOWER(COLUMN_NAME) AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'cdc_mirror' AND TABLE_NAME = ?`,
          [table.name],
        )
      ).map((r) => String(r.c)),
    );
    for (const [column, clause] of added) {
      if (have.has(column)) continue;
      try {
        await target.execute({
          sql: `ALTER TABLE \`cdc_mirror\`.\`${table.name}\` ADD COLUMN ${clause}`,
          params: [],
        });
      } catch (err) {
        // Another container added it between our look and our ALTER: that is the state we want.
        if (![1060, 1061].includes((err as { errno?: number }).errno ?? 0)) throw err;
      }
    }
  });
}

/** True when a read failed only because one of our tables does not exist yet (nothing recorded so far). */
export function isMissingTable(err: unknown): boolean {
  return (err as { errno?: number } | null)?.errno === 1146;
}

/** Reads from one of our tables; a table that was never created reads as empty. */
export async function selectOrEmpty<T>(run: () => Promise<T[]>): Promise<T[]> {
  try {
    return await run();
  } catch (err) {
    if (isMissingTable(err)) return [];
    throw err;
  }
}

/** Now as DATETIME(6) text in UTC (the sessions run with time_zone '+00:00'). */
export const utcNow = (): string => new Date().toISOString().replace('T', ' ').replace('Z', '');

const MARKER = '…[truncated]';

/**
 * `text` cut to at most `maxBytes` of UTF-8, on a character boundary, with a marker when cut. Lone
 * surrogates become U+FFFD, so the result always encodes.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return bytes.toString('utf8');
  let end = Math.max(0, maxBytes - Buffer.byteLength(MARKER));
  // Back off to the first byte of a character.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end -= 1;
  return `${bytes.subarray(0, end).toString('utf8')}${MARKER}`;
}

/**
 * A long run (a manual-sync job, a verification) goes on over several invocations, each sent by the one
 * before. Lambda may deliver an asynchronous invocation twice, and a person may resume a run that looks
 * stale while its invocation still works: each invocation claims the run, by bumping its `invocations`
 * count, and writes only while the count is still its own (`claimFence`). `expected` is the count the
 * sender held: a second delivery finds it bumped already and gets undefined (nothing to do).
 */
export async function claimRun(
  q: Querier,
  where: { table: string; idColumn: string; id: string },
  expected?: number,
): Promise<number | undefined> {
  // LAST_INSERT_ID(expr) hands back the new count from the same statement (MySQL, MariaDB and TiDB).
  const result = await q.execute({
    sql: `UPDATE ${where.table} SET invocations = LAST_INSERT_ID(invocations + 1), updated_at = ?
      WHERE ${where.idColumn} = ? AND status = 'running'${expected === undefined ? '' : ' AND invocations = ?'}`,
    params: expected === undefined ? [utcNow(), where.id] : [utcNow(), where.id, String(expected)],
  });
  return result.affectedRows === 1 ? Number(result.insertId) : undefined;
}

/** `AND invocations = ?`: a write that applies only while the run is still the claimer's (see claimRun). */
export const claimFence = (claim: number | undefined) =>
  claim === undefined ? { sql: '', params: [] } : { sql: ' AND invocations = ?', params: [String(claim)] };

/** Another invocation claimed the run since this one did: this one stops, writing nothing more. */
export class RunSuperseded extends Error {
  override name = 'RunSuperseded';
}

/**
 * JSON for our own tables that keeps bytes as bytes (keys and cursors may be binary): a Buffer anywhere is
 * stored as `{"$hex": "…"}` and read back as a Buffer.
 */
export const storeJson = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && (x as { type?: string }).type === 'Buffer'
      ? { $hex: Buffer.from((x as { data: number[] }).data).toString('hex') }
      : x,
  );

export const loadJson = (text: string): unknown =>
  JSON.parse(text, (_k, x: unknown) =>
    x && typeof x === 'object' && typeof (x as { $hex?: unknown }).$hex === 'string'
      ? Buffer.from((x as { $hex: string }).$hex, 'hex')
      : x,
  );
