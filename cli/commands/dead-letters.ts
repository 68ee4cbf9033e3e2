import type { DeadLetterView } from '../../web/types';
import { expectOk } from '../api';
import { EXIT, type ExitCode, usage } from '../exit';
import { clean, cut, table } from '../format';
import { type Command, printJson } from '../io';

export const DEAD_LETTERS_HELP = `Usage:
  cdc-mirror dead-letters [--target T] [--status S] [--topic X] [--table S.T] [--limit N] [--after-id ID]
                                      list CDC records that could not be applied
  cdc-mirror dead-letters retry ID…   apply them again (after fixing the cause); one id or several
  cdc-mirror dead-letters discard ID  give one up (kept, marked discarded, with who did it)

Options:
  --target T           the offline database (needed when the config has more than one CDC target)
  --status S           open, resolved, superseded or discarded
  --topic X, --table S.T, --error-class C
                       only these
  --limit N            at most N (1 to 1000, default 100)
  --after-id ID        the page after this id`;

/** A dead letter as `GET /dead-letters` shows it; every field but the id may be missing from an older API. */
type DeadLetter = Partial<Omit<DeadLetterView, 'id'>> & { id: string };

const ID = /^\d{1,20}$/;

function ids(list: string[], what: string): string[] {
  if (!list.length) throw usage(`${what} needs a dead-letter id (see cdc-mirror dead-letters --help)`);
  for (const id of list) if (!ID.test(id)) throw usage(`"${clean(id)}" is not a dead-letter id (a number)`);
  return list;
}

export async function deadLettersCommand(cmd: Command): Promise<ExitCode> {
  const [sub, ...rest] = cmd.positionals;
  const target = cmd.values.target as string | undefined;
  const api = await cmd.api();
  const query = { target };
  if (sub === 'retry') {
    const list = ids(rest, 'dead-letters retry');
    if (list.length === 1) {
      const id = list[0] as string;
      const answer = await api.request('POST', `/dead-letters/${id}/retry`, { query });
      const result = expectOk<{ status?: string; summary?: { superseded?: number; deadLettered?: number } }>(
        answer,
      );
      const ok = result.status === 'resolved';
      if (cmd.json) printJson(cmd, answer.text);
      else if (ok) cmd.io.out(`Dead letter ${id}: applied, resolved.`);
      if (!ok)
        cmd.io.err(
          `Dead letter ${id}: still fails, left open (${clean(String(result.status ?? 'no status'))}); ` +
            `see its error with cdc-mirror dead-letters${target ? ` --target ${clean(target)}` : ''} --status open`,
        );
      return ok ? EXIT.ok : EXIT.failed;
    }
    const answer = await api.request('POST', '/dead-letters/retry', { query, body: { ids: list } });
    const body = expectOk<{ results?: { id: string; ok: boolean; error?: string }[] }>(answer);
    const results = Array.isArray(body.results) ? body.results : [];
    const failed = results.filter((r) => !r.ok);
    if (cmd.json) printJson(cmd, answer.text);
    else {
      for (const r of results)
        if (r.ok) cmd.io.out(`Dead letter ${clean(String(r.id))}: applied, resolved.`);
        else cmd.io.err(`Dead letter ${clean(String(r.id))}: ${clean(cut(r.error ?? 'failed', 400))}`);
      cmd.io.out(`${results.length - failed.length} of ${results.length} retried successfully.`);
    }
    return failed.length || results.length !== list.length ? EXIT.failed : EXIT.ok;
  }
  if (sub === 'discard') {
    if (rest.length !== 1) throw usage('dead-letters discard takes one id');
    const [id] = ids(rest, 'dead-letters discard');
    const answer = await api.request('POST', `/dead-letters/${id}/discard`, { query });
    const body = expectOk<{ status?: string; discardedBy?: string }>(answer);
    if (cmd.json) printJson(cmd, answer.text);
    else
      cmd.io.out(
        `Dead letter ${id}: ${clean(String(body.status ?? 'discarded'))}${body.discardedBy ? ` by ${clean(body.discardedBy)}` : ''}.`,
      );
    return EXIT.ok;
  }
  if (sub !== undefined)
    throw usage(
      `unknown dead-letters command "${clean(sub)}": retry or discard (see cdc-mirror dead-letters --help)`,
    );
  const limit = cmd.values.limit as string | undefined;
  if (limit !== undefined && !/^\d{1,4}$/.test(limit))
    throw usage('--limit is a whole number from 1 to 1000');
  const afterId = cmd.values['after-id'] as string | undefined;
  if (afterId !== undefined && !ID.test(afterId)) throw usage('--after-id is a dead-letter id (a number)');
  const answer = await api.request('GET', '/dead-letters', {
    query: {
      target,
      status: cmd.values.status as string | undefined,
      topic: cmd.values.topic as string | undefined,
      table: cmd.values.table as string | undefined,
      errorClass: cmd.values['error-class'] as string | undefined,
      limit,
      afterId,
    },
  });
  const body = expectOk<{ target?: string; deadLetters?: DeadLetter[] }>(answer);
  if (cmd.json) {
    printJson(cmd, answer.text);
    return EXIT.ok;
  }
  const letters = Array.isArray(body.deadLetters) ? body.deadLetters : [];
  const where = body.target ? ` in ${clean(body.target)}` : '';
  if (!letters.length) {
    cmd.io.out(`No dead letters${where}.`);
    return EXIT.ok;
  }
  cmd.io.out(`${letters.length} dead letter${letters.length === 1 ? '' : 's'}${where}:`);
  for (const line of table(
    ['ID', 'STATUS', 'TABLE', 'POSITION', 'TRIES', 'LAST SEEN (UTC)', 'ERROR'],
    letters.map((d) => [
      String(d.id),
      String(d.status ?? ''),
      String(d.table ?? '-'),
      `${d.topic ?? '?'}-${d.partition ?? '?'}@${d.offset ?? '?'}${d.rowIndex ? `#${d.rowIndex}` : ''}`,
      String(d.attempts ?? ''),
      String(d.lastSeen ?? '').replace(/\.\d+$/, ''),
      `${d.errorClass ? `[${d.errorClass}] ` : ''}${d.error ?? ''}`,
    ]),
    [20, 12, 60, 80, 5, 19, 160],
  ))
    cmd.io.out(line);
  if (letters.length >= Number(limit ?? 100))
    cmd.io.out(`(more may follow: --after-id ${clean(String(letters[letters.length - 1]?.id))})`);
  return EXIT.ok;
}
