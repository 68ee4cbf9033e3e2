import { existsSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import pkg from '../package.json';
import { type Api, localApi, localConfigPath, remoteApi } from './api';
import { CATALOG_HELP, catalogCommand } from './commands/catalog';
import { DEAD_LETTERS_HELP, deadLettersCommand } from './commands/dead-letters';
import { JOBS_HELP, jobsCommand } from './commands/jobs';
import { STATUS_HELP, statusCommand } from './commands/status';
import { SYNC_HELP, syncCommand } from './commands/sync';
import { VERIFY_HELP, verifyCommand } from './commands/verify';
import { CliError, EXIT, EXIT_CODES_HELP, type ExitCode, usage } from './exit';
import { clean } from './format';
import { type Command, type Io, processIo } from './io';

/**
 * `cdc-mirror`: the operators' command line for the manual-sync API (docs/http-api.md), against the deployed
 * API (--api) or, without it, the real handler in this process against the config's databases.
 */
type Options = NonNullable<ParseArgsConfig['options']>;

const GLOBAL: Options = {
  api: { type: 'string' },
  token: { type: 'string' },
  region: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};

const COMMANDS: Record<string, { options: Options; help: string; run: (cmd: Command) => Promise<ExitCode> }> =
  {
    sync: {
      options: {
        source: { type: 'string' },
        table: { type: 'string' },
        where: { type: 'string' },
        run: { type: 'boolean' },
        mode: { type: 'string' },
        limit: { type: 'string' },
        yes: { type: 'boolean', short: 'y' },
        detach: { type: 'boolean' },
        interval: { type: 'string' },
      },
      help: SYNC_HELP,
      run: syncCommand,
    },
    jobs: {
      options: {
        status: { type: 'string' },
        table: { type: 'string' },
        who: { type: 'string' },
        limit: { type: 'string' },
        watch: { type: 'string' },
        detach: { type: 'boolean' },
        interval: { type: 'string' },
      },
      help: JOBS_HELP,
      run: jobsCommand,
    },
    'dead-letters': {
      options: {
        target: { type: 'string' },
        status: { type: 'string' },
        topic: { type: 'string' },
        table: { type: 'string' },
        'error-class': { type: 'string' },
        limit: { type: 'string' },
        'after-id': { type: 'string' },
      },
      help: DEAD_LETTERS_HELP,
      run: deadLettersCommand,
    },
    status: { options: {}, help: STATUS_HELP, run: statusCommand },
    catalog: { options: {}, help: CATALOG_HELP, run: catalogCommand },
    verify: {
      options: {
        source: { type: 'string' },
        table: { type: 'string' },
        where: { type: 'string' },
        'chunk-size': { type: 'string' },
        rate: { type: 'string' },
        repair: { type: 'boolean' },
        'delete-extra': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
      },
      help: VERIFY_HELP,
      run: verifyCommand,
    },
  };

const WHERE_HELP = `Where it runs:
  --api URL       the deployed API (or CDC_MIRROR_API_URL), over HTTPS. Requests are signed with SigV4 for
                  execute-api (IAM auth) with credentials from the standard AWS chain (AWS_PROFILE, SSO,
                  environment, roles); the region from --region, AWS_REGION or the execute-api host name.
  --token T       send T as a bearer token instead (JWT auth), or CDC_MIRROR_TOKEN
  (no --api)      local mode: the real manual-sync handler runs in this process against the databases of
                  --config FILE, SYNC_CONFIG or ./sync.config.yml (as \`npm run dev\` serves it)
  --json          print the API's answer exactly as sent (for scripts); messages stay on stderr`;

export const HELP = `cdc-mirror ${pkg.version}: copy chosen rows from online tables to their offline twins, follow the
jobs, look after CDC dead letters and lag.

Usage: cdc-mirror <command> [options]      (cdc-mirror <command> --help for its options)

Commands:
  sync --source DB --table S.T --where COND [--run [--yes]] [--mode upsert|replace] [--limit N]
                                 dry run (the default) or copy the rows COND selects
  jobs [--status S] [--table S.T] [--who W]
                                 manual-sync jobs, newest first
  jobs ID | --watch ID | cancel ID | resume ID
                                 one job; follow it; cancel it; go on with it
  dead-letters [--target T] [--status open]
                                 CDC records that could not be applied
  dead-letters retry ID… | discard ID
  status                         CDC lag and counts per offline target
  catalog                        what may be synced, and where it goes
  verify --source DB --table S.T [--where COND] [--repair [--delete-extra] [--yes]] | verify ID
                                 is the offline table in step? (exit 1 on drift); repair it

${WHERE_HELP}

${EXIT_CODES_HELP}`;

const commandHelp = (name: string) => `${COMMANDS[name]?.help}\n\n${WHERE_HELP}\n\n${EXIT_CODES_HELP}`;

/** Options that take a value, in any command: their value is never the command's name. */
const TAKES_VALUE = new Set(
  [GLOBAL, ...Object.values(COMMANDS).map((c) => c.options)].flatMap((o) =>
    Object.entries(o)
      .filter(([, spec]) => spec.type === 'string')
      .map(([name]) => name),
  ),
);

/** The index of the command word: the first argument that is neither an option nor an option's value. */
function commandIndex(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return -1;
    if (arg.startsWith('--')) {
      if (!arg.includes('=') && TAKES_VALUE.has(arg.slice(2))) i++;
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) continue;
    return i;
  }
  return -1;
}

function parse(argv: string[]) {
  const at = commandIndex(argv);
  let name = at >= 0 ? (argv[at] as string) : undefined;
  const rest = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 1)] : argv;
  let helpFor: string | undefined;
  if (name === 'help') {
    helpFor = rest.find((a) => !a.startsWith('-')) ?? '';
    if (helpFor && !COMMANDS[helpFor])
      throw usage(`unknown command "${clean(helpFor)}" (see cdc-mirror --help)`);
    return { name: undefined, values: {}, positionals: [], helpFor };
  }
  if (name !== undefined && !COMMANDS[name])
    throw usage(
      `unknown command "${clean(name)}": sync, jobs, dead-letters, status, catalog or verify (see cdc-mirror --help)`,
    );
  const options = { ...GLOBAL, ...(name ? COMMANDS[name]?.options : {}) };
  try {
    const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
    if (values.help) helpFor = name ?? '';
    return { name, values: values as Command['values'], positionals, helpFor };
  } catch (err) {
    if (!String((err as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) throw err;
    name ??= '';
    throw usage(`${(err as Error).message} (see cdc-mirror ${name ? `${name} ` : ''}--help)`);
  }
}

async function openApi(values: Command['values']): Promise<Api> {
  const url = (values.api as string | undefined) || process.env.CDC_MIRROR_API_URL;
  const token = (values.token as string | undefined) || process.env.CDC_MIRROR_TOKEN;
  if (url) {
    if (values.config)
      throw usage('--config is for local mode; with --api the deployed API reads its own config');
    return remoteApi({
      url,
      ...(token ? { token } : {}),
      ...(values.region ? { region: values.region as string } : {}),
    });
  }
  if (values.token) throw usage('--token goes with --api URL (the deployed API)');
  const path = localConfigPath(values.config as string | undefined);
  if (!existsSync(path))
    throw usage(
      `no --api given (nor CDC_MIRROR_API_URL), and no config for local mode at ${clean(path)}: ` +
        'give --api URL for the deployed API, or --config FILE',
    );
  return localApi(path);
}

/** Runs one command line; resolves with the exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<ExitCode> {
  let api: Api | undefined;
  let json = false;
  try {
    const { name, values, positionals, helpFor } = parse(argv);
    json = Boolean(values.json);
    if (values.version) {
      io.out(pkg.version);
      return EXIT.ok;
    }
    if (helpFor !== undefined) {
      io.out(helpFor ? commandHelp(helpFor) : HELP);
      return EXIT.ok;
    }
    if (!name) {
      io.err(HELP);
      return EXIT.usage;
    }
    const command = COMMANDS[name];
    if (!command) throw usage(`unknown command "${clean(name)}"`);
    const cmd: Command = {
      io,
      json,
      values,
      positionals,
      async api() {
        api ??= await openApi(values);
        return api;
      },
    };
    return await command.run(cmd);
  } catch (err) {
    io.endStatus();
    if (err instanceof CliError) {
      if (json && err.jsonText) io.out(err.jsonText.trimEnd());
      io.err(`cdc-mirror: ${err.message}`);
      return err.exitCode;
    }
    io.err(`cdc-mirror: unexpected error: ${clean((err as Error)?.message ?? String(err))}`);
    if (process.env.CDC_MIRROR_DEBUG) io.err(String((err as Error)?.stack));
    return EXIT.failed;
  } finally {
    await api?.close().catch(() => undefined);
  }
}

/** The bin entry (bin/cdc-mirror.cjs): runs the command line and exits with its code. */
export function run(): void {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Everything is closed by now; a keep-alive socket must not hold the shell prompt.
    setTimeout(() => process.exit(code), 200).unref();
  });
}
