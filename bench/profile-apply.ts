/** Profiling aid: applies the bench's insert-heavy Debezium stream repeatedly (run under --cpu-prof). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { startThrowawayServer } from '../test/harness/mysql-server';
import { lambdaContext, mskEvent } from '../test/support/kafka';
import { rawConnection } from '../test/support/raw-connection';

const SCHEMA = JSON.stringify({ type: 'struct', fields: [], optional: false, name: 'x' });
const kind = process.env.KIND ?? 'inserts';

async function main() {
  const server = await startThrowawayServer();
  try {
    const raw = await rawConnection(server.url);
    await raw.query(
      'CREATE DATABASE b; CREATE TABLE b.t (id BIGINT PRIMARY KEY, name VARCHAR(64) UNIQUE, v TEXT, n DECIMAL(12,2))',
    );
    const dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-prof-'));
    process.env.SYNC_CONFIG = join(dir, 'sync.config.yml');
    writeFileSync(
      process.env.SYNC_CONFIG,
      stringify({
        databases: { off: { role: 'offline', url: server.url } },
        cdc: [{ topics: ['bench'], target: 'off' }],
      }),
    );
    const { handler } = await import('../functions/cdc-sync');
    const n = 10_000;
    const msg = (i: number, op: string, before: unknown, after: unknown) =>
      JSON.stringify({
        schema: JSON.parse(SCHEMA),
        payload: {
          before,
          after,
          source: {
            version: '2.7.0.Final',
            connector: 'mysql',
            name: 'x',
            ts_ms: 1,
            db: 'b',
            table: 't',
            server_id: 1,
            file: 'binlog.000003',
            pos: 4 + i,
            row: 0,
          },
          op,
          ts_ms: 1732000000000 + i,
          ts_us: 1732000000000000 + i,
          ts_ns: 1732000000000000000n.toString(),
        },
      });
    const row = (id: number, v: string) => ({
      id,
      name: `n${id}`,
      v,
      n: `${id % 1000}.${String(id % 100).padStart(2, '0')}`,
    });
    const rounds = Number(process.env.ROUNDS ?? 6);
    for (let round = 0; round < rounds; round++) {
      await raw.query('TRUNCATE TABLE b.t');
      if (kind === 'mixed')
        for (let i = 0; i < n; i += 1000)
          await raw.query(
            `INSERT INTO b.t VALUES ${Array.from({ length: 1000 }, (_, j) => `(${i + j}, 'n${i + j}', 'a', '1.00')`).join(',')}`,
          );
      const messages = Array.from({ length: n }, (_, i) =>
        kind === 'mixed' ? msg(i, 'u', row(i, 'a'), row(i, `v${i}`)) : msg(i, 'c', null, row(i, `v${i}`)),
      );
      const batches = [];
      for (let i = 0; i < n; i += 1400)
        batches.push(mskEvent(messages.slice(i, i + 1400).map((value) => ({ topic: 'bench', value }))));
      const t = performance.now();
      const c0 = process.cpuUsage();
      for (const b of batches) await handler(b, lambdaContext());
      console.log(
        `round ${round}: ${(performance.now() - t).toFixed(0)} ms, cpu ${JSON.stringify(process.cpuUsage(c0))}`,
      );
    }
    if (process.env.GENLOG) {
      await raw.query("SET GLOBAL log_output='TABLE'");
      await raw.query('SET GLOBAL general_log=1');
      const messages = Array.from({ length: 1400 }, (_, i) => msg(i, 'c', null, row(20000 + i, 'x')));
      await handler(mskEvent(messages.map((value) => ({ topic: 'bench', value }))), lambdaContext());
      await raw.query('SET GLOBAL general_log=0');
      const [log] = await raw.query('SELECT command_type, LEFT(argument, 120) AS a FROM mysql.general_log');
      for (const l of log as { command_type: string; a: Buffer }[]) console.log(l.command_type, String(l.a));
    }
    await raw.end();
  } finally {
    await server.stop();
  }
  process.exit(0);
}
main();
