import type { RepairAnswer, RowDrift } from '../../web/types';
import { expectOk } from '../api';
import { EXIT, type ExitCode, usage } from '../exit';
import { clean, keyText, plural } from '../format';
import { type Command, printJson } from '../io';

export const VERIFY_HELP = `Usage: cdc-mirror verify --source S --table schema.table [--where COND] [--chunk-size N] [--rate R]
                         [--repair [--delete-extra] [--yes]]
       cdc-mirror verify ID

Compares an online table with its offline twin (as the manual entry of --source maps it) and reports keys
missing offline, keys extra offline, and rows differing with their columns. Only digests cross the network
for equal chunks; online reads are paced to --rate rows/s (default: unpaced).
  --where COND     the rows to verify (the manual-sync condition grammar); every row by default
  --repair         then copy the missing and differing rows from online (asks first, as sync --run does)
  --delete-extra   with --repair: also delete offline rows online lacks (they may be someone's test data)
  --yes, -y        do not ask (required when stdin is not a terminal)
  ID               show a verification already run

Exit code 0 when the tables are (or were repaired to be) equal, 1 when drift remains.`;

interface VerifyAnswer {
  verifyId: string;
  targetTable?: string;
  equal?: boolean;
  rows: RowDrift | null;
  schema?: { ddl: string[] };
}

const SHOWN = 20;

function render(cmd: Command, v: VerifyAnswer & { rows: RowDrift }): string[] {
  const r = v.rows;
  const out = [
    `${plural(r.rows, 'row')} compared in ${plural(r.chunks, 'chunk')} (${r.chunksDiffering} differing), ${r.durationMs} ms` +
      (v.targetTable ? ` against ${clean(v.targetTable)}` : ''),
  ];
  const list = (title: string, keys: string[]) => {
    if (!keys.length) return;
    out.push(cmd.io.paint('bold', `${title} (${keys.length}):`));
    for (const k of keys.slice(0, SHOWN)) out.push(`  ${k}`);
    if (keys.length > SHOWN) out.push(`  … ${keys.length - SHOWN} more (--json for all)`);
  };
  list('missing offline', r.missing.map(keyText));
  list('extra offline', r.extra.map(keyText));
  list(
    'differing',
    r.differing.map((d) => `${keyText(d.key)}: ${d.columns.map(clean).join(', ')}`),
  );
  const drift = r.missing.length + r.extra.length + r.differing.length;
  out.push(drift ? cmd.io.paint('red', `drift: ${plural(drift, 'row')}`) : cmd.io.paint('green', 'equal'));
  out.push(`verification ${v.verifyId}`);
  return out;
}

export async function verifyCommand(cmd: Command): Promise<ExitCode> {
  const api = await cmd.api();
  const say = (line: string) => (cmd.json ? cmd.io.err(line) : cmd.io.out(line));
  if (cmd.positionals.length) {
    if (cmd.positionals.length > 1) throw usage('verify takes one verification id');
    const id = cmd.positionals[0] as string;
    const answer = await api.request('GET', `/verify/${encodeURIComponent(id)}`);
    const stored = expectOk<VerifyAnswer & { status: string }>(answer);
    if (cmd.json) printJson(cmd, answer.text);
    if (!stored.rows || stored.status === 'running') {
      say(`verification ${clean(stored.verifyId)} is ${clean(stored.status)}`);
      return stored.status === 'failed' ? EXIT.failed : EXIT.ok;
    }
    const r = stored.rows;
    if (!cmd.json) for (const line of render(cmd, { ...stored, rows: r })) say(line);
    return r.missing.length + r.extra.length + r.differing.length ? EXIT.failed : EXIT.ok;
  }
  const need = (name: string) => {
    const v = cmd.values[name];
    if (typeof v !== 'string' || !v) throw usage(`verify needs --${name} (see cdc-mirror verify --help)`);
    return v;
  };
  const whole = (name: string) => {
    const v = cmd.values[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !/^\d+$/.test(v))
      throw usage(`--${name} is a whole number, not "${clean(String(v))}"`);
    return Number(v);
  };
  if (!cmd.values.repair && (cmd.values['delete-extra'] || cmd.values.yes))
    throw usage('--delete-extra and --yes go with --repair');
  const chunkSize = whole('chunk-size');
  const rate = whole('rate');
  const body = {
    source: need('source'),
    table: need('table'),
    ...(typeof cmd.values.where === 'string' ? { where: cmd.values.where } : {}),
    ...(chunkSize !== undefined ? { chunkSize } : {}),
    ...(rate !== undefined ? { rowsPerSecond: rate } : {}),
  };
  if (cmd.values.repair && !cmd.values.yes && !cmd.io.stdinIsTTY)
    throw usage('refusing to repair without --yes: stdin is not a terminal, so nobody can confirm.');
  const answer = await api.request('POST', '/verify', { body });
  const v = expectOk<VerifyAnswer>(answer);
  if (!v.rows) {
    // The offline table does not exist: the schema report has the CREATE TABLE that would add it.
    if (cmd.json) printJson(cmd, answer.text);
    else {
      say(cmd.io.paint('red', `the offline table ${clean(v.targetTable ?? '')} does not exist`));
      for (const d of v.schema?.ddl ?? []) say(clean(d));
    }
    return EXIT.failed;
  }
  const rows = v.rows;
  if (cmd.json && !cmd.values.repair) printJson(cmd, answer.text);
  else for (const line of render(cmd, { ...v, rows })) say(line);
  const drift = rows.missing.length + rows.extra.length + rows.differing.length;
  if (!cmd.values.repair || drift === 0) return drift ? EXIT.failed : EXIT.ok;

  const deleteExtra = Boolean(cmd.values['delete-extra']);
  const dry = expectOk<RepairAnswer>(
    await api.request('POST', `/verify/${v.verifyId}/repair`, { body: { dryRun: true, deleteExtra } }),
  );
  if (!cmd.values.yes) {
    const reply = await cmd.io.ask(
      `\nRepair offline: copy ${plural(dry.copied, 'row')} from online${deleteExtra ? `, delete ${plural(dry.deleted, 'extra row')}` : ''}? [y/N] `,
    );
    if (!/^\s*y(es)?\s*$/i.test(reply)) {
      cmd.io.err('Nothing written.');
      return EXIT.failed;
    }
  }
  const repaired = await api.request('POST', `/verify/${v.verifyId}/repair`, {
    body: { dryRun: false, deleteExtra },
  });
  const r = expectOk<RepairAnswer>(repaired);
  if (cmd.json) printJson(cmd, repaired.text);
  const left = r.remaining ? r.remaining.missing + r.remaining.extra + r.remaining.differing : 0;
  say(
    `repaired: ${plural(r.copied, 'row')} copied, ${plural(r.deleted, 'row')} deleted; ` +
      (left
        ? cmd.io.paint('red', `${plural(left, 'row')} still differ`)
        : cmd.io.paint('green', 'now equal')),
  );
  return left ? EXIT.failed : EXIT.ok;
}
