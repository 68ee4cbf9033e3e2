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
import { type BuildOptions, build } from 'esbuild';
import { encodeCanal, encodeDebezium, encodeMaxwell, type RawDbRow } from '../dev/encode';
import { assembleDelete, assembleUpsert } from '../shared/assembler/statements';
import { parseConfig } from '../shared/config/load';
import { closeAllDatabases } from '../shared/db/connection';
import { getWriteTarget } from '../shared/db/guard';
import { decodeRecord } from '../shared/formats';
import { parseJsonLossless } from '../shared/formats/json';
import { type SyncContext, startManualSync } from '../shared/manual/sync';
import { introspectTable } from '../shared/schema/introspect';
import { rowImageSql } from '../shared/verify/rows';
import { startThrowawayServer } from '../test/harness/mysql-server';
import { lambdaContext, mskEvent } from '../test/support/kafka';
import { rawConnection, readOnlyQuerier } from '../test/support/raw-connection';

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
  // As Lambda delivers them: base64. The schema is recognised in the base64 text, only the payload decoded.
  const delivered = enveloped.map((m) => ({ base64: Buffer.from(m).toString('base64') }));
  const split = time('Debezium 2.7 with schema: decodeRecord (base64)', () => {
    for (const [i, m] of delivered.entries())
      decodeRecord(m, { topic: 't', partition: 0, offset: String(i), index: 0 }, 'auto');
  });
  console.log(
    `  ratio: whole message parsed / decodeRecord from base64 (schema recognised, payload decoded) = ${(whole / split).toFixed(2)}x`,
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

const APPLY_ROUNDS = 5;

async function benchApply(): Promise<void> {
  const n = 10_000;
  const batch = 1_400;
  console.log(
    `\n2. applying ${n} changes to a throwaway server (median of ${APPLY_ROUNDS} rounds, contenders in turn)`,
  );
  const server = await startThrowawayServer();
  try {
    const raw = await rawConnection(server.url);
    await raw.query(
      'CREATE DATABASE b; CREATE TABLE b.t (id BIGINT PRIMARY KEY, name VARCHAR(64) UNIQUE, v TEXT, n DECIMAL(12,2))',
    );
    const dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-bench-'));
    // As packaging bundles it: the validated config as JSON.
    process.env.SYNC_CONFIG = join(dir, 'sync.config.json');
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const doc = {
      databases: { off: { role: 'offline', url: server.url } },
      cdc: [{ topics: ['bench'], target: 'off' }],
    };
    writeFileSync(process.env.SYNC_CONFIG, JSON.stringify(parseConfig(doc)));
    // The handler as deployed: the bundle serverless-esbuild builds, not these sources run through tsx.
    const bundle = await buildBundles(mkdtempSync(join(tmpdir(), 'cdc-mirror-bench-bundle-')));
    const { handler } = require(join(bundle, 'cdc-sync.js')) as typeof import('../functions/cdc-sync');
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
    const rawRow = (r: Row | null): RawDbRow | undefined =>
      r ? { id: String(r.id), name: r.name, v: r.v, n: r.n } : undefined;
    /** The same change in each wire format a connector sends (Debezium 2.7 as a real connector, with ts_us/ts_ns). */
    const encoders: [string, (c: Change, i: number) => string][] = [
      ['Debezium 2.7, schema envelope', message],
      [
        'Debezium, no schema',
        (c) =>
          encodeDebezium({
            op: c.op,
            db: 'b',
            table: 't',
            columns: table.columns,
            before: rawRow(c.before),
            after: rawRow(c.after),
            withSchema: false,
          }),
      ],
      [
        'Canal flat JSON',
        (c) =>
          encodeCanal({
            type: c.op === 'c' ? 'INSERT' : c.op === 'u' ? 'UPDATE' : 'DELETE',
            db: 'b',
            table: 't',
            columns: table.columns,
            pkNames: ['id'],
            rows: [rawRow(c.after ?? c.before) as RawDbRow],
            ...(c.op === 'u' ? { old: [{ v: c.before?.v ?? null }] } : {}),
          }),
      ],
      [
        'Maxwell',
        (c) =>
          encodeMaxwell({
            type: c.op === 'c' ? 'insert' : c.op === 'u' ? 'update' : 'delete',
            db: 'b',
            table: 't',
            columns: table.columns,
            data: rawRow(c.after ?? c.before) as RawDbRow,
            ...(c.op === 'u' ? { old: { v: c.before?.v ?? null } } : {}),
          }),
      ],
    ];
    for (const kind of ['inserts', 'mixed'] as const) {
      const w = workload(kind, n);
      const final = [...w.after.values()];
      const deleted = w.before.filter((r) => !w.after.has(r.id)).map((r) => ({ id: String(r.id) }));
      const messagesOf = (encode: (c: Change, i: number) => string) => w.changes.map(encode);
      const eventOf = (messages: string[], i: number) =>
        mskEvent(messages.slice(i, i + batch).map((value) => ({ topic: 'bench', value })));
      const gc = () => (globalThis as { gc?: () => void }).gc?.();
      /**
       * [name, prepare]: prepare does the untimed set-up and returns what the clock times; a run that
       * answers a number timed itself (the time it reports).
       */
      const contenders: [string, () => () => Promise<number | undefined>][] = [
        [
          'limit: final rows, multi-row, one transaction',
          () => async () => {
            await db.session(
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
            );
            return undefined;
          },
        ],
        ...encoders.map(([name, encode]): [string, () => () => Promise<number>] => [
          `cdc-mirror: ${name}`,
          () => {
            const messages = messagesOf(encode);
            // As Lambda runs it: one batch at a time, handed over ready-made (built, and the building's
            // garbage collected, off the clock); only the handler is timed.
            return async () => {
              let ms = 0;
              for (let i = 0; i < messages.length; i += batch) {
                const event = eventOf(messages, i);
                gc();
                const t = performance.now();
                await handler(event, lambdaContext());
                ms += performance.now() - t;
              }
              return ms;
            };
          },
        ]),
        [
          'naive: per change a SELECT, then one statement',
          () => async () => {
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
            return undefined;
          },
        ],
      ];
      console.log(
        `  ${kind === 'inserts' ? 'insert-heavy' : 'mixed (75 % updates, 10 % deletes)'}, batches of ${batch}:`,
      );
      // Warm: the first batch of a container (config, pool, guard, bookkeeping tables, schemas) is the cold start's.
      for (const [, encode] of encoders) await handler(eventOf(messagesOf(encode), 0), lambdaContext());
      // Round-robin, not one contender's rounds in a row: a noisy neighbour then slows every contender alike.
      const samples = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
      for (let round = 0; round < APPLY_ROUNDS; round++) {
        for (const [name, prepare] of contenders) {
          await reset(w.before);
          const run = prepare();
          // Each contender starts with the set-up's garbage collected (npm run bench passes --expose-gc).
          gc();
          const t = performance.now();
          const reported = await run();
          samples.get(name)?.push(reported ?? performance.now() - t);
          await check(w.after, name);
        }
      }
      const times = new Map<string, number>();
      for (const [name] of contenders) {
        const sorted = (samples.get(name) as number[]).sort((a, b) => a - b);
        const ms = sorted[Math.floor(sorted.length / 2)] as number;
        times.set(name, ms);
        console.log(
          `    ${name.padEnd(48)} ${ms.toFixed(0).padStart(7)} ms ${((n / ms) * 1000).toFixed(0).padStart(8)} changes/s`,
        );
      }
      const limit = times.get(contenders[0]?.[0] as string) as number;
      const naive = times.get(contenders[contenders.length - 1]?.[0] as string) as number;
      const formats: Record<string, { ms: number; ofLimit: number; timesNaive: number }> = {};
      for (const [name] of encoders) {
        const ours = times.get(`cdc-mirror: ${name}`) as number;
        formats[name] = { ms: ours, ofLimit: limit / ours, timesNaive: naive / ours };
        console.log(
          `    ratio ${name.padEnd(30)} ${(limit / ours).toFixed(2)}x the limit, ${(naive / ours).toFixed(1)}x naive`,
        );
      }
      results[`apply_${kind}`] = { changes: n, batch, limitMs: limit, naiveMs: naive, formats };
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
  console.log(`\n6. manual sync of ${n.toLocaleString('en')} rows`);
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

/**
 * Verification of a 1,000,000-row table (equal, then with 100 planted differences) against copying the
 * whole table with `mariadb-dump | mariadb`: rows/s and bytes read per row.
 */
async function benchVerify(): Promise<void> {
  const n = Number(process.env.BENCH_VERIFY_ROWS ?? 1_000_000);
  console.log(`\n7. verifying ${n.toLocaleString('en')} rows (chunks of 10,000) vs copying them`);
  const [online, offline] = await Promise.all([
    startThrowawayServer({ binlog: true }),
    startThrowawayServer(),
  ]);
  try {
    const ddl =
      'CREATE TABLE v.t (id BIGINT PRIMARY KEY, name VARCHAR(64), v TEXT, n DECIMAL(12,2), at DATETIME(6))';
    const fill = `INSERT INTO v.t SELECT seq, CONCAT('name-', seq), REPEAT('x', 40), seq % 1000 + 0.25,
      '2026-11-25 10:00:00.123456' + INTERVAL seq SECOND FROM seq_1_to_${n}`;
    for (const url of [online.url, offline.url]) {
      const c = await rawConnection(url);
      await c.query(`CREATE DATABASE v; ${ddl}; USE v; ${fill}`);
      await c.end();
    }
    const config = parseConfig({
      databases: { on: { role: 'online', url: online.url }, off: { role: 'offline', url: offline.url } },
      manual: [{ source: 'on', target: 'off', timeBudgetMs: 600_000 }],
    });
    const { startVerify } = await import('../shared/verify/service');
    const ctx = {
      config,
      identity: 'bench',
      remainingMs: () => 900_000,
      continueVerify: async () => {
        throw new Error('the bench verification must finish in one invocation');
      },
    };
    const run = async () => {
      const t = performance.now();
      const answer = await startVerify({ source: 'on', table: 'v.t', chunkSize: 10_000 }, ctx);
      const r = answer.body as {
        rows: { missing: unknown[]; extra: unknown[]; differing: unknown[]; bytesRead: number };
      };
      return { ms: performance.now() - t, r };
    };
    // The first run meets both servers still flushing a million fresh rows: reported, not the figure.
    const cold = await run();
    const equal = await run();
    for (const r of [cold, equal])
      if (r.r.rows.missing.length + r.r.rows.extra.length + r.r.rows.differing.length)
        throw new Error('verify found drift on equal tables');
    const off = await rawConnection(offline.url);
    await off.query(`UPDATE v.t SET v = 'drift' WHERE id % ${Math.floor(n / 100)} = 0`);
    const drifted = await run();
    if (drifted.r.rows.differing.length !== 100)
      throw new Error(`verify found ${drifted.r.rows.differing.length} of 100 differences`);
    // The floor for any verification that digests rows on the servers: the same chunk digests, both
    // servers at once, with no boundaries, sessions or client work (on this machine's two vCPUs the
    // servers share the cores: the floor is about both servers' digest time added up).
    const table = await introspectTable(readOnlyQuerier(off), { schema: 'v', table: 't' });
    const image = rowImageSql(
      table,
      table.columns.map((c) => c.name),
    );
    const on = await rawConnection(online.url);
    await off.query(`UPDATE v.t SET v = REPEAT('x', 40) WHERE id % ${Math.floor(n / 100)} = 0`);
    const floorStart = performance.now();
    for (let lo = 0; lo < n; lo += 10_000) {
      const sql = `SELECT COUNT(*) AS n, BIT_XOR(CRC32(${image})) AS x FROM v.t WHERE id > ${lo} AND id <= ${lo + 10_000}`;
      const [a, b] = await Promise.all([on.query(sql), off.query(sql)]);
      if (JSON.stringify(a[0]) !== JSON.stringify(b[0]))
        throw new Error('the floor found drift on equal tables');
    }
    const floorMs = performance.now() - floorStart;
    await on.end();
    await off.query('DROP DATABASE v; CREATE DATABASE v');
    await off.end();
    const port = (url: string) => new URL(url).port;
    const t = performance.now();
    const dump = spawnSync(
      'bash',
      [
        '-c',
        `mariadb-dump -h127.0.0.1 -P${port(online.url)} -uroot --single-transaction v t | mariadb -h127.0.0.1 -P${port(offline.url)} -uroot v`,
      ],
      { encoding: 'utf8' },
    );
    const copyMs = performance.now() - t;
    if (dump.status !== 0) throw new Error(`mariadb-dump | mariadb failed: ${dump.stderr}`);
    results.verify = {
      rows: n,
      equalMs: equal.ms,
      equalRightAfterLoadMs: cold.ms,
      serverFloorMs: floorMs,
      driftedMs: drifted.ms,
      copyMs,
      timesFasterThanCopy: copyMs / equal.ms,
      bytesPerRowEqual: equal.r.rows.bytesRead / n,
    };
    const line = (label: string, ms: number) =>
      console.log(
        `  ${label.padEnd(44)} ${ms.toFixed(0).padStart(8)} ms ${((n / ms) * 1000).toFixed(0).padStart(9)} rows/s`,
      );
    line('verify, equal tables, right after loading', cold.ms);
    line('verify, equal tables', equal.ms);
    line('verify, 100 rows differing', drifted.ms);
    line('floor: the chunk digests alone, both servers', floorMs);
    line('copy: mariadb-dump | mariadb', copyMs);
    console.log(
      `  ratio: verify at ${(floorMs / equal.ms).toFixed(2)}x the servers' floor, which is ${(copyMs / floorMs).toFixed(1)}x faster than the copy`,
    );
    console.log(
      `  ratio: verify = ${(copyMs / equal.ms).toFixed(1)}x faster than the copy; ${(equal.r.rows.bytesRead / 1024).toFixed(1)} KiB read in all, ${(equal.r.rows.bytesRead / n).toFixed(4)} bytes per row (digests and keys; 100 rows differing: ${(drifted.r.rows.bytesRead / 1024).toFixed(1)} KiB)`,
    );
    await closeAllDatabases();
  } finally {
    await Promise.all([online.stop(), offline.stop()]);
  }
}

/** Minified bundles as serverless-esbuild builds them, per function. */
/** Builds both functions as `serverless package` does (serverless/esbuild.cjs) into `outdir`. */
async function buildBundles(outdir: string): Promise<string> {
  // Plain CommonJS, because serverless.yml reads it (through serverless/resources.cjs).
  const { esbuildOptions } = require('../serverless/esbuild.cjs') as { esbuildOptions: BuildOptions };
  await build({
    ...esbuildOptions,
    entryPoints: ['functions/cdc-sync.ts', 'functions/manual-sync.ts'],
    outdir,
    logLevel: 'warning',
  });
  return outdir;
}

async function benchBundles(outdir: string): Promise<void> {
  console.log('\n3. bundles (serverless/esbuild.cjs, as deployed; the .map files beside them not counted)');
  await buildBundles(outdir);
  for (const f of ['cdc-sync.js', 'manual-sync.js']) {
    const bytes = statSync(join(outdir, f)).size;
    results[`bundle_${f}`] = bytes;
    console.log(`  ${f.padEnd(44)} ${(bytes / 2 ** 20).toFixed(2).padStart(8)} MB`);
  }
}

/**
 * Runs the cdc-sync bundle in a fresh node process, as Lambda does (NODE_OPTIONS=--enable-source-maps,
 * as serverless.yml sets), on one event: how long the import and the batch took, and the peak RSS.
 */
function runBundle(
  outdir: string,
  config: string,
  eventFile: string,
): { importMs: number; batchMs: number; peakRssMiB: number } {
  const script = `const {performance}=require('node:perf_hooks');const t0=performance.now();
    const {handler}=require(${JSON.stringify(join(outdir, 'cdc-sync.js'))});const t1=performance.now();
    const ctx={getRemainingTimeInMillis:()=>60000,awsRequestId:'cold',functionName:'cdcSync'};
    const event=JSON.parse(require('node:fs').readFileSync(${JSON.stringify(eventFile)},'utf8'));const t2=performance.now();
    handler(event,ctx).then(()=>{const t3=performance.now();
      process.stdout.write(JSON.stringify({importMs:t1-t0,batchMs:t3-t2,peakRssMiB:process.resourceUsage().maxRSS/1024}));
      process.exit(0)},e=>{console.error(e);process.exit(1)})`;
  const r = spawnSync(process.execPath, ['-e', script], {
    env: {
      ...process.env,
      NODE_OPTIONS: '--enable-source-maps',
      SYNC_CONFIG: config,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`bundle run failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * Cold start as Lambda sees it (fresh process: import the cdc-sync bundle, apply a first batch of 1,400
 * Debezium 2.7 records to a throwaway server), then peak memory of one full 6 MB MSK batch: 10,000 small
 * records, and 1,000 wide ones (a 60-column row of ~6 KB).
 */
async function benchColdStart(outdir: string): Promise<void> {
  console.log('\n4. cold start: fresh process, import the bundle, apply a first batch of 1,400 records');
  const server = await startThrowawayServer();
  try {
    const raw = await rawConnection(server.url);
    const wideColumns = Array.from({ length: 60 }, (_, i) => `c${i}`);
    await raw.query(
      'CREATE DATABASE b; CREATE TABLE b.t (id BIGINT PRIMARY KEY, name VARCHAR(64) UNIQUE, v TEXT, n DECIMAL(12,2));' +
        `CREATE TABLE b.wide (id BIGINT PRIMARY KEY, ${wideColumns.map((c) => `${c} VARCHAR(100)`).join(', ')})`,
    );
    const dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-cold-'));
    // As packaging bundles it: the validated config as JSON.
    const config = join(dir, 'sync.config.json');
    writeFileSync(
      config,
      JSON.stringify(
        parseConfig({
          databases: { off: { role: 'offline', url: server.url } },
          cdc: [{ topics: ['bench'], target: 'off' }],
        }),
      ),
    );
    const eventFile = (name: string, messages: string[]) => {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(mskEvent(messages.map((value) => ({ topic: 'bench', value })))));
      return file;
    };
    const table = await introspectTable(readOnlyQuerier(raw), { schema: 'b', table: 't' });
    const first = eventFile('first', workload('inserts', 1_400).changes.map(message));
    const runs: ReturnType<typeof runBundle>[] = [];
    for (let i = 0; i < 5; i++) {
      await raw.query('TRUNCATE TABLE b.t');
      runs.push(runBundle(outdir, config, first));
    }
    const median = (k: 'importMs' | 'batchMs') => runs.map((r) => r[k]).sort((a, b) => a - b)[2] as number;
    results.coldStart = { importMs: median('importMs'), firstBatchMs: median('batchMs') };
    results.coldStartMs = median('importMs') + median('batchMs');
    console.log(
      `  ${'import the bundle (median of 5)'.padEnd(44)} ${median('importMs').toFixed(0).padStart(8)} ms`,
    );
    console.log(
      `  ${'first batch of 1,400 applied'.padEnd(44)} ${median('batchMs').toFixed(0).padStart(8)} ms`,
    );
    console.log(`  ${'cold start'.padEnd(44)} ${(results.coldStartMs as number).toFixed(0).padStart(8)} ms`);

    console.log('\n5. peak memory of one 6 MB batch (fresh process)');
    await raw.query('TRUNCATE TABLE b.t');
    // Without the schema envelope, as a 6 MB batch of 10,000 records can only be (with it, ~2 KB each).
    const record = (id: number) => ({ id: String(id), name: `n${id}`, v: 'x'.repeat(360), n: '12.50' });
    const small = Array.from({ length: 10_000 }, (_, id) =>
      encodeDebezium({
        op: 'c',
        db: 'b',
        table: 't',
        columns: table.columns,
        after: record(id),
        withSchema: false,
      }),
    );
    const wideRow = (id: number) =>
      Object.fromEntries([
        ['id', String(id)],
        ...wideColumns.map((c) => [c, `${c}-${id}-${'y'.repeat(88)}`]),
      ]);
    const wideTable = await introspectTable(readOnlyQuerier(raw), { schema: 'b', table: 'wide' });
    const wide = Array.from({ length: 1_000 }, (_, id) =>
      encodeDebezium({
        op: 'c',
        db: 'b',
        table: 'wide',
        columns: wideTable.columns,
        after: wideRow(id),
        withSchema: false,
      }),
    );
    for (const [name, messages] of [
      ['10,000 records of ~0.6 KB', small],
      ['1,000 wide records of ~6 KB (60 columns)', wide],
    ] as const) {
      const mb = messages.reduce((sum, m) => sum + Buffer.byteLength(m), 0) / 2 ** 20;
      const run = runBundle(outdir, config, eventFile(name.replace(/\W+/g, '-'), messages));
      results[`peakRss_${name.startsWith('10') ? 'small' : 'wide'}`] = { mb, ...run };
      console.log(
        `  ${`${name} (${mb.toFixed(1)} MB)`.padEnd(44)} ${run.peakRssMiB.toFixed(0).padStart(8)} MiB peak RSS, applied in ${run.batchMs.toFixed(0)} ms`,
      );
    }
    await raw.end();
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
  if (wanted('verify')) await benchVerify();
  if (only) return;
  writeFileSync('bench-results.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log('\nresults written to bench-results.json');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
