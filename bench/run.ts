/**
 * `npm run bench`: speed and memory goals, measured side by side in one run and reported as ratios
 * (absolute numbers depend on the machine; ratios between alternatives on the same machine do not).
 *
 * 1. Decoding: the lossless JSON path (every number keeps its source text) vs plain JSON.parse (which
 *    would turn 1.0 into 1 and lose digits), on realistic Debezium messages: the price of exactness.
 * 2. Applying: the coalescing multi-row writer vs one statement per change, against a throwaway server.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { assembleUpsert } from '../shared/assembler/statements';
import { parseConfig } from '../shared/config/load';
import { closeAllDatabases } from '../shared/db/connection';
import { getWriteTarget } from '../shared/db/guard';
import { parseJsonLossless } from '../shared/formats/json';
import { introspectTable } from '../shared/schema/introspect';
import { startThrowawayServer } from '../test/harness/mysql-server';
import { lambdaContext, mskEvent } from '../test/support/kafka';
import { rawConnection } from '../test/support/raw-connection';

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
}

async function benchApply(): Promise<void> {
  const rows = 5_000;
  console.log(`\n2. applying ${rows} inserts + ${rows} updates to a throwaway server`);
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
    const msgs = (op: 'c' | 'u') =>
      Array.from({ length: rows }, (_, i) =>
        JSON.stringify({
          op,
          source: { db: 'b', table: 't', ts_ms: Date.now() },
          before: op === 'u' ? { id: i, name: `n${i}`, v: 'a', n: '1.00' } : null,
          after: { id: i, name: `n${i}`, v: op === 'u' ? 'b' : 'a', n: op === 'u' ? '2.50' : '1.00' },
        }),
      );
    const t0 = performance.now();
    for (let i = 0; i < rows; i += 500) {
      await handler(
        mskEvent(
          [...msgs('c'), ...msgs('u')].slice(i * 2, i * 2 + 1000).map((value) => ({ topic: 'bench', value })),
        ),
        lambdaContext(),
      );
    }
    const batched = performance.now() - t0;
    console.log(`  ${'cdc-mirror writer (batches of 1000)'.padEnd(44)} ${batched.toFixed(1).padStart(8)} ms`);

    await raw.query('TRUNCATE TABLE b.t');
    const db = await getWriteTarget('off', parseConfig(doc));
    const table = await introspectTable(db, { schema: 'b', table: 't' });
    const t1 = performance.now();
    for (const op of ['c', 'u'] as const) {
      for (let i = 0; i < rows; i++) {
        const row = {
          id: String(i),
          name: `n${i}`,
          v: op === 'u' ? 'b' : 'a',
          n: op === 'u' ? '2.50' : '1.00',
        };
        for (const stmt of assembleUpsert(table, [row], db.dialect)) await db.execute(stmt);
      }
    }
    const single = performance.now() - t1;
    console.log(`  ${'one autocommit statement per change'.padEnd(44)} ${single.toFixed(1).padStart(8)} ms`);
    console.log(`  ratio: per-change / cdc-mirror = ${(single / batched).toFixed(2)}x`);
    await raw.end();
    await closeAllDatabases();
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  benchDecode();
  await benchApply();
  const mem = process.memoryUsage();
  console.log(
    `\nmemory: rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
