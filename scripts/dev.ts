/**
 * `npm run dev`: the whole product on this machine. Uses the servers sync.config.yml names (or starts
 * throwaway ones on those ports), creates the `shop` schema, follows the online binlog into the
 * cdc-sync handler, and serves the manual-sync function (web console and API) on 127.0.0.1.
 * Change rows online in a SQL shell and watch them arrive offline. Ctrl-C stops what it started.
 *
 *   npm run dev [-- --format canal|maxwell] [--snapshot] [--port 8080] [--config path]
 *               [--batch-size 500] [--window-ms 100]   (records per delivered event; how long a batch may wait)
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CaptureFormat } from '../dev/capture';
import { createDevSchema, ensureLocalServers, localDatabases, startPipeline } from '../dev/pipeline';
import { parseMysqlUrl } from '../shared/config/endpoint';
import { loadConfigFile } from '../shared/config/load';

const { values } = parseArgs({
  options: {
    format: { type: 'string', default: 'debezium' },
    snapshot: { type: 'boolean', default: false },
    port: { type: 'string', default: '8080' },
    config: { type: 'string', default: process.env.SYNC_CONFIG ?? 'sync.config.yml' },
    'batch-size': { type: 'string', default: '500' },
    'window-ms': { type: 'string', default: '100' },
  },
});

async function main(): Promise<void> {
  const format = values.format as CaptureFormat;
  if (!['debezium', 'canal', 'maxwell'].includes(format)) throw new Error(`unknown --format ${format}`);
  for (const name of ['batch-size', 'window-ms', 'port'] as const)
    if (!/^\d+$/.test(String(values[name]))) throw new Error(`--${name} is a whole number`);
  const configPath = resolve(values.config);
  const dbs = localDatabases(loadConfigFile(configPath));
  const servers = await ensureLocalServers(dbs);
  for (const name of servers.started) console.log(`started a throwaway server for "${name}"`);
  await createDevSchema(dbs);
  const pipeline = await startPipeline({
    configPath,
    format,
    snapshot: values.snapshot,
    httpPort: Number(values.port),
    batchSize: Number(values['batch-size']),
    batchWindowMs: Number(values['window-ms']),
    onBatch: ({ records, summary, error }) => {
      const lag = pipeline.capture.stats.lastSourceMs;
      if (error) console.log(`batch of ${records} records failed: ${error.message}`);
      else
        console.log(
          `batch of ${records} records: ${
            Object.entries(summary?.tables ?? {})
              .map(
                ([t, c]) =>
                  `${t} +${c.inserted} ~${c.updated} -${c.deleted}${c.conflicts ? ` !${c.conflicts}` : ''}`,
              )
              .join(', ') || 'nothing to apply'
          }${summary?.deadLettered ? `, ${summary.deadLettered} dead-lettered` : ''}` +
            (lag ? ` (lag ${Math.max(0, Date.now() - lag)} ms)` : ''),
        );
    },
    onError: (err) => console.error(`capture: ${err.message}`),
  });
  const shell = (url: string) => {
    const e = parseMysqlUrl(url);
    return `mariadb -h${e.host} -P${e.port} -u${e.user}${e.password ? ' -p' : ''} shop`;
  };
  console.log(`
cdc-mirror is following ${dbs.online.name} into ${dbs.offline.name} (${format}).

  web console   ${pipeline.httpUrl}/
  API           ${pipeline.httpUrl}/sync, /sync/{jobId}, /dead-letters
  online SQL    ${shell(dbs.online.url)}
  offline SQL   ${shell(dbs.offline.url)}

Change rows online; they arrive offline. Ctrl-C stops.`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    await pipeline.stop();
    await servers.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
