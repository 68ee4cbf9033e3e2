import { randomUUID } from 'node:crypto';
import { type Api, type ApiAnswer, expectOk, UnreachableError } from '../api';
import { CliError, EXIT, type ExitCode, usage } from '../exit';
import { followingNote, followJob, isJobView, type JobView, jobOutcome } from '../follow';
import { clean, cut, keyText, count as n, plural, value } from '../format';
import { type Command, printJson } from '../io';

export const SYNC_HELP = `Usage: cdc-mirror sync --source DB --table SCHEMA.TABLE --where CONDITION [options]

Copies the rows CONDITION selects from an online table to its offline twin. Without --run it is a dry run:
it prints what would change (inserts with their values, updates old → new per column, conflicts) and writes
nothing.

Options:
  --source DB          the online database (a name in the config's "databases")
  --table S.T          the online table, schema.table
  --where CONDITION    which rows, in SQL: id IN (1,2), code = 'a' AND id < 10 (columns, literals and
                       comparisons only)
  --mode upsert|replace
                       upsert (default) keeps offline-only columns and reports unique-key conflicts;
                       replace uses REPLACE INTO
  --limit N            refuse when more than N rows match (default: the config's defaultLimit)
  --run                copy for real: shows the dry run, asks for confirmation, then follows the job with a
                       progress bar until it ends
  --yes, -y            do not ask (required with --run when stdin is not a terminal)
  --detach             with --run and --api: print the job id and return without following it
  --interval SECONDS   how often to poll the job (default 1)`;

interface DryRunAnswer {
  jobId?: string;
  source?: string;
  table?: string;
  targetTable?: string;
  mode?: string;
  matched?: number;
  wouldInsert?: number;
  wouldUpdate?: number;
  unchanged?: number;
  conflicts?: number;
  preview?: PreviewRow[];
  previewCount?: number;
  previewTruncated?: boolean;
  warnings?: Warning[];
  durationMs?: number;
}

interface PreviewRow {
  key: Record<string, unknown>;
  action: 'insert' | 'update' | 'unchanged' | 'conflict' | string;
  row?: Record<string, unknown>;
  changedColumns?: string[];
  changes?: Record<string, { offline: unknown; online: unknown }>;
  conflictWith?: string;
}

interface Warning {
  kind?: string;
  message?: string;
  column?: string;
  columns?: string[];
  keys?: Record<string, unknown>[];
  count?: number;
}

function required(cmd: Command, name: string): string {
  const v = cmd.values[name];
  if (typeof v !== 'string' || v.trim() === '')
    throw usage(`sync needs --${name} (see cdc-mirror sync --help)`);
  return v;
}

function request(cmd: Command) {
  if (cmd.positionals.length)
    throw usage(`sync takes no arguments, only options: unexpected "${clean(cmd.positionals[0] ?? '')}"`);
  const source = required(cmd, 'source');
  const table = required(cmd, 'table');
  const where = required(cmd, 'where');
  if (!/^[^.\s`]+\.[^.\s`]+$/.test(table)) throw usage(`--table: "${clean(table)}" is not schema.table`);
  const mode = (cmd.values.mode as string | undefined) ?? 'upsert';
  if (mode !== 'upsert' && mode !== 'replace')
    throw usage(`--mode is upsert or replace, not "${clean(mode)}"`);
  const limitText = cmd.values.limit as string | undefined;
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!/^\d+$/.test(limitText ?? '') || !Number.isSafeInteger(limit) || limit < 1))
    throw usage(`--limit is a whole number of rows, at least 1, not "${clean(limitText ?? '')}"`);
  return { source, table, where, mode, ...(limit !== undefined ? { limit } : {}) };
}

/** The dry run as people read it: the counts, each previewed row, "N of M", warnings. */
export function renderDryRun(cmd: Command, req: ReturnType<typeof request>, d: DryRunAnswer): string[] {
  const p = cmd.io.paint;
  const lines: string[] = [];
  const target = d.targetTable ? ` → ${clean(d.targetTable)}` : '';
  lines.push(
    `${p('bold', 'Dry run')} of ${clean(d.source ?? req.source)} ${clean(d.table ?? req.table)}${target} (${clean(d.mode ?? req.mode)})`,
  );
  lines.push(`  where ${clean(req.where)}`);
  lines.push(
    `${plural(n(d.matched), 'row')} ${n(d.matched) === 1 ? 'matches' : 'match'}: ${n(d.wouldInsert)} to insert, ${n(d.wouldUpdate)} to update, ` +
      `${n(d.unchanged)} unchanged, ${plural(n(d.conflicts), 'conflict')}`,
  );
  const preview = d.preview ?? [];
  const unchanged: string[] = [];
  if (preview.length) lines.push('');
  for (const row of preview) {
    const key = keyText(row.key);
    if (row.action === 'insert') {
      lines.push(p('green', `+ insert   ${key}`));
      const cells = Object.entries(row.row ?? {});
      const w = Math.max(0, ...cells.map(([c]) => clean(c).length));
      for (const [c, v] of cells) lines.push(`      ${clean(c).padEnd(w)}  ${value(v)}`);
    } else if (row.action === 'update') {
      lines.push(p('yellow', `~ update   ${key}`));
      const changes = Object.entries(row.changes ?? {});
      const w = Math.max(0, ...changes.map(([c]) => clean(c).length));
      for (const [c, ch] of changes)
        lines.push(`      ${clean(c).padEnd(w)}  ${value(ch.offline)} → ${value(ch.online)}`);
      if (!changes.length && row.changedColumns?.length)
        lines.push(`      changes ${row.changedColumns.map(clean).join(', ')}`);
    } else if (row.action === 'conflict') {
      lines.push(
        p('red', `! conflict ${key}`) +
          `: not written, ${clean(cut(row.conflictWith ?? 'a unique key is held', 300))}`,
      );
    } else if (row.action === 'unchanged') unchanged.push(key);
    else lines.push(`? ${clean(String(row.action))} ${key}`);
  }
  if (unchanged.length) {
    const shown = unchanged.slice(0, 20);
    lines.push(
      `= unchanged: ${shown.join('; ')}${unchanged.length > shown.length ? `; … ${unchanged.length - shown.length} more` : ''}`,
    );
  }
  const shownRows = preview.length;
  const total = n(d.matched);
  if (total > 0) {
    lines.push('');
    lines.push(
      d.previewTruncated || shownRows < total
        ? `Showing ${shownRows} of ${plural(total, 'matched row')} (the first ones in key order).`
        : `Showing all ${plural(total, 'matched row')}.`,
    );
  }
  const warnings = d.warnings ?? [];
  if (warnings.length) {
    lines.push('');
    lines.push(p('yellow', `${plural(warnings.length, 'warning')}:`));
    for (const w of warnings) {
      const about: string[] = [];
      if (w.columns?.length) about.push(`columns ${w.columns.map(clean).join(', ')}`);
      if (w.column) about.push(`column ${clean(w.column)}`);
      if (w.keys?.length) {
        const keys = w.keys.slice(0, 10).map(keyText).join('; ');
        const more = (w.count ?? w.keys.length) - Math.min(10, w.keys.length);
        about.push(`rows ${keys}${more > 0 ? `; … ${more} more` : ''}`);
      } else if (w.count !== undefined) about.push(plural(w.count, 'row'));
      lines.push(
        `  ${p('yellow', '!')} ${clean(w.kind ?? 'warning')}: ${clean(cut(w.message ?? '', 400))}${about.length ? ` (${about.join('; ')})` : ''}`,
      );
    }
  }
  return lines;
}

/** POST /sync for a run; with no answer at all it is sent again with the same clientToken (one job either way). */
async function postRun(cmd: Command, api: Api, body: Record<string, unknown>): Promise<ApiAnswer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await api.request('POST', '/sync', { body });
    } catch (err) {
      if (!(err instanceof UnreachableError) || attempt >= 3) throw err;
      cmd.io.err(`${err.message}; sending again with the same clientToken (attempt ${attempt + 1} of 3)`);
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
}

export async function syncCommand(cmd: Command): Promise<ExitCode> {
  const req = request(cmd);
  const run = Boolean(cmd.values.run);
  if (!run && (cmd.values.yes || cmd.values.detach))
    throw usage('--yes and --detach go with --run (without it, sync is a dry run)');
  const api = await cmd.api();
  if (cmd.values.detach && api.local)
    throw usage('--detach needs --api: in local mode the job runs in this process, which must stay');
  // Human text goes to stdout, except under --json, where stdout holds only the API's answer.
  const say = (line: string) => (cmd.json ? cmd.io.err(line) : cmd.io.out(line));

  if (!run || !cmd.values.yes) {
    if (run && !cmd.io.stdinIsTTY)
      throw usage(
        'refusing to write without --yes: stdin is not a terminal, so nobody can confirm. ' +
          'Look at the dry run (without --run), then run again with --run --yes.',
      );
    const answer = await api.request('POST', '/sync', { body: { ...req, dryRun: true } });
    const dry = expectOk<DryRunAnswer>(answer);
    if (!run) {
      if (cmd.json) printJson(cmd, answer.text);
      else {
        for (const line of renderDryRun(cmd, req, dry)) say(line);
        say('');
        say('Dry run: nothing was written. Add --run to copy.');
      }
      return EXIT.ok;
    }
    for (const line of renderDryRun(cmd, req, dry)) say(line);
    const writes = n(dry.wouldInsert) + n(dry.wouldUpdate);
    if (writes === 0) {
      say('');
      say('Nothing to write: no matched row differs offline.');
      if (cmd.json) printJson(cmd, answer.text);
      return EXIT.ok;
    }
    const where = dry.targetTable
      ? `the offline ${clean(dry.targetTable)}`
      : `the offline twin of ${clean(req.table)}`;
    const reply = await cmd.io.ask(
      `\nCopy to ${where}: ${plural(n(dry.wouldInsert), 'insert')}, ${plural(n(dry.wouldUpdate), 'update')}? [y/N] `,
    );
    if (!/^\s*y(es)?\s*$/i.test(reply)) {
      cmd.io.err('Nothing written.');
      return EXIT.failed;
    }
  }

  const answer = await postRun(cmd, api, { ...req, dryRun: false, clientToken: randomUUID() });
  // A run that failed answers 422 with its job: the operation failed (1), not a refused request (3).
  if (answer.status === 422 && isJobView(answer.body)) return finish(cmd, answer, answer.body);
  const job = expectOk<JobView>(answer);
  if (!isJobView(job))
    throw new CliError('the API answered the run without a job', EXIT.unavailable, answer.text);
  if (job.status === 'running' && !cmd.values.detach) {
    if (!cmd.json) cmd.io.err(followingNote(api, job.jobId, 'is running'));
    const followed = await followJob(cmd, job.jobId, answer);
    return finish(cmd, followed.answer, followed.job);
  }
  return finish(cmd, answer, job);
}

/** Prints how a job ended (or the answer, under --json) and returns its exit code. */
export function finish(cmd: Command, answer: ApiAnswer, job: JobView): ExitCode {
  const outcome = jobOutcome(cmd, job);
  if (cmd.json) {
    printJson(cmd, answer.text);
    if (outcome.code !== EXIT.ok) for (const line of outcome.lines) cmd.io.err(line);
  } else for (const line of outcome.lines) (outcome.code === EXIT.ok ? cmd.io.out : cmd.io.err)(line);
  return outcome.code;
}
