import { expectOk } from '../api';
import { EXIT, type ExitCode, usage } from '../exit';
import { clean, table } from '../format';
import { type Command, printJson } from '../io';

export const CATALOG_HELP = `Usage: cdc-mirror catalog

What may be synced and where it goes: each online source, its offline target, the tables allowed (and the
offline table each maps to), the row limits; the CDC entries; how the API authenticates.`;

interface CatalogAnswer {
  sources?: {
    source: string;
    target: string;
    tables?: { table: string; targetTable?: string }[];
    defaultLimit?: number;
    maxLimit?: number;
  }[];
  cdc?: { name: string; target: string; enabled?: boolean; topics?: string[] }[];
  auth?: { type?: string };
  grammar?: { examples?: string[] };
}

export async function catalogCommand(cmd: Command): Promise<ExitCode> {
  if (cmd.positionals.length) throw usage('catalog takes no arguments');
  const api = await cmd.api();
  const answer = await api.request('GET', '/catalog');
  const body = expectOk<CatalogAnswer>(answer);
  if (cmd.json) {
    printJson(cmd, answer.text);
    return EXIT.ok;
  }
  for (const s of body.sources ?? []) {
    cmd.io.out(
      `${clean(s.source)} → ${clean(s.target)} (limit ${s.defaultLimit ?? '?'} by default, at most ${s.maxLimit ?? '?'})`,
    );
    for (const line of table(
      ['TABLE', 'OFFLINE TABLE'],
      (s.tables ?? []).map((t) => [t.table, t.targetTable ?? t.table]),
      [120, 120],
    ))
      cmd.io.out(`  ${line}`);
  }
  for (const e of body.cdc ?? [])
    cmd.io.out(`cdc ${clean(e.name)} → ${clean(e.target)}${e.enabled === false ? ' (disabled)' : ''}`);
  if (body.auth?.type) cmd.io.out(`auth: ${clean(body.auth.type)}`);
  for (const ex of body.grammar?.examples ?? []) cmd.io.out(`example condition: ${clean(ex)}`);
  return EXIT.ok;
}
