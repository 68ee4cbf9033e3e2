/**
 * The whole product on one machine: the online server's binlog captured (dev/capture.ts) and applied by
 * the real cdc-sync handler in this process, and the real manual-sync handler served over HTTP
 * (dev/http.ts). `npm run dev`, `npm run demo` and the pipeline test run it.
 */
import type { Server } from 'node:http';
import type { MSKEvent } from 'aws-lambda';
import mysql from 'mysql2/promise';
import type { BatchSummary } from '../shared/cdc/sync-batch';
import { parseMysqlUrl } from '../shared/config/endpoint';
import { loadConfigFile } from '../shared/config/load';
import type { SyncConfig } from '../shared/config/schema';
import { closeAllDatabases } from '../shared/db/connection';
import { startThrowawayServer, type ThrowawayServer } from '../test/harness/mysql-server';
import { BinlogCapture, type CaptureFormat } from './capture';
import { type HttpHandler, serveHttpFunction } from './http';
import { lambdaContext } from './lambda';
import { DEV_SCHEMA, devSchemaSql } from './schema';

export interface LocalDatabases {
  online: { name: string; url: string };
  offline: { name: string; url: string };
}

/** The online database and the CDC target the local pipeline connects, from the config. */
export function localDatabases(config: SyncConfig): LocalDatabases {
  const online = Object.entries(config.databases).filter(([, d]) => d.role === 'online' && d.url);
  if (online.length !== 1) throw new Error('the local pipeline needs exactly one online database with a url');
  const target = config.cdc[0]?.target;
  const offline = target ? config.databases[target] : undefined;
  if (!target || !offline?.url)
    throw new Error('the local pipeline needs a cdc entry whose target has a url');
  const [name, db] = online[0] as [string, { url: string }];
  return { online: { name, url: db.url }, offline: { name: target, url: offline.url } };
}

async function answers(url: string): Promise<boolean> {
  const e = parseMysqlUrl(url);
  try {
    const conn = await mysql.createConnection({
      host: e.host,
      port: e.port,
      user: e.user,
      password: e.password,
      connectTimeout: 1_000,
    });
    await conn.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * The servers the config names on this machine: each one already answering is used as it is; for each
 * one that does not, a throwaway server is started on its port (the online one with a row binlog).
 */
export async function ensureLocalServers(
  dbs: LocalDatabases,
): Promise<{ started: string[]; stop(): Promise<void> }> {
  const servers: ThrowawayServer[] = [];
  const started: string[] = [];
  for (const [role, db] of [
    ['online', dbs.online],
    ['offline', dbs.offline],
  ] as const) {
    if (await answers(db.url)) continue;
    const { host, port } = parseMysqlUrl(db.url);
    if (!['127.0.0.1', 'localhost'].includes(host))
      throw new Error(`database "${db.name}" at ${host}:${port} does not answer, and is not on this machine`);
    servers.push(await startThrowawayServer({ port, binlog: role === 'online' }));
    started.push(db.name);
  }
  return { started, stop: async () => void (await Promise.all(servers.map((s) => s.stop()))) };
}

/** Creates the dev schema (dev/schema.ts) on both servers where it is missing. */
export async function createDevSchema(dbs: LocalDatabases): Promise<void> {
  for (const db of [dbs.online, dbs.offline]) {
    const e = parseMysqlUrl(db.url);
    const conn = await mysql.createConnection({
      host: e.host,
      port: e.port,
      user: e.user,
      password: e.password,
    });
    try {
      for (const sql of devSchemaSql()) await conn.query(sql);
    } finally {
      await conn.end();
    }
  }
}

export interface PipelineOptions {
  /** The config file both handlers read (as SYNC_CONFIG). */
  configPath: string;
  schemas?: string[];
  format?: CaptureFormat;
  /** Debezium's initial snapshot of the rows already online. */
  snapshot?: boolean;
  /** Where the HTTP function listens on 127.0.0.1 (0: a free port). */
  httpPort?: number;
  batchSize?: number;
  batchWindowMs?: number;
  /** Each applied batch, with its summary (or the error the handler threw). */
  onBatch?(result: { records: number; summary?: BatchSummary; error?: Error }): void;
  onError?(err: Error): void;
}

export interface Pipeline {
  config: SyncConfig;
  databases: LocalDatabases;
  capture: BinlogCapture;
  /** The console and API: `${httpUrl}/` is the web page. */
  httpUrl: string;
  stop(): Promise<void>;
}

export async function startPipeline(opts: PipelineOptions): Promise<Pipeline> {
  process.env.SYNC_CONFIG = opts.configPath;
  const config = loadConfigFile(opts.configPath);
  const databases = localDatabases(config);
  const cdc = (await import('../functions/cdc-sync')).handler as unknown as (
    event: MSKEvent,
    context: unknown,
  ) => Promise<BatchSummary>;
  const manual = (await import('../functions/manual-sync')).handler as unknown as HttpHandler;
  const capture = new BinlogCapture({
    onlineUrl: databases.online.url,
    schemas: opts.schemas ?? [DEV_SCHEMA],
    format: opts.format ?? 'debezium',
    snapshot: opts.snapshot ?? false,
    batchSize: opts.batchSize ?? 500,
    batchWindowMs: opts.batchWindowMs ?? 100,
    deliver: async (event) => {
      const records = Object.values(event.records).reduce((n, list) => n + list.length, 0);
      try {
        opts.onBatch?.({ records, summary: await cdc(event, lambdaContext()) });
      } catch (err) {
        // As Lambda would retry the batch; locally it is reported and the capture goes on.
        opts.onBatch?.({ records, error: err as Error });
      }
    },
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  await capture.start();
  let server: Server | undefined;
  try {
    const http = await serveHttpFunction(manual, opts.httpPort ?? 0);
    server = http.server;
    return {
      config,
      databases,
      capture,
      httpUrl: http.url,
      async stop() {
        await capture.stop();
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
        await closeAllDatabases();
      },
    };
  } catch (err) {
    await capture.stop();
    throw err;
  }
}
