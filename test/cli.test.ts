import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { signRequest } from '../cli/sigv4';
import { type HttpHandler, serveHttpFunction } from '../dev/http';
import { createDevSchema, ensureLocalServers, type LocalDatabases } from '../dev/pipeline';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { closeAllDatabases } from '../shared/db/connection';
import { freePort } from './harness/mysql-server';
import { lambdaContext, mskEvent } from './support/kafka';
import { rawConnection } from './support/raw-connection';

/**
 * The `cdc-mirror` command line as an operator runs it: the real binary (bin/cdc-mirror.cjs) in a child
 * process, in local mode (the handler in its own process, against the databases of ./sync.config.yml) and
 * against the API over HTTP (dev/http.ts serving the real handler, --api … --token …). Private servers on
 * free ports with the dev schema, as test/dev-pipeline.test.ts starts them. Every command here is checked
 * end to end against the routes of docs/http-api.md.
 */
const BIN = join(__dirname, '..', 'bin', 'cdc-mirror.cjs');
const API_USER = 'qa-alice';

let dir: string;
let configPath: string;
let dbs: LocalDatabases;
let servers: Awaited<ReturnType<typeof ensureLocalServers>>;
let online: Connection;
let offline: Connection;
let api: { server: Server; url: string };
let cdc: (event: unknown, context: unknown) => Promise<BatchSummary>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of an operator's shell: nothing of this test process's configuration leaks in. */
function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(env))
    if (/^(SYNC_CONFIG|CDC_MIRROR_|AWS_|POWERTOOLS_|IS_LOCAL)/.test(k)) delete env[k];
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

function cli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? dir, env: cleanEnv(opts.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Through a pseudo-terminal (util-linux `script`), answering the confirmation prompt with `answer`. */
function cliOnTerminal(args: string[], answer: string): Promise<Run> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: dir,
      env: cleanEnv({ TERM: 'dumb' }),
    });
    let stdout = '';
    let answered = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      if (!answered && stdout.includes('[y/N]')) {
        answered = true;
        child.stdin.write(`${answer}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      child.stdin.end();
      resolve({ code, stdout, stderr: '' });
    });
  });
}

const remote = (...args: string[]) => ['--api', api.url, '--token', 'x', ...args];

async function rows(conn: Connection, sql: string) {
  return (await conn.query(sql))[0] as Record<string, unknown>[];
}

const JOB_ID = /Job ([0-9a-f-]{36})/;

beforeAll(async () => {
  const [onPort, offPort] = [await freePort(), await freePort()];
  dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-cli-'));
  dbs = {
    online: { name: 'shop_online', url: `mysql://root@127.0.0.1:${onPort}` },
    offline: { name: 'shop_offline', url: `mysql://root@127.0.0.1:${offPort}` },
  };
  configPath = join(dir, 'sync.config.yml');
  writeFileSync(
    configPath,
    stringify({
      databases: {
        shop_online: { role: 'online', url: dbs.online.url },
        shop_offline: { role: 'offline', url: dbs.offline.url },
      },
      cdc: [{ topics: ['dbserver1.shop.t_config'], target: 'shop_offline' }],
      manual: [
        // One row per chunk and no time budget: every run of t_user goes on asynchronously (202).
        {
          source: 'shop_online',
          target: 'shop_offline',
          tables: ['shop.t_user'],
          chunkSize: 1,
          timeBudgetMs: 0,
        },
        { source: 'shop_online', target: 'shop_offline', tables: ['shop.*'] },
      ],
    }),
  );
  servers = await ensureLocalServers(dbs);
  await createDevSchema(dbs);
  online = await rawConnection(dbs.online.url);
  offline = await rawConnection(dbs.offline.url);
  const at = "'2026-01-01 00:00:00.000'";
  await online.query(
    `INSERT INTO shop.t_config VALUES (1, 'a', 'va', 1.00, ${at}), (2, 'b', 'same', 2.00, ${at}),
       (3, 'c', 'new', 3.50, ${at}), (4, 'dup', 'x', NULL, ${at})`,
  );
  await offline.query(
    `INSERT INTO shop.t_config VALUES (2, 'b', 'same', 2.00, ${at}), (3, 'c', 'old', 3.50, ${at}),
       (9, 'dup', 'held', NULL, ${at})`,
  );
  // A value the offline column cannot hold: the run fails on id 2, until the column is widened.
  await online.query('CREATE TABLE shop.t_narrow (id INT PRIMARY KEY, v VARCHAR(20) NULL)');
  await offline.query('CREATE TABLE shop.t_narrow (id INT PRIMARY KEY, v VARCHAR(3) NULL)');
  await online.query("INSERT INTO shop.t_narrow VALUES (1, 'ok'), (2, 'toolong'), (3, 'ok')");
  // The handler served over HTTP for --api, and the CDC handler for dead letters, in this process.
  process.env.SYNC_CONFIG = configPath;
  const manual = (await import('../functions/manual-sync')).handler as unknown as HttpHandler;
  cdc = (await import('../functions/cdc-sync')).handler as unknown as typeof cdc;
  api = await serveHttpFunction(manual, 0, API_USER);
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (api?.server ? api.server.close(() => resolve()) : resolve()));
  await closeAllDatabases();
  await online?.end();
  await offline?.end();
  await servers?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('cdc-mirror: usage', () => {
  it('documents the commands and the exit codes', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const text of ['sync --source', '--watch ID', 'dead-letters retry', 'status', '--api URL', '--json'])
      expect(help.stdout).toContain(text);
    expect(help.stdout).toMatch(/Exit codes:\n\s+0 {2}success\n\s+1 {2}the operation failed/);
    expect(help.stdout).toMatch(/2 {2}usage error[\s\S]*3 {2}refused or invalid[\s\S]*4 {2}unreachable/);
    const sync = await cli(['sync', '--help']);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toContain('--mode upsert|replace');
    expect(sync.stdout).toContain('Exit codes:');
  });

  it('exits 2 on a usage error, before touching anything', async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage: cdc-mirror <command>/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['sync', '--source', 'shop_online', '--table', 'shop.t_config'], /sync needs --where/],
      [['sync', '--source', 'x', '--table', 'nodot', '--where', 'id=1'], /not schema\.table/],
      [
        ['sync', '--source', 'x', '--table', 'a.b', '--where', 'id=1', '--mode', 'merge'],
        /upsert or replace/,
      ],
      [['sync', '--source', 'x', '--table', 'a.b', '--where', 'id=1', '--limit', '0'], /--limit/],
      [['jobs', '--bogus'], /Unknown option '--bogus'/],
      [['jobs', 'cancel'], /one job id/],
      [['jobs', 'resume', 'not-a-uuid'], /not a job id/],
      [['dead-letters', 'retry', 'x1'], /not a dead-letter id/],
      [['--api', 'http://example.com', '--token', 'x', 'status'], /https/],
      [['--api', 'https://api.example.com', 'status'], /--region/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    }
  });

  it('without --api and without a config file, says how to point it somewhere (exit 2)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cdc-mirror-cli-empty-'));
    try {
      const run = await cli(['status'], { cwd: empty });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/no --api given .* no config for local mode at .*sync\.config\.yml/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('cdc-mirror sync (local mode: the handler in the CLI process, ./sync.config.yml)', () => {
  const args = ['sync', '--source', 'shop_online', '--table', 'shop.t_config', '--where', 'id < 10'];

  it('dry run by default: inserts with values, updates old → new, conflicts, N of M, warnings; writes nothing', async () => {
    const before = await rows(offline, 'SELECT * FROM shop.t_config ORDER BY id');
    const run = await cli(args);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toContain('Dry run of shop_online shop.t_config');
    expect(out).toContain('4 rows match: 1 to insert, 1 to update, 1 unchanged, 1 conflict');
    expect(out).toMatch(/\+ insert +id=1\n +id +1\n +name +"a"\n +value +"va"\n +price +1\.00\n/);
    expect(out).toMatch(/~ update +id=3\n +value +"old" → "new"\n/);
    expect(out).toMatch(/! conflict id=4: not written, uk_name held by \{"id":"9"\}/);
    expect(out).toContain('= unchanged: id=2');
    expect(out).toContain('Showing all 4 matched rows.');
    expect(out).toMatch(/1 warning:\n +! offline-only-rows: .*rows id=9/);
    expect(out).toContain('Dry run: nothing was written. Add --run to copy.');
    expect(await rows(offline, 'SELECT * FROM shop.t_config ORDER BY id')).toEqual(before);
  });

  it('says "N of M" when the preview is cut, and finds the config by --config from anywhere', async () => {
    await online.query(
      `INSERT INTO shop.t_approval_template (code, title, steps)
         SELECT CONCAT('c', seq), CONCAT('t', seq), '[]' FROM shop.seq_1_to_60`,
    );
    const run = await cli(
      [
        '--config',
        configPath,
        'sync',
        '--source',
        'shop_online',
        '--table',
        'shop.t_approval_template',
      ].concat(['--where', 'id > 0']),
      { cwd: tmpdir() },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('60 rows match: 60 to insert');
    expect(run.stdout).toContain('Showing 50 of 60 matched rows');
  });

  it('--json prints the API answer as sent', async () => {
    const run = await cli([...args, '--json']);
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout);
    expect(body).toMatchObject({ dryRun: true, matched: 4, wouldInsert: 1, wouldUpdate: 1, conflicts: 1 });
    expect(body.preview).toHaveLength(4);
  });

  it('shows control characters in values escaped, never raw', async () => {
    await online.query(
      "INSERT INTO shop.t_config VALUES (20, 'esc', CONCAT('a', CHAR(27), '[2Jb', _utf8mb4 0xE280AE), NULL, '2026-01-01')",
    );
    const run = await cli([
      'sync',
      '--source',
      'shop_online',
      '--table',
      'shop.t_config',
      '--where',
      'id = 20',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('"a\\u001b[2Jb\\u202e"');
    expect(run.stdout).not.toContain(String.fromCharCode(0x1b));
    expect(run.stdout).not.toContain(String.fromCharCode(0x202e));
  });

  it('refuses the condition, the table or the size with the API message and exit 3', async () => {
    const bad = await cli([
      'sync',
      '--source',
      'shop_online',
      '--table',
      'shop.t_config',
      '--where',
      'SLEEP(1) = 0',
    ]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/HTTP 4\d\d: .*function SLEEP is not allowed/);
    const big = await cli([...args, '--limit', '2']);
    expect(big.code).toBe(3);
    expect(big.stderr).toMatch(/HTTP 422: the condition matches 4 rows, above the limit of 2/);
    const missing = await cli([
      'sync',
      '--source',
      'shop_online',
      '--table',
      'shop.nope',
      '--where',
      'id = 1',
    ]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/HTTP 404: table shop\.nope does not exist/);
    const forbidden = await cli([
      'sync',
      '--source',
      'shop_offline',
      '--table',
      'shop.t_config',
      '--where',
      'id = 1',
    ]);
    expect(forbidden.code).toBe(3);
    expect(forbidden.stderr).toMatch(/HTTP 403: source "shop_offline" is not an online database/);
  });

  it('--run refuses without --yes when stdin is not a terminal (exit 2), and writes nothing', async () => {
    const run = await cli([...args, '--run']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/refusing to write without --yes: stdin is not a terminal/);
    expect(await rows(offline, 'SELECT id FROM shop.t_config WHERE id = 1')).toEqual([]);
  });

  it('--run on a terminal shows the dry run and asks; "n" writes nothing (exit 1)', async () => {
    const run = await cliOnTerminal([...args, '--run'], 'n');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('4 rows match: 1 to insert');
    expect(run.stdout).toMatch(/Copy to the offline shop\.t_config: 1 insert, 1 update\? \[y\/N\]/);
    expect(run.stdout).toContain('Nothing written.');
    expect(await rows(offline, 'SELECT id FROM shop.t_config WHERE id = 1')).toEqual([]);
  });

  it('--run --yes copies: the offline table then holds the online rows, the conflict left alone', async () => {
    const run = await cli([...args, '--run', '--yes']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /Job [0-9a-f-]{36} succeeded: 1 inserted, 1 updated, 1 unchanged, 1 conflict \(4 of 4 rows, .*\)\./,
    );
    expect(run.stdout).toContain('1 row was not written (conflicts)');
    expect(await rows(offline, 'SELECT id, name, value FROM shop.t_config ORDER BY id')).toEqual([
      { id: '1', name: 'a', value: 'va' },
      { id: '2', name: 'b', value: 'same' },
      { id: '3', name: 'c', value: 'new' },
      { id: '9', name: 'dup', value: 'held' },
    ]);
  });

  it('--mode replace goes through: the colliding offline row gives way', async () => {
    const run = await cli([
      'sync',
      '--source',
      'shop_online',
      '--table',
      'shop.t_config',
      '--where',
      'id = 4',
      '--mode',
      'replace',
      '--run',
      '--yes',
    ]);
    expect(run.code).toBe(0);
    expect(await rows(offline, "SELECT id FROM shop.t_config WHERE name = 'dup'")).toEqual([{ id: '4' }]);
  });

  it('--run on a terminal, answered "y", writes', async () => {
    await online.query("INSERT INTO shop.t_config VALUES (30, 'tty', 'yes', NULL, '2026-01-01 00:00:00')");
    const run = await cliOnTerminal(
      ['sync', '--source', 'shop_online', '--table', 'shop.t_config', '--where', 'id = 30', '--run'],
      'y',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Job [0-9a-f-]{36} succeeded: 1 inserted/);
    expect(await rows(offline, 'SELECT value FROM shop.t_config WHERE id = 30')).toEqual([{ value: 'yes' }]);
  });

  it('follows a job that goes on asynchronously (202) with progress until it ends', async () => {
    await online.query(
      `INSERT INTO shop.t_user (user_no, name, balance)
         SELECT CONCAT('U-', seq), CONCAT('user ', seq), seq / 4 FROM shop.seq_1_to_40`,
    );
    const run = await cli([
      'sync',
      '--source',
      'shop_online',
      '--table',
      'shop.t_user',
      '--where',
      'id > 0',
      '--run',
      '--yes',
      '--interval',
      '0.05',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/Job [0-9a-f-]{36} is running; following it/);
    expect(run.stderr).toMatch(/\[[=> ]{30}\] \d+\/40 rows {2}\d+% {2}\d+ rows\/s/);
    expect(run.stdout).toMatch(/succeeded: 40 inserted, 0 updated, 0 unchanged, 0 conflicts \(40 of 40 rows/);
    const sql = 'SELECT id, user_no, name, balance FROM shop.t_user ORDER BY id';
    expect(await rows(offline, sql)).toEqual(await rows(online, sql));
  });

  it('a run that fails exits 1 naming the row; fixed, `jobs resume` finishes it', async () => {
    const args = ['sync', '--source', 'shop_online', '--table', 'shop.t_narrow', '--where', 'id > 0'];
    const dry = await cli(args);
    expect(dry.stdout).toMatch(/! value-too-long: .*rows id=2/);
    const run = await cli([...args, '--run', '--yes']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Job [0-9a-f-]{36} failed after 0 of 3 rows .*: Data too long for column 'v'/);
    expect(run.stderr).toContain('at the row with key id=2');
    const jobId = JOB_ID.exec(run.stderr)?.[1] as string;
    expect(run.stderr).toContain(`cdc-mirror jobs resume ${jobId}`);

    const shown = await cli(['jobs', jobId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/status +failed/);
    expect(shown.stdout).toMatch(/failed at +id=2/);

    const cancel = await cli(['jobs', 'cancel', jobId]);
    expect(cancel.code).toBe(3);
    expect(cancel.stderr).toMatch(/HTTP 409: .*only a running job can be cancelled/);

    await offline.query('ALTER TABLE shop.t_narrow MODIFY v VARCHAR(20) NULL');
    const resumed = await cli(['jobs', 'resume', jobId]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`Job ${jobId} succeeded: 3 inserted`);
    const sql = 'SELECT * FROM shop.t_narrow ORDER BY id';
    expect(await rows(offline, sql)).toEqual(await rows(online, sql));
  });
});

describe('cdc-mirror jobs (local mode)', () => {
  it('lists jobs newest first, filtered by status, table and who', async () => {
    const all = await cli(['jobs']);
    expect(all.code).toBe(0);
    const [header, ...lines] = all.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^JOB +STATUS +MODE +WHO +TABLE +ROWS +CREATED \(UTC\) +CONDITION$/);
    expect(lines.length).toBeGreaterThan(5);
    const failedOnce = await cli(['jobs', '--status', 'succeeded', '--table', 'shop.t_narrow']);
    expect(failedOnce.stdout.trimEnd().split('\n')).toHaveLength(3); // the header, the dry run, the resumed run
    const nobody = await cli(['jobs', '--who', 'nobody-at-all']);
    expect(nobody.stdout).toBe('No jobs.\n');
    const json = await cli(['jobs', '--table', 'shop.t_user', '--json']);
    const body = JSON.parse(json.stdout);
    expect(body.jobs.length).toBeGreaterThan(0);
    expect(body.jobs.every((j: { sourceTable: string }) => j.sourceTable === 'shop.t_user')).toBe(true);
  });

  it('--watch on a job that already ended prints its outcome', async () => {
    const { jobs } = JSON.parse((await cli(['jobs', '--table', 'shop.t_user', '--json'])).stdout);
    const watched = await cli(['jobs', '--watch', jobs[0].jobId]);
    expect(watched.code).toBe(0);
    expect(watched.stdout).toContain(`Job ${jobs[0].jobId} succeeded`);
    const unknown = await cli(['jobs', '--watch', '00000000-0000-0000-0000-000000000000']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/HTTP 404: job .* not found/);
  });
});

describe('cdc-mirror dead-letters and status (local mode)', () => {
  const record = (id: number) =>
    JSON.stringify({ op: 'c', source: { db: 'shop', table: 't_late' }, before: null, after: { id, v: 'x' } });

  it('lists, retries (failing, then fixed) and discards dead letters', async () => {
    const summary = await cdc(
      mskEvent(
        [1, 2, 3].map((id) => ({ topic: 'dbserver1.shop.t_config', value: record(id) })),
        [501, 502, 503],
      ),
      lambdaContext(),
    );
    expect(summary.deadLettered).toBe(3);

    const listed = await cli(['dead-letters', '--status', 'open']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^3 dead letters in shop_offline:\nID +STATUS +TABLE +POSITION +TRIES/);
    expect(listed.stdout).toContain('dbserver1.shop.t_config-0@501');
    const { deadLetters } = JSON.parse((await cli(['dead-letters', '--status', 'open', '--json'])).stdout);
    const ids = deadLetters.map((d: { id: string }) => d.id).sort();
    expect(ids).toHaveLength(3);

    const stillFails = await cli(['dead-letters', 'retry', ids[0]]);
    expect(stillFails.code).toBe(1);
    expect(stillFails.stderr).toMatch(/still fails, left open/);

    await offline.query('CREATE TABLE shop.t_late (id INT PRIMARY KEY, v VARCHAR(10))');
    const retried = await cli(['dead-letters', 'retry', ids[0], ids[1]]);
    expect(retried.stderr).toBe('');
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain('2 of 2 retried successfully.');
    expect(await rows(offline, 'SELECT id FROM shop.t_late ORDER BY id')).toEqual([{ id: '1' }, { id: '2' }]);

    const discarded = await cli(['dead-letters', 'discard', ids[2]]);
    expect(discarded.code).toBe(0);
    expect(discarded.stdout).toMatch(/Dead letter \d+: discarded by \S+\./);
    const again = await cli(['dead-letters', 'discard', ids[2]]);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/HTTP 409: .*only an open one can be discarded/);
    expect((await cli(['dead-letters', '--status', 'open'])).stdout).toBe(
      'No dead letters in shop_offline.\n',
    );
  });

  it('status shows each target with its partitions, counts and open dead letters', async () => {
    const run = await cli(['status']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^shop_offline\n/);
    expect(run.stdout).toMatch(/TOPIC +PARTITION +APPLIED OFFSET +LAG +SINCE APPLIED/);
    expect(run.stdout).toMatch(/dbserver1\.shop\.t_config +0 +503/);
    expect(run.stdout).toContain('open dead letters: 0');
    expect(JSON.parse((await cli(['status', '--json'])).stdout).targets[0].target).toBe('shop_offline');
  });

  it('catalog lists what may be synced', async () => {
    const run = await cli(['catalog']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/shop_online → shop_offline/);
    expect(run.stdout).toContain('shop.t_config');
  });
});

describe('cdc-mirror --api (the handler served over HTTP, bearer token)', () => {
  it('dry run, run and jobs over HTTP, with the identity the API saw', async () => {
    await online.query(
      "INSERT INTO shop.t_config VALUES (40, 'api', 'over http', 4.00, '2026-01-01 00:00:00')",
    );
    const args = ['sync', '--source', 'shop_online', '--table', 'shop.t_config', '--where', 'id = 40'];
    const dry = await cli(remote(...args));
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/\+ insert +id=40\n/);
    const run = await cli(remote(...args, '--run', '--yes'));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/succeeded: 1 inserted/);
    expect(await rows(offline, 'SELECT value FROM shop.t_config WHERE id = 40')).toEqual([
      { value: 'over http' },
    ]);
    const mine = await cli(remote('jobs', '--who', API_USER));
    expect(mine.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(mine.stdout).toContain(API_USER);
  });

  it('cancel stops a running job; resume finishes it, followed to the end', async () => {
    await online.query(
      `INSERT INTO shop.t_user (user_no, name) SELECT CONCAT('B-', seq), 'bulk' FROM shop.seq_1_to_2000`,
    );
    const args = [
      'sync',
      '--source',
      'shop_online',
      '--table',
      'shop.t_user',
      '--where',
      "user_no LIKE 'B-%'",
    ];
    const detached = await cli(remote(...args, '--run', '--yes', '--detach'));
    expect(detached.code).toBe(0);
    expect(detached.stdout).toMatch(/Job [0-9a-f-]{36} is running: \d+ of 2000 rows so far/);
    const jobId = JOB_ID.exec(detached.stdout)?.[1] as string;
    const cancelled = await cli(remote('jobs', 'cancel', jobId));
    expect(cancelled.stderr).toBe('');
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`Job ${jobId} cancelled after \\d+ of 2000 rows\\.`));
    // Each try starts the CLI as a process (about a second on a loaded machine): vi.waitFor's default of
    // one second in all could time out before a single answer.
    await vi.waitFor(
      async () => {
        const { status } = JSON.parse((await cli(remote('jobs', jobId, '--json'))).stdout);
        expect(status).toBe('cancelled');
      },
      { timeout: 20_000, interval: 100 },
    );
    const watchCancelled = await cli(remote('jobs', '--watch', jobId));
    expect(watchCancelled.code).toBe(1);
    expect(watchCancelled.stderr).toMatch(/was cancelled after \d+ of 2000 rows/);

    const resumed = await cli(remote('jobs', 'resume', jobId, '--interval', '0.2'));
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resumed; following it/);
    expect(resumed.stdout).toMatch(new RegExp(`Job ${jobId} succeeded: .*\\(2000 of 2000 rows`));
    const sql = "SELECT id, user_no, name FROM shop.t_user WHERE user_no LIKE 'B-%' ORDER BY id";
    expect(await rows(offline, sql)).toEqual(await rows(online, sql));
  });

  it('--json on every command prints the answer; an error answer too, with its exit code', async () => {
    for (const args of [
      ['status'],
      ['catalog'],
      ['jobs'],
      ['dead-letters'],
      ['sync', '--source', 'shop_online', '--table', 'shop.t_config', '--where', 'id = 1'],
    ]) {
      const run = await cli(remote(...args, '--json'));
      expect({ args, code: run.code }).toEqual({ args, code: 0 });
      expect(() => JSON.parse(run.stdout)).not.toThrow();
    }
    const refused = await cli(
      remote('sync', '--source', 'shop_online', '--table', 'shop.t_config', '--where', 'f(1)', '--json'),
    );
    expect(refused.code).toBe(3);
    expect(JSON.parse(refused.stdout)).toHaveProperty('reason');
  });
});

describe('cdc-mirror --api: what a script can tell from the exit code', () => {
  async function stub(answer: (path: string) => { status: number; body: string }) {
    const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
    const server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', headers: req.headers });
      const { status, body } = answer(req.url ?? '');
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => server.close(r)) };
  }

  it('a route the API does not have (404) exits 3 with its message; 5xx and no answer exit 4', async () => {
    const gateway = await stub((path) =>
      path.startsWith('/status')
        ? { status: 503, body: '{"error":"database \\"shop_offline\\" does not answer","requestId":"r-1"}' }
        : { status: 404, body: '{"message":"Not Found"}' },
    );
    try {
      const missing = await cli([
        '--api',
        gateway.url,
        '--token',
        'x',
        'jobs',
        'cancel',
        '00000000-0000-0000-0000-000000000001',
      ]);
      expect(missing.code).toBe(3);
      expect(missing.stderr).toMatch(/HTTP 404: Not Found: this API does not have that route/);
      const down = await cli(['--api', gateway.url, '--token', 'x', 'status']);
      expect(down.code).toBe(4);
      expect(down.stderr).toMatch(/HTTP 503: database "shop_offline" does not answer \(requestId r-1\)/);
      expect(gateway.seen[0]?.headers.authorization).toBe('Bearer x');
    } finally {
      await gateway.close();
    }
    const closed = await freePort();
    const nobody = await cli(['--api', `http://127.0.0.1:${closed}`, '--token', 'x', 'status']);
    expect(nobody.code).toBe(4);
    expect(nobody.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  it('without a token, signs each request with SigV4 for execute-api from the AWS credential chain', async () => {
    const iam = await stub(() => ({ status: 200, body: '{"targets":[],"entries":[]}' }));
    try {
      const run = await cli(['--api', `${iam.url}/prod`, '--region', 'eu-west-1', 'status'], {
        env: {
          AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0001',
          AWS_SECRET_ACCESS_KEY: 'fake/secret/key',
          AWS_SESSION_TOKEN: 'fake-session-token',
        },
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const { path, headers } = iam.seen[0] ?? { path: '', headers: {} };
      expect(path).toBe('/prod/status');
      expect(headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKE0001\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host;[a-z0-9;-]*x-amz-date[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(headers['x-amz-security-token']).toBe('fake-session-token');
    } finally {
      await iam.close();
    }
  });
});

describe('cdc-mirror verify (local mode)', () => {
  it('reports drift with exit 1, repairs it with --repair --yes, then reports equal with exit 0', async () => {
    await online.query(
      "INSERT INTO shop.t_approval_template (id, code, title, steps) VALUES (901, 'v1', 'V1', '[]'), (902, 'v2', 'V2', '[]')",
    );
    await offline.query(
      "INSERT INTO shop.t_approval_template (id, code, title, steps, updated_at) SELECT 901, 'v1', 'changed offline', '[]', updated_at FROM (SELECT NOW(6) AS updated_at) x",
    );
    const where = ['--where', 'id > 900'];
    const args = ['verify', '--source', 'shop_online', '--table', 'shop.t_approval_template', ...where];
    const found = await cli(args);
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/missing offline \(1\):\s+id=902/);
    expect(found.stdout).toMatch(/differing \(1\):\s+id=901: title, updated_at/);
    expect((await cli([...args, '--repair'])).code).toBe(2);
    const repaired = await cli([...args, '--repair', '--yes']);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(/repaired: 2 rows copied, 0 rows deleted; now equal/);
    const again = await cli([...args, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ equal: true });
    const id = /verification ([0-9a-f-]{36})/.exec(found.stdout)?.[1] as string;
    expect((await cli(['verify', id])).stdout).toMatch(/missing offline \(1\)/);
  });
});

describe('the SigV4 signer', () => {
  it('signs for execute-api with the access key of the credential chain (environment)', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAFAKEFAKEFAKE0002');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'another/fake/secret');
    try {
      const url = new URL('https://abc123.execute-api.us-east-2.amazonaws.com/sync?status=running&limit=5');
      const headers = await signRequest(
        { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: '{"a":1}' },
        { region: 'us-east-2' },
      );
      expect(headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKE0002\/\d{8}\/us-east-2\/execute-api\/aws4_request, /,
      );
      expect(headers.authorization).toMatch(
        /SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date,/,
      );
      expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
      expect(headers.host).toBe('abc123.execute-api.us-east-2.amazonaws.com');
      // The body and the query are part of what is signed.
      const other = await signRequest(
        { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: '{"a":2}' },
        { region: 'us-east-2' },
      );
      expect(other.authorization).not.toBe(headers.authorization);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
