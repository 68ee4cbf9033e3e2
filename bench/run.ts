/**
 * `npm run bench`: speed and memory goals, measured side by side in one run and reported as ratios
 * (absolute numbers depend on the machine; ratios between alternatives on the same machine do not).
 *
 * 1. Decoding: the lossless JSON path (every number keeps its source text) vs plain JSON.parse (which
 *    would turn 1.0 into 1 and lose digits), on realistic Debezium messages: the price of exactness.
 * 2. Applying, against a throwaway server: cdc-mirror vs the limit (the final rows as multi-row statements
 *    in one transaction, no client work) vs a naive design (per change a SELECT, then one statement), on an
 *    insert-heavy and a mixed workload; each contender's result is checked against the expected rows.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { stringify } from 'yaml';
import { assembleDelete, assembleUpsert } from '../shared/assembler/statements';
import { parseConfig } from '../shared/config/load';
import { closeAllDatabases } from '../shared/db/connection';
import { getWriteTarget } from '../shared/db/guard';
import { decodeRecord } from '../shared/formats';
import { parseJsonLossless } from '../shared/formats/json';
import { type SyncContext, startManualSync } from '../shared/manual/sync';
import { introspectTable } from '../shared/schema/introspect';
import { startThrowawayServer } from '../test/harness/mysql-server';
import { lambdaContext, mskEvent } from '../test/support/kafka';
import { rawConnection } from '../test/support/raw-connection';

/** Everything the run measured, written to bench-results.json as well. */
const results: Record<string, unknown> = {
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
};

function time(label: string, fn: () => void, rounds = 5): number {
  fn(); // warm up
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)] as number;
  console.log(`  ${label.padEnd(44)} ${median.toFixed(1).padStart(8)} ms`);
  return median;
}

function debeziumMessage(i: number, big: boolean): string {
  return JSON.stringify({
    before: null,
    after: {
      id: big ? `${9_007_199_254_740_993n + BigInt(i)}` : i,
      name: `config.key.${i}`,
      value: 'x'.repeat(40),
      price: 'AeJA',
      updated_at: 1_732_000_000_000 + i,
    },
    source: {
      version: '2.7.0.Final',
      connector: 'mysql',
      name: 'dbserver1',
      ts_ms: 1_732_000_000_000,
      db: 'shop',
      table: 't_config',
    },
    op: 'c',
    ts_ms: 1_732_000_000_100,
  }).replace(/"id":"(\d+)"/, '"id":$1');
}

function benchDecode(): void {
  console.log('\n1. decoding 20,000 Debezium messages (1 in 10 with a 64-bit id)');
  const messages = Array.from({ length: 20_000 }, (_, i) => debeziumMessage(i, i % 10 === 0));
  const plain = time('JSON.parse (loses digits: reference only)', () => {
    for (const m of messages) JSON.parse(m);
  });
  const ours = time('parseJsonLossless (every number exact)', () => {
    for (const m of messages) parseJsonLossless(m);
  });
  console.log(`  ratio: ours / JSON.parse = ${(ours / plain).toFixed(2)}x`);
  results.decode = { jsonParseMs: plain, losslessMs: ours };
  const enveloped = messages.map((m, i) => message({ op: 'c', before: null, after: JSON.parse(m).after }, i));
  const whole = time('Debezium 2.7 with schema: whole message parsed', () => {
    for (const m of enveloped) parseJsonLossless(m);
  });
  const split = time('Debezium 2.7 with schema: decodeRecord', () => {
    for (const [i, m] of enveloped.entries())
      decodeRecord(m, { topic: 't', partition: 0, offset: String(i), index: 0 }, 'auto');
  });
  console.log(
    `  ratio: whole parse / decodeRecord (schema cached, payload parsed) = ${(whole / split).toFixed(2)}x`,
  );
}

type Row = { id: number; name: string; v: string; n: string };
type Change = { op: 'c' | 'u' | 'd'; before: Row | null; after: Row | null };

const COLUMNS = [
  { type: 'int64', optional: false, field: 'id' },
  { type: 'string', optional: true, field: 'name' },
  { type: 'string', optional: true, field: 'v' },
  { type: 'string', optional: true, field: 'n' },
];
/** A Debezium 2.7 message as a connector with the JSON converter sends it: schema envelope, ts_us and ts_ns. */
const SCHEMA = JSON.stringify({
  type: 'struct',
  name: 'dbserver1.b.t.Envelope',
  optional: false,
  fields: [
    { type: 'struct', fields: COLUMNS, optional: true, name: 'dbserver1.b.t.Value', field: 'before' },
    { type: 'struct', fields: COLUMNS, optional: true, name: 'dbserver1.b.t.Value', field: 'after' },
    {
      type: 'struct',
      optional: false,
      name: 'io.debezium.connector.mysql.Source',
      field: 'source',
      fields: [
        'version',
        'connector',
        'name',
        'ts_ms',
        'ts_us',
        'ts_ns',
        'snapshot',
        'db',
        'sequence',
        'table',
        'server_id',
        'gtid',
        'file',
        'pos',
        'row',
        'thread',
        'query',
      ].map((f) => ({
        type: f.startsWith('ts_') || ['server_id', 'pos'].includes(f) ? 'int64' : 'string',
        optional: true,
        field: f,
      })),
    },
    { type: 'string', optional: false, field: 'op' },
    { type: 'int64', optional: true, field: 'ts_ms' },
    { type: 'int64', optional: true, field: 'ts_us' },
    { type: 'int64', optional: true, field: 'ts_ns' },
  ],
});

function message(c: Change, i: number): string {
  const ms = 1_732_000_000_000 + i;
  return `{"schema":${SCHEMA},"payload":${JSON.stringify({
    before: c.before,
    after: c.after,
    source: {
      version: '2.7.0.Final',
      connector: 'mysql',
      name: 'dbserver1',
      ts_ms: ms,
      db: 'b',
      table: 't',
      server_id: 1,
      file: 'binlog.000003',
      pos: 4 + i,
      row: 0,
    },
    op: c.op,
    ts_ms: ms + 5,
  }).replace(/"ts_ms":(\d+)\}$/, (_m, t) => `"ts_ms":${t},"ts_us":${t}000,"ts_ns":${t}000000}`)}}`;
}

/** A seeded workload: insert-heavy, or mixed (75 % updates, 10 % deletes, 15 % inserts) over existing rows. */
function workload(
  kind: 'inserts' | 'mixed',
  n: number,
): { before: Row[]; changes: Change[]; after: Map<number, Row> } {
  let seed = 42;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const row = (id: number, v: string): Row => ({
    id,
    name: `n${id}`,
    v,
    n: `${id % 1000}.${String(id % 100).padStart(2, '0')}`,
  });
  const before = kind === 'mixed' ? Array.from({ length: n }, (_, i) => row(i, 'a')) : [];
  const state = new Map(before.map((r) => [r.id, r]));
  const changes: Change[] = [];
  let next = n;
  for (let i = 0; i < n; i++) {
    const r = rand();
    const ids = [...state.keys()];
    if (kind === 'inserts' || r < 0.15 || ids.length === 0) {
      const after = row(next++, `v${i}`);
      state.set(after.id, after);
      changes.push({ op: 'c', before: null, after });
    } else if (r < 0.25) {
      const id = ids[Math.floor(rand() * ids.length)] as number;
      changes.push({ op: 'd', before: state.get(id) as Row, after: null });
      state.delete(id);
    } else {
      const id = ids[Math.floor(rand() * ids.length)] as number;
      const after = { ...(state.get(id) as Row), v: `v${i}` };
      changes.push({ op: 'u', before: state.get(id) as Row, after });
      state.set(id, after);
    }
  }
  return { before, changes, after: state };
}

async function benchApply(): Promise<void> {
  const n = 10_000;
  const batch = 1_400;
  console.log(`\n2. applying ${n} Debezium 2.7 changes (schema envelope, ts_us/ts_ns) to a throwaway server`);
  const server = await startThrowawayServer();
  try {
    const raw = await rawConnection(server.url);
    await raw.query(
      'CREATE DATABASE b; CREATE TABLE b.t (id BIGINT PRIMARY KEY, name VARCHAR(64) UNIQUE, v TEXT, n DECIMAL(12,2))',
    );
    const dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-bench-'));
    process.env.SYNC_CONFIG = join(dir, 'sync.config.yml');
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const doc = {
      databases: { off: { role: 'offline', url: server.url } },
      cdc: [{ topics: ['bench'], target: 'off' }],
    };
    writeFileSync(process.env.SYNC_CONFIG, stringify(doc));
    const { handler } = await import('../functions/cdc-sync');
    const db = await getWriteTarget('off', parseConfig(doc));
    const table = await introspectTable(db, { schema: 'b', table: 't' });
    const values = (r: Row) => [String(r.id), r.name, r.v, r.n];
    const reset = async (rows: Row[]) => {
      await raw.query('TRUNCATE TABLE b.t');
      for (let i = 0; i < rows.length; i += 1000) {
        const part = rows.slice(i, i + 1000);
        await raw.query(
          `INSERT INTO b.t VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')}`,
          part.flatMap(values),
        );
      }
    };
    const check = async (expected: Map<number, Row>, who: string) => {
      const [got] = (await raw.query('SELECT id, name, v, n FROM b.t ORDER BY id')) as unknown as [
        Record<string, string>[],
      ];
      const want = [...expected.values()]
        .sort((a, b) => a.id - b.id)
        .map((r) => ({ ...r, id: String(r.id) }));
      if (JSON.stringify(got) !== JSON.stringify(want))
        throw new Error(`${who} did not reach the expected rows`);
    };
    for (const kind of ['inserts', 'mixed'] as const) {
      const w = workload(kind, n);
      const final = [...w.after.values()];
      const deleted = w.before.filter((r) => !w.after.has(r.id)).map((r) => ({ id: String(r.id) }));
      const messages = w.changes.map(message);
      const contenders: [string, () => Promise<void>][] = [
        [
          'limit: final rows, multi-row, one transaction',
          () =>
            db.session(
              () => 600_000,
              (s) =>
                s.transaction(async (tx) => {
                  for (const stmt of assembleDelete(table, deleted)) await tx.execute(stmt);
                  for (const stmt of assembleUpsert(
                    table,
                    final.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]))),
                    db.dialect,
                  ))
                    await tx.execute(stmt);
                }),
            ),
        ],
        [
          `cdc-mirror (batches of ${batch})`,
          async () => {
            for (let i = 0; i < messages.length; i += batch) {
              await handler(
                mskEvent(messages.slice(i, i + batch).map((value) => ({ topic: 'bench', value }))),
                lambdaContext(),
              );
            }
          },
        ],
        [
          'naive: per change a SELECT, then one statement',
          async () => {
            for (const c of w.changes) {
              const r = (c.after ?? c.before) as Row;
              const [found] = await raw.query('SELECT id FROM b.t WHERE id = ?', [r.id]);
              if (c.op === 'd') await raw.query('DELETE FROM b.t WHERE id = ?', [r.id]);
              else if ((found as unknown[]).length)
                await raw.query('UPDATE b.t SET name = ?, v = ?, n = ? WHERE id = ?', [
                  r.name,
                  r.v,
                  r.n,
                  r.id,
                ]);
              else await raw.query('INSERT INTO b.t VALUES (?, ?, ?, ?)', values(r));
            }
          },
        ],
      ];
      console.log(`  ${kind === 'inserts' ? 'insert-heavy' : 'mixed (75 % updates, 10 % deletes)'}:`);
      const times = new Map<string, number>();
      for (const [name, run] of contenders) {
        await reset(w.before);
        const t = performance.now();
        await run();
        const ms = performance.now() - t;
        await check(w.after, name);
        times.set(name, ms);
        console.log(
          `    ${name.padEnd(48)} ${ms.toFixed(0).padStart(7)} ms ${((n / ms) * 1000).toFixed(0).padStart(8)} changes/s`,
        );
      }
      const [limit, ours, naive] = [...times.values()] as [number, number, number];
      results[`apply_${kind}`] = {
        changes: n,
        limitMs: limit,
        cdcMirrorMs: ours,
        naiveMs: naive,
        ofLimit: limit / ours,
        timesNaive: naive / ours,
      };
      console.log(
        `    ratio: cdc-mirror / limit = ${(limit / ours).toFixed(2)}x the limit; ${(naive / ours).toFixed(1)}x naive`,
      );
    }
    await raw.end();
    await closeAllDatabases();
  } finally {
    await server.stop();
  }
}

/**
 * Manual sync of 100,000 rows (id < 100000) from an online to an offline server: cdc-mirror's copy
 * (keyset pages, upsert, job bookkeeping) vs `mariadb-dump --where … | mariadb` on the same rows.
 */
async function benchManual(): Promise<void> {
  const n = 100_000;
  console.log(`\n5. manual sync of ${n.toLocaleString('en')} rows`);
  const [online, offline] = await Promise.all([
    startThrowawayServer({ binlog: true }),
    startThrowawayServer(),
  ]);
  try {
    const on = await rawConnection(online.url);
    const off = await rawConnection(offline.url);
    const ddl =
      'CREATE TABLE m.t (id BIGINT PRIMARY KEY, name VARCHAR(64), v TEXT, n DECIMAL(12,2), at DATETIME(6))';
    await on.query(`CREATE DATABASE m; ${ddl}`);
    for (let i = 0; i < n; i += 5_000) {
      const ids = Array.from({ length: 5_000 }, (_, k) => i + k);
      await on.query(
        `INSERT INTO m.t VALUES ${ids.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
        ids.flatMap((id) => [
          id,
          `name-${id}`,
          'x'.repeat(40),
          `${id % 1000}.25`,
          '2026-11-25 10:00:00.123456',
        ]),
      );
    }
    await on.end();
    const reset = async () => off.query(`DROP DATABASE IF EXISTS m; CREATE DATABASE m; ${ddl}`);
    const config = parseConfig({
      databases: { on: { role: 'online', url: online.url }, off: { role: 'offline', url: offline.url } },
      manual: [{ source: 'on', target: 'off', maxLimit: 200_000, chunkSize: 5_000, timeBudgetMs: 600_000 }],
    });
    const ctx: SyncContext = {
      config,
      identity: 'bench',
      remainingMs: () => 600_000,
      continueJob: async () => {
        throw new Error('the bench job must finish in one invocation');
      },
    };
    const check = async (who: string) => {
      const [[r]] = (await off.query('SELECT COUNT(*) AS c, SUM(id) AS s FROM m.t')) as unknown as [
        Record<string, string>[],
      ];
      if (Number(r?.c) !== n || Number(r?.s) !== (n * (n - 1)) / 2)
        throw new Error(`${who} did not copy the rows`);
    };
    await reset();
    let t = performance.now();
    await startManualSync({ source: 'on', table: 'm.t', where: `id < ${n}`, dryRun: false, limit: n }, ctx);
    const ours = performance.now() - t;
    await check('cdc-mirror');
    await reset();
    const port = (url: string) => new URL(url).port;
    t = performance.now();
    const dump = spawnSync(
      'bash',
      [
        '-c',
        `mariadb-dump -h127.0.0.1 -P${port(online.url)} -uroot --no-create-info --skip-add-locks --single-transaction --where='id < ${n}' m t | mariadb -h127.0.0.1 -P${port(offline.url)} -uroot m`,
      ],
      { encoding: 'utf8' },
    );
    const theirs = performance.now() - t;
    if (dump.status !== 0) throw new Error(`mariadb-dump | mariadb failed: ${dump.stderr}`);
    await check('mariadb-dump | mariadb');
    results.manual = { rows: n, cdcMirrorMs: ours, dumpMs: theirs, ratio: theirs / ours };
    console.log(`  ${'cdc-mirror manual sync'.padEnd(44)} ${ours.toFixed(0).padStart(8)} ms`);
    console.log(`  ${'mariadb-dump --where … | mariadb'.padEnd(44)} ${theirs.toFixed(0).padStart(8)} ms`);
    console.log(`  ratio: cdc-mirror = ${(theirs / ours).toFixed(2)}x mariadb-dump | mariadb`);
    await off.end();
    await closeAllDatabases();
  } finally {
    await Promise.all([online.stop(), offline.stop()]);
  }
}

/** Minified bundles as serverless-esbuild builds them, per function. */
async function benchBundles(outdir: string): Promise<void> {
  console.log('\n3. bundles (esbuild, minified, node22)');
  await build({
    entryPoints: ['functions/cdc-sync.ts', 'functions/manual-sync.ts'],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    outdir,
    logLevel: 'warning',
  });
  for (const f of ['cdc-sync.js', 'manual-sync.js']) {
    const bytes = statSync(join(outdir, f)).size;
    results[`bundle_${f}`] = bytes;
    console.log(`  ${f.padEnd(44)} ${(bytes / 2 ** 20).toFixed(2).padStart(8)} MB`);
  }
}

/**
 * Cold start as Lambda sees it: a fresh node process loads the cdc-sync bundle and applies a first
 * batch of 1,400 Debezium 2.7 records to a throwaway server; wall time from spawn to exit.
 */
async function benchColdStart(outdir: string): Promise<void> {
  console.log('\n4. cold start: fresh process, import the bundle, apply a first batch of 1,400 records');
  const server = await startThrowawayServer();
  try {
    const raw = await rawConnection(server.url);
    await raw.query(
      'CREATE DATABASE b; CREATE TABLE b.t (id BIGINT PRIMARY KEY, name VARCHAR(64) UNIQUE, v TEXT, n DECIMAL(12,2))',
    );
    await raw.end();
    const dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-cold-'));
    const config = join(dir, 'sync.config.yml');
    writeFileSync(
      config,
      stringify({
        databases: { off: { role: 'offline', url: server.url } },
        cdc: [{ topics: ['bench'], target: 'off' }],
      }),
    );
    const event = join(dir, 'event.json');
    const changes = workload('inserts', 1_400).changes;
    writeFileSync(
      event,
      JSON.stringify(mskEvent(changes.map((c, i) => ({ topic: 'bench', value: message(c, i) })))),
    );
    const script = `const t=Date.now();const {handler}=require(${JSON.stringify(join(outdir, 'cdc-sync.js'))});const ctx={getRemainingTimeInMillis:()=>60000,awsRequestId:'cold',functionName:'cdcSync'};handler(require(${JSON.stringify(event)}),ctx).then(()=>{process.stdout.write(String(Date.now()-t));process.exit(0)},e=>{console.error(e);process.exit(1)})`;
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const reset = await rawConnection(server.url);
      await reset.query('TRUNCATE TABLE b.t');
      await reset.end();
      const t = performance.now();
      const r = spawnSync(process.execPath, ['-e', script], {
        env: {
          ...process.env,
          SYNC_CONFIG: config,
          POWERTOOLS_LOG_LEVEL: 'SILENT',
          POWERTOOLS_METRICS_DISABLED: 'true',
        },
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`cold start run failed: ${r.stderr}`);
      samples.push(performance.now() - t);
    }
    samples.sort((a, b) => a - b);
    const median = samples[2] as number;
    results.coldStartMs = median;
    console.log(
      `  ${'spawn → first batch applied (median of 5)'.padEnd(44)} ${median.toFixed(0).padStart(8)} ms`,
    );
  } finally {
    await server.stop();
  }
}

/** BENCH_ONLY=apply,decode,… runs just those sections (for profiling one of them). */
const only = process.env.BENCH_ONLY?.split(',');
const wanted = (section: string) => !only || only.includes(section);

async function main(): Promise<void> {
  if (wanted('decode')) benchDecode();
  if (wanted('apply')) await benchApply();
  const mem = process.memoryUsage();
  results.rssMiB = mem.rss / 2 ** 20;
  console.log(
    `\nmemory: rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB`,
  );
  const outdir = mkdtempSync(join(tmpdir(), 'cdc-mirror-bundle-'));
  if (wanted('bundles') || wanted('cold')) await benchBundles(outdir);
  if (wanted('cold')) await benchColdStart(outdir);
  if (wanted('manual')) await benchManual();
  if (only) return;
  writeFileSync('bench-results.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log('\nresults written to bench-results.json');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
