import { expectOk } from '../api';
import { EXIT, type ExitCode, usage } from '../exit';
import { clean, millis, table } from '../format';
import { type Command, printJson } from '../io';

export const STATUS_HELP = `Usage: cdc-mirror status

CDC replication per offline target: each partition's applied offset, replication lag and time since the
last applied batch, rows applied in the last hour and day, open dead letters; and the configured CDC entries.`;

interface Counts {
  inserted?: number;
  updated?: number;
  deleted?: number;
  conflicts?: number;
  deadLettered?: number;
}
interface StatusAnswer {
  targets?: {
    target: string;
    partitions?: {
      topic: string;
      partition: number;
      appliedOffset?: string;
      sourceTime?: string | null;
      appliedAt?: string | null;
      lagMs?: number | null;
      sinceAppliedMs?: number | null;
    }[];
    lastHour?: Counts;
    lastDay?: Counts;
    deadLettersOpen?: number;
  }[];
  entries?: { name: string; topics?: string[]; target: string; enabled?: boolean }[];
}

const counts = (c: Counts | undefined) =>
  c
    ? `${c.inserted ?? 0} inserted, ${c.updated ?? 0} updated, ${c.deleted ?? 0} deleted, ` +
      `${c.conflicts ?? 0} conflicts, ${c.deadLettered ?? 0} dead-lettered`
    : '-';

export async function statusCommand(cmd: Command): Promise<ExitCode> {
  if (cmd.positionals.length) throw usage('status takes no arguments');
  const api = await cmd.api();
  const answer = await api.request('GET', '/status');
  const body = expectOk<StatusAnswer>(answer);
  if (cmd.json) {
    printJson(cmd, answer.text);
    return EXIT.ok;
  }
  const p = cmd.io.paint;
  for (const t of body.targets ?? []) {
    cmd.io.out(p('bold', clean(t.target)));
    const parts = t.partitions ?? [];
    if (parts.length)
      for (const line of table(
        ['TOPIC', 'PARTITION', 'APPLIED OFFSET', 'LAG', 'SINCE APPLIED', 'SOURCE TIME (UTC)'],
        parts.map((x) => [
          x.topic,
          String(x.partition),
          String(x.appliedOffset ?? '-'),
          millis(x.lagMs),
          millis(x.sinceAppliedMs),
          String(x.sourceTime ?? '-'),
        ]),
        [80, 9, 20, 12, 12, 23],
      ))
        cmd.io.out(`  ${line}`);
    else cmd.io.out('  nothing applied yet');
    cmd.io.out(`  last hour: ${counts(t.lastHour)}`);
    cmd.io.out(`  last day:  ${counts(t.lastDay)}`);
    const open = t.deadLettersOpen ?? 0;
    cmd.io.out(
      `  open dead letters: ${open ? p('red', String(open)) : '0'}${open ? ` (cdc-mirror dead-letters --target ${clean(t.target)} --status open)` : ''}`,
    );
  }
  const entries = body.entries ?? [];
  if (entries.length) {
    cmd.io.out(p('bold', 'CDC entries'));
    for (const line of table(
      ['NAME', 'TARGET', 'ENABLED', 'TOPICS'],
      entries.map((e) => [e.name, e.target, e.enabled === false ? 'no' : 'yes', (e.topics ?? []).join(', ')]),
      [80, 40, 7, 200],
    ))
      cmd.io.out(`  ${line}`);
  }
  if (!(body.targets ?? []).length && !entries.length) cmd.io.out('No CDC targets configured.');
  return EXIT.ok;
}
