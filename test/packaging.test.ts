import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { offlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';

const run = promisify(execFile);
const repo = resolve(__dirname, '..');

/** `serverless package` for real: offline, with no AWS credentials at all. */
async function slsPackage(configPath: string): Promise<{ dir: string; output: string; ok: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-pkg-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SYNC_CONFIG: configPath,
    CI: 'true',
    SLS_TELEMETRY_DISABLED: '1',
  };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent';
  env.AWS_CONFIG_FILE = '/nonexistent';
  try {
    const { stdout, stderr } = await run(
      join(repo, 'node_modules/.bin/serverless'),
      ['package', '--package', dir],
      {
        cwd: repo,
        env,
        timeout: 180_000,
      },
    );
    return { dir, output: stdout + stderr, ok: true };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { dir, output: `${e.stdout ?? ''}${e.stderr ?? ''}`, ok: false };
  }
}

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('serverless package', () => {
  let template: { Resources: Record<string, Resource> };
  let dir: string;

  beforeAll(async () => {
    const path = useConfig({
      service: 'cdc-mirror-test',
      databases: {
        online: { role: 'online', url: 'mysql://r:p@10.0.0.1:3306' },
        offline: {
          role: 'offline',
          secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:offline-AbCdEf',
        },
      },
      api: { auth: { type: 'jwt', issuer: 'https://id.example.com/', audience: ['cdc-mirror'] } },
      cdc: [
        {
          topics: ['dbserver1.shop.t_config', 'dbserver1.shop.t_user'],
          target: 'offline',
          msk: { arn: 'arn:aws:kafka:us-east-1:123456789012:cluster/prod/abc-1' },
          batchSize: 200,
          retry: {
            maximumRetryAttempts: 4,
            reportBatchItemFailures: true,
            provisionedPollers: { minimumPollers: 1, maximumPollers: 3 },
          },
        },
        {
          topics: ['canal.shop.orders'],
          target: 'offline',
          msk: { arn: 'arn:aws:kafka:us-east-1:123456789012:cluster/other/def-2' },
        },
        {
          topics: ['tidb.shop.items'],
          target: 'offline',
          kafka: {
            bootstrapServers: ['kafka-1.internal:9092'],
            accessConfigurations: {
              saslScram512Auth: ['arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka'],
            },
          },
        },
      ],
      manual: [{ source: 'online', target: 'offline' }],
    });
    const result = await slsPackage(path);
    expect(result.ok, result.output).toBe(true);
    dir = result.dir;
    template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  }, 240_000);

  const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

  it('has one event source mapping per configured topic', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
    expect(mappings.flatMap((m) => m.Topics).sort()).toEqual([
      'canal.shop.orders',
      'dbserver1.shop.t_config',
      'dbserver1.shop.t_user',
      'tidb.shop.items',
    ]);
    const config = mappings.find((m) => (m.Topics as string[])[0] === 'dbserver1.shop.t_config');
    expect(config).toMatchObject({
      EventSourceArn: 'arn:aws:kafka:us-east-1:123456789012:cluster/prod/abc-1',
      BatchSize: 200,
      MaximumRetryAttempts: 4,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 3 },
    });
    const tidb = mappings.find((m) => (m.Topics as string[])[0] === 'tidb.shop.items');
    expect(tidb).toMatchObject({
      SelfManagedEventSource: { Endpoints: { KafkaBootstrapServers: ['kafka-1.internal:9092'] } },
    });
  });

  it('runs both functions on nodejs22.x with the right handlers', () => {
    const fns = Object.fromEntries(ofType('AWS::Lambda::Function').map(([id, r]) => [id, r.Properties]));
    expect(fns.CdcSyncLambdaFunction).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'functions/cdc-sync.handler',
    });
    expect(fns.ManualSyncLambdaFunction).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'functions/manual-sync.handler',
    });
  });

  it('puts every HTTP route behind the JWT authorizer', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual([
      'GET /',
      'GET /dead-letters',
      'GET /sync/{jobId}',
      'POST /dead-letters/{id}/retry',
      'POST /sync',
    ]);
    expect(routes.every((r) => r.AuthorizationType === 'JWT')).toBe(true);
    const [[, authorizer]] = ofType('AWS::ApiGatewayV2::Authorizer') as [[string, Resource]];
    expect(authorizer.Properties).toMatchObject({
      JwtConfiguration: { Issuer: 'https://id.example.com/', Audience: ['cdc-mirror'] },
    });
  });

  it('grants the configured secret only', () => {
    const role = template.Resources.IamRoleLambdaExecution as Resource;
    const text = JSON.stringify(role.Properties);
    expect(text).toContain('arn:aws:secretsmanager:us-east-1:123456789012:secret:offline-AbCdEf');
    expect(text).not.toMatch(/"Action":\["secretsmanager:\*"\]|"Resource":"\*","Action":\["secretsmanager/);
  });

  it('bundles the handler and the config it was generated from', async () => {
    const { stdout } = await run('unzip', ['-l', join(dir, 'cdcSync.zip')]);
    expect(stdout).toContain('functions/cdc-sync.js');
    const bundled = /\.build-config\/[0-9a-f]+\/sync\.config\.yml/.exec(stdout)?.[0];
    expect(bundled).toBeDefined();
    const fn = template.Resources.CdcSyncLambdaFunction as Resource;
    expect(fn.Properties.Environment).toMatchObject({ Variables: { SYNC_CONFIG: bundled } });
    const { stdout: cfg } = await run('unzip', ['-p', join(dir, 'cdcSync.zip'), bundled as string]);
    expect(cfg).toContain('tidb.shop.items');
  });

  it('fails with the bad key named when the config is invalid', async () => {
    const path = useConfig({
      databases: { online: { role: 'online', url: 'mysql://r:p@10.0.0.1:3306' } },
      cdc: [{ topics: ['t'], target: 'online' }],
    });
    const result = await slsPackage(path);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('cdc[0].target');
  }, 120_000);
});

/**
 * In the same file as packaging on purpose: concurrent serverless runs in one service directory share
 * serverless-esbuild's build folder.
 */
describe('serverless invoke local', () => {
  it('applies a sample event against local servers', async () => {
    const schema = uniqueSchema('invoke');
    const offline = await rawConnection(offlineUrl());
    await offline.query(
      `CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t_config (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL UNIQUE,
        value TEXT, price DECIMAL(12,2), updated_at DATETIME(3)) DEFAULT CHARSET=utf8mb4`,
    );
    try {
      const configPath = useConfig({
        databases: { offline: { role: 'offline', url: offlineUrl() } },
        cdc: [{ topics: ['dbserver1.shop.t_config'], target: 'offline', schemas: { shop: schema } }],
      });
      const { stdout } = await run(
        join(repo, 'node_modules/.bin/serverless'),
        ['invoke', 'local', '-f', 'cdcSync', '-p', 'events/msk-maxwell.json'],
        {
          cwd: repo,
          env: { ...process.env, SYNC_CONFIG: configPath, POWERTOOLS_METRICS_DISABLED: 'true' },
          timeout: 120_000,
        },
      );
      expect(stdout).toContain('"deadLettered": 0');
      const [rows] = await offline.query(`SELECT id, value FROM ${schema}.t_config`);
      expect(rows).toEqual([{ id: '2', value: '5000' }]);
    } finally {
      await offline.query(`DROP DATABASE ${schema}`);
      await offline.end();
    }
  }, 150_000);
});
