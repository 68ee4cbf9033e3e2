/**
 * Convergence soak: `npm run soak -- --events 1000000 [--seed 1] [--fault-rate 0.1] [--capture]`.
 * Starts throwaway online/offline servers, runs a seeded random workload online, delivers its change
 * messages through the CDC handler in random batches with re-deliveries and injected connection kills,
 * then compares every row. Exits non-zero unless rows lost and rows differing are both 0.
 * The messages are what each connector would publish for the rows the workload reads back; with
 * `--capture` they are read from the online binlog instead (dev/capture.ts, Debezium with schema).
 */

import { parseArgs } from 'node:util';
import { BinlogCapture } from '../dev/capture';
import { startThrowawayServer } from '../test/harness/mysql-server';
import { useConfig } from '../test/support/config-file';
import { rawConnection } from '../test/support/raw-connection';
import { diffRows, runSoak } from '../test/support/soak';
import { CapturingWorkload, rng, tableChecksums, WORKLOAD_TABLES } from '../test/support/workload';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '100000' },
      seed: { type: 'string', default: '1' },
      'fault-rate': { type: 'string', default: '0.1' },
      capture: { type: 'boolean', default: false },
    },
  });
  const events = Number(values.events);
  const seed = Number(values.seed);
  const [onlineServer, offlineServer] = await Promise.all([
    startThrowawayServer({ binlog: true }),
    startThrowawayServer(),
  ]);
  try {
    const schema = 'soak';
    const online = await rawConnection(onlineServer.url);
    const offline = await rawConnection(offlineServer.url);
    const workload = new CapturingWorkload(online, schema, rng(seed), [
      'debezium',
      'debezium-noschema',
      'canal',
      'maxwell',
    ]);
    await workload.setup();
    await offline.query(`CREATE DATABASE ${schema} CHARACTER SET utf8mb4`);
    for (const [name, ddl] of Object.entries(WORKLOAD_TABLES))
      await offline.query(`CREATE TABLE ${schema}.${name} ${ddl}`);
    process.env.POWERTOOLS_LOG_LEVEL ??= 'CRITICAL';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    useConfig({
      databases: {
        online: { role: 'online', url: onlineServer.url },
        offline: { role: 'offline', url: offlineServer.url },
      },
      cdc: [{ topics: ['soak'], target: 'offline' }],
    });
    const { handler } = await import('../functions/cdc-sync');
    let capture: BinlogCapture | undefined;
    if (values.capture) {
      workload.emitMessages = false;
      capture = new BinlogCapture({
        onlineUrl: onlineServer.url,
        schemas: [schema],
        batchSize: 10_000,
        batchWindowMs: 5,
        // The soak batches (and re-delivers) the captured messages itself, all on its one topic.
        deliver: async (event) => {
          for (const list of Object.values(event.records))
            for (const r of list) workload.messages.push(Buffer.from(r.value, 'base64').toString('utf8'));
        },
        onError: (err) => {
          console.error(`capture: ${err.message}`);
          process.exit(1);
        },
      });
      await capture.start();
    }
    const started = Date.now();
    let lastPrint = 0;
    const report = await runSoak({
      workload,
      handler: handler as never,
      topic: 'soak',
      events,
      seed: seed + 1,
      killer: offline,
      faultRate: Number(values['fault-rate']),
      ...(capture ? { settle: () => (capture as BinlogCapture).caughtUp() } : {}),
      onProgress: (done) => {
        if (Date.now() - lastPrint > 5000) {
          lastPrint = Date.now();
          process.stderr.write(
            `  ${done}/${events} events, ${Math.round(done / ((Date.now() - started) / 1000))}/s\n`,
          );
        }
      },
    });
    await capture?.stop();
    const diff = await diffRows(online, offline, schema);
    const sums = [await tableChecksums(online, schema), await tableChecksums(offline, schema)];
    const result = {
      ...report,
      seconds: Math.round((Date.now() - started) / 1000),
      rowsLost: diff.lost,
      rowsDiffering: diff.differing,
      checksumsEqual: JSON.stringify(sums[0]) === JSON.stringify(sums[1]),
    };
    console.log(JSON.stringify(result, null, 2));
    await online.end();
    await offline.end();
    const { closeAllDatabases } = await import('../shared/db/connection');
    await closeAllDatabases();
    process.exitCode = diff.lost === 0 && diff.differing === 0 && result.checksumsEqual ? 0 : 1;
  } finally {
    await Promise.all([onlineServer.stop(), offlineServer.stop()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
