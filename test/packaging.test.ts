import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ROUTES, routeKey } from '../shared/manual/routes';
import { offlineUrl, rawConnection, uniqueSchema, useConfig } from './support/env';

const run = promisify(execFile);
const repo = resolve(__dirname, '..');
const serverless = join(repo, 'node_modules/.bin/serverless');
const tmpDirs: string[] = [];

/** The environment of a machine with no AWS credentials at all: packaging must not need any. */
function credentialFreeEnv(configPath: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SYNC_CONFIG: configPath, SLS_TELEMETRY_DISABLED: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent';
  env.AWS_CONFIG_FILE = '/nonexistent';
  // No instance metadata either.
  env.AWS_EC2_METADATA_DISABLED = 'true';
  return env;
}

/** `serverless package` for real, into a temporary directory. */
async function slsPackage(configPath: string): Promise<{ dir: string; output: string; ok: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-pkg-'));
  tmpDirs.push(dir);
  const options = { cwd: repo, env: credentialFreeEnv(configPath), timeout: 180_000, maxBuffer: 16 << 20 };
  try {
    const { stdout, stderr } = await run(serverless, ['package', '--package', dir], options);
    return { dir, output: stdout + stderr, ok: true };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { dir, output: `${e.stdout ?? ''}${e.stderr ?? ''}`, ok: false };
  }
}

afterAll(() => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

type Resource = { Type: string; DependsOn?: unknown; Properties: Record<string, unknown> };
type Statement = { Effect: string; Action: string[]; Resource: unknown };

const MSK_A = 'arn:aws:kafka:us-east-1:123456789012:cluster/prod/abc-1';
const MSK_B = 'arn:aws:kafka:us-east-1:123456789012:cluster/other/def-2';
const DB_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:offline-AbCdEf';
const KAFKA_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-XyZ123';
const DLQ = 'arn:aws:sqs:us-east-1:123456789012:cdc-mirror-failed';

describe('serverless package', () => {
  let template: { Resources: Record<string, Resource> };
  let dir: string;

  beforeAll(async () => {
    const path = useConfig({
      service: 'cdc-mirror-test',
      region: 'eu-west-1',
      databases: {
        online: { role: 'online', url: 'mysql://r:p@10.0.0.1:3306' },
        offline: { role: 'offline', secretId: DB_SECRET },
      },
      api: { auth: { type: 'jwt', issuer: 'https://id.example.com/', audience: ['cdc-mirror'] } },
      cdc: [
        {
          topics: ['dbserver1.shop.t_config', 'dbserver1.shop.t_user'],
          target: 'offline',
          msk: { arn: MSK_A },
          batchSize: 200,
          retry: {
            maximumRetryAttempts: 4,
            reportBatchItemFailures: true,
            provisionedPollers: { minimumPollers: 1, maximumPollers: 3 },
            onFailureDestination: DLQ,
          },
        },
        { topics: ['canal.shop.orders'], target: 'offline', msk: { arn: MSK_B }, startingPosition: 'LATEST' },
        {
          topics: ['tidb.shop.items'],
          target: 'offline',
          kafka: {
            bootstrapServers: ['kafka-1.internal:9092', 'kafka-2.internal:9092'],
            accessConfigurations: { saslScram512Auth: [KAFKA_SECRET] },
          },
          batchSize: 1000,
          retry: {
            maximumRetryAttempts: 2,
            bisectBatchOnFunctionError: false,
            provisionedPollers: { minimumPollers: 1, maximumPollers: 2 },
          },
        },
        { topics: ['local.only'], target: 'offline' },
      ],
      manual: [{ source: 'online', target: 'offline' }],
      verify: [{ source: 'online', table: 'shop.t_config', where: 'id < 1000' }],
    });
    const result = await slsPackage(path);
    expect(result.ok, result.output).toBe(true);
    dir = result.dir;
    template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  }, 240_000);

  const ofType = (type: string) =>
    Object.fromEntries(
      Object.entries(template.Resources)
        .filter(([, r]) => r.Type === type)
        .map(([id, r]) => [id, r.Properties]),
    );
  const statements = (): Statement[] => {
    const role = template.Resources.IamRoleLambdaExecution as Resource;
    const [policy] = role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[];
    return policy?.PolicyDocument.Statement ?? [];
  };
  const resourcesOf = (action: string) =>
    statements()
      .filter((s) => s.Action.includes(action))
      .flatMap((s) => s.Resource);

  it('has one event source mapping per configured topic, with the entry settings and retry extensions', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    const byTopic = Object.fromEntries(Object.values(mappings).map((m) => [(m.Topics as string[])[0], m]));
    expect(Object.keys(byTopic).sort()).toEqual([
      'canal.shop.orders',
      'dbserver1.shop.t_config',
      'dbserver1.shop.t_user',
      'tidb.shop.items',
    ]);
    expect(Object.values(mappings).every((m) => (m.Topics as string[]).length === 1)).toBe(true);
    const configured = {
      EventSourceArn: MSK_A,
      FunctionName: { 'Fn::GetAtt': ['CdcSyncLambdaFunction', 'Arn'] },
      BatchSize: 200,
      StartingPosition: 'TRIM_HORIZON',
      Enabled: true,
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 3 },
      // From resources.extensions:
      MaximumRetryAttempts: 4,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: DLQ } },
    };
    expect(mappings.CdcSyncEventSourceMappingMSKProdDbserver1shoptconfig).toEqual({
      ...configured,
      Topics: ['dbserver1.shop.t_config'],
      MaximumBatchingWindowInSeconds: 1,
    });
    expect(byTopic['dbserver1.shop.t_user']).toMatchObject(configured);
    expect(byTopic['canal.shop.orders']).toMatchObject({
      EventSourceArn: MSK_B,
      BatchSize: 500,
      StartingPosition: 'LATEST',
    });
    // On-demand mapping: Lambda's own retry behaviour, no provisioned-mode error controls.
    for (const prop of ['FunctionResponseTypes', 'MaximumRetryAttempts', 'BisectBatchOnFunctionError']) {
      expect(byTopic['canal.shop.orders']).not.toHaveProperty(prop);
    }
    expect(byTopic['tidb.shop.items']).toEqual({
      FunctionName: { 'Fn::GetAtt': ['CdcSyncLambdaFunction', 'Arn'] },
      Topics: ['tidb.shop.items'],
      SelfManagedEventSource: {
        Endpoints: { KafkaBootstrapServers: ['kafka-1.internal:9092', 'kafka-2.internal:9092'] },
      },
      SourceAccessConfigurations: [{ Type: 'SASL_SCRAM_512_AUTH', URI: KAFKA_SECRET }],
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 1,
      Enabled: true,
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 2 },
      MaximumRetryAttempts: 2,
      BisectBatchOnFunctionError: false,
    });
  });

  it('runs both functions on nodejs22.x/arm64 with the right handlers, timeouts and config path', () => {
    const fns = ofType('AWS::Lambda::Function');
    const common = {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: {
          SYNC_CONFIG: expect.stringMatching(/^\.build-config\/[0-9a-f]{16}\/sync\.config\.json$/),
          POWERTOOLS_SERVICE_NAME: 'cdc-mirror-test-dev',
          POWERTOOLS_METRICS_NAMESPACE: 'cdc-mirror',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    };
    expect(fns.CdcSyncLambdaFunction).toMatchObject({
      ...common,
      FunctionName: 'cdc-mirror-test-dev-cdcSync',
      Handler: 'functions/cdc-sync.handler',
      Timeout: 300,
    });
    expect(fns.ManualSyncLambdaFunction).toMatchObject({
      ...common,
      FunctionName: 'cdc-mirror-test-dev-manualSync',
      Handler: 'functions/manual-sync.handler',
      Timeout: 60,
      MemorySize: 1024,
    });
  });

  it('declares every route the function serves, all behind the JWT authorizer but the page and its sign-in settings', () => {
    const routes = Object.values(ofType('AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(HTTP_ROUTES.map(routeKey).sort());
    const open = routes.filter((r) => r.AuthorizationType !== 'JWT').map((r) => r.RouteKey);
    expect(open.sort()).toEqual(['GET /', 'GET /auth-config']);
    expect(Object.values(ofType('AWS::ApiGatewayV2::Authorizer'))).toEqual([
      expect.objectContaining({
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: { Issuer: 'https://id.example.com/', Audience: ['cdc-mirror'] },
      }),
    ]);
  });

  it('schedules each configured verification (nightly by default) and alarms on drift', () => {
    const rules = Object.values(ofType('AWS::Events::Rule'));
    expect(rules).toHaveLength(1);
    const rule = rules[0] as Resource['Properties'];
    expect(rule.ScheduleExpression).toBe('cron(0 3 * * ? *)');
    const target = (rule.Targets as { Input: string }[])[0] as { Input: string };
    expect(JSON.parse(target.Input)).toEqual({
      cdcMirrorVerify: {
        source: 'online',
        table: 'shop.t_config',
        where: 'id < 1000',
        rowsPerSecond: 20_000,
      },
    });
    const alarm = Object.values(ofType('AWS::CloudWatch::Alarm')).find(
      (a) => (a as Resource['Properties']).MetricName === 'RowsDrifted',
    );
    expect(alarm).toMatchObject({
      Namespace: 'cdc-mirror',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('grants exactly the configured secrets, self-invocation and the MSK clusters', () => {
    // The database secret (ours) and the Kafka SASL secret (osls, for the poller); nothing broader.
    expect(new Set(resourcesOf('secretsmanager:GetSecretValue'))).toEqual(new Set([DB_SECRET, KAFKA_SECRET]));
    expect(statements().some((s) => s.Action.some((a) => a.endsWith(':*')) || s.Action.includes('*'))).toBe(
      false,
    );
    expect(JSON.stringify(resourcesOf('lambda:InvokeFunction'))).toContain(
      ':function:cdc-mirror-test-dev-manualSync',
    );
    expect(new Set(resourcesOf('kafka:DescribeClusterV2'))).toEqual(new Set([MSK_A, MSK_B]));
    expect(resourcesOf('sqs:SendMessage')).toEqual([DLQ]);
  });

  it('bundles the handler and the config it was generated from, nothing stale', async () => {
    const { stdout } = await run('unzip', ['-Z1', join(dir, 'cdcSync.zip')]);
    const files = stdout.trim().split('\n').sort();
    const fn = template.Resources.CdcSyncLambdaFunction as Resource;
    const configPath = (fn.Properties.Environment as { Variables: { SYNC_CONFIG: string } }).Variables
      .SYNC_CONFIG;
    expect(files).toEqual([configPath, 'functions/cdc-sync.js', 'functions/cdc-sync.js.map'].sort());
    const { stdout: bundled } = await run('unzip', ['-p', join(dir, 'cdcSync.zip'), configPath]);
    expect(bundled).toContain('tidb.shop.items');
    const { stdout: manual } = await run('unzip', ['-Z1', join(dir, 'manualSync.zip')]);
    expect(manual).toContain('functions/manual-sync.js');
    expect(manual).toContain(configPath);
  });

  it('fails with the bad key named when the config is invalid', async () => {
    const path = useConfig({
      databases: { online: { role: 'online', url: 'mysql://r:p@10.0.0.1:3306' } },
      cdc: [{ topics: ['t'], target: 'online', msk: { arn: MSK_A } }],
    });
    const result = await slsPackage(path);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('cdc[0].target: "online" has role "online"');
  }, 120_000);

  // --- alarms and dashboard (sync.config.yml `alarms`, on by default) ---

  const ALARM_PREFIX = 'cdc-mirror-test-dev-';
  const DEPTH_ALARM = 'FailureDestinationCdcmirrorfailedDepthAlarm';
  const alarmsOf = (t: typeof template) =>
    Object.fromEntries(
      Object.entries(t.Resources)
        .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
        .map(([id, r]) => [id, r.Properties]),
    );
  const dashboardsOf = (t: typeof template) =>
    Object.values(t.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');

  it('generates the alarms by default: lag, dead letters, errors and throttles, failure queue depth', () => {
    const alarms = alarmsOf(template);
    expect(Object.keys(alarms).sort()).toEqual(
      [
        'ReplicationLagAlarm',
        'DeadLettersAlarm',
        'CdcSyncErrorsAlarm',
        'CdcSyncThrottlesAlarm',
        'ManualSyncErrorsAlarm',
        'ManualSyncThrottlesAlarm',
        'RowsDriftedAlarm',
        DEPTH_ALARM,
      ].sort(),
    );
    // Stage-qualified, as serverless.yml sets POWERTOOLS_SERVICE_NAME: one stage never alarms on another's metrics.
    const service = [{ Name: 'service', Value: 'cdc-mirror-test-dev' }];
    const fn = (id: string) => [{ Name: 'FunctionName', Value: { Ref: id } }];
    const expected: Record<string, Record<string, unknown>> = {
      ReplicationLagAlarm: {
        AlarmName: `${ALARM_PREFIX}replication-lag`,
        Namespace: 'cdc-mirror',
        MetricName: 'ReplicationLag',
        Dimensions: service,
        Statistic: 'Maximum',
        Threshold: 300_000,
        EvaluationPeriods: 3,
        TreatMissingData: 'ignore',
      },
      DeadLettersAlarm: {
        AlarmName: `${ALARM_PREFIX}dead-letters`,
        Namespace: 'cdc-mirror',
        MetricName: 'RowsDeadLettered',
        Dimensions: service,
        Statistic: 'Sum',
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      },
      CdcSyncErrorsAlarm: {
        AlarmName: `${ALARM_PREFIX}cdcSync-errors`,
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: fn('CdcSyncLambdaFunction'),
        Threshold: 0,
      },
      CdcSyncThrottlesAlarm: {
        AlarmName: `${ALARM_PREFIX}cdcSync-throttles`,
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: fn('CdcSyncLambdaFunction'),
      },
      ManualSyncErrorsAlarm: {
        AlarmName: `${ALARM_PREFIX}manualSync-errors`,
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: fn('ManualSyncLambdaFunction'),
      },
      ManualSyncThrottlesAlarm: {
        AlarmName: `${ALARM_PREFIX}manualSync-throttles`,
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: fn('ManualSyncLambdaFunction'),
      },
      [DEPTH_ALARM]: {
        AlarmName: `${ALARM_PREFIX}failure-destination-cdc-mirror-failed`,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: 'cdc-mirror-failed' }],
        Statistic: 'Maximum',
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      },
    };
    for (const [id, properties] of Object.entries(expected)) {
      expect(alarms[id], id).toMatchObject({
        ...properties,
        Period: 300,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmDescription: expect.any(String),
      });
      // No notification target configured: the alarms change state and notify no one.
      expect(alarms[id], id).not.toHaveProperty('AlarmActions');
      expect(alarms[id], id).not.toHaveProperty('OKActions');
    }
    // The functions they watch are the ones in this template.
    expect(template.Resources.CdcSyncLambdaFunction?.Type).toBe('AWS::Lambda::Function');
    expect(template.Resources.ManualSyncLambdaFunction?.Type).toBe('AWS::Lambda::Function');
  });

  it('generates a dashboard whose body is JSON naming the metrics, with only resolvable substitutions', () => {
    const dashboards = dashboardsOf(template);
    expect(dashboards).toHaveLength(1);
    const dashboard = dashboards[0] as Resource;
    expect(dashboard.Properties.DashboardName).toBe('cdc-mirror-test-dev');
    const text = (dashboard.Properties.DashboardBody as { 'Fn::Sub': string })['Fn::Sub'];
    expect(typeof text).toBe('string');
    // Every ${...} is the region, or a resource of this template (or its Arn): all resolvable.
    const refs = [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1] as string);
    expect(refs).toContain('AWS::Region');
    for (const ref of refs.filter((r) => r !== 'AWS::Region')) {
      expect(Object.keys(template.Resources), ref).toContain(ref.replace(/\.Arn$/, ''));
    }
    // With stand-ins for the substitutions, the body is the JSON CloudWatch reads.
    const body = JSON.parse(text.replace(/\$\{[^}]*\}/g, 'x')) as {
      widgets: { type: string; properties: { metrics?: unknown[][]; alarms?: string[] } }[];
    };
    const metrics = body.widgets.flatMap((w) => w.properties.metrics ?? []);
    const names = new Set(metrics.map((m) => `${m[0]}/${m[1]}`));
    for (const m of [
      'RowsInserted',
      'RowsUpdated',
      'RowsDeleted',
      'RowsSkipped',
      'RowConflicts',
      'RowsDeadLettered',
      'RecordsFiltered',
      'BatchLatency',
      'ReplicationLag',
      'ManualSyncRequests',
    ]) {
      expect(names, m).toContain(`cdc-mirror/${m}`);
    }
    for (const m of ['Errors', 'Throttles', 'Duration']) expect(names, m).toContain(`AWS/Lambda/${m}`);
    expect(names).toContain('AWS/SQS/ApproximateNumberOfMessagesVisible');
    expect(
      metrics
        .filter((m) => m[0] === 'cdc-mirror')
        .every((m) => m[2] === 'service' && m[3] === 'cdc-mirror-test-dev'),
    ).toBe(true);
    const alarmWidget = body.widgets.find((w) => w.type === 'alarm');
    expect(alarmWidget?.properties.alarms).toHaveLength(Object.keys(alarmsOf(template)).length);
  });

  /** A small config with one MSK trigger and an SQS failure destination, and the given `alarms`. */
  const packageWithAlarms = async (alarms: Record<string, unknown>) => {
    const path = useConfig({
      service: 'cdc-mirror-test',
      databases: { offline: { role: 'offline', secretId: DB_SECRET } },
      cdc: [
        {
          topics: ['dbserver1.shop.t_config'],
          target: 'offline',
          msk: { arn: MSK_A },
          retry: { provisionedPollers: { minimumPollers: 1, maximumPollers: 1 }, onFailureDestination: DLQ },
        },
      ],
      alarms,
    });
    const result = await slsPackage(path);
    expect(result.ok, result.output).toBe(true);
    return JSON.parse(
      readFileSync(join(result.dir, 'cloudformation-template-update-stack.json'), 'utf8'),
    ) as typeof template;
  };

  it('sends every alarm to snsTopicArn (ALARM and OK), with the configured lag threshold', async () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:cdc-mirror-alerts';
    const t = await packageWithAlarms({ snsTopicArn: topic, lagThresholdSeconds: 60, deadLetters: false });
    const alarms = alarmsOf(t);
    expect(Object.keys(alarms).sort()).toEqual(
      [
        'ReplicationLagAlarm',
        'CdcSyncErrorsAlarm',
        'CdcSyncThrottlesAlarm',
        'ManualSyncErrorsAlarm',
        'ManualSyncThrottlesAlarm',
        DEPTH_ALARM,
      ].sort(),
    );
    for (const [id, a] of Object.entries(alarms)) {
      expect(a.AlarmActions, id).toEqual([topic]);
      expect(a.OKActions, id).toEqual([topic]);
    }
    expect(alarms.ReplicationLagAlarm).toMatchObject({ MetricName: 'ReplicationLag', Threshold: 60_000 });
    expect(dashboardsOf(t)).toHaveLength(1);
  }, 120_000);

  it('generates neither alarms nor dashboard when both are turned off', async () => {
    const t = await packageWithAlarms({ enabled: false, dashboard: false });
    expect(alarmsOf(t)).toEqual({});
    expect(dashboardsOf(t)).toEqual([]);
    // The rest of the stack is unaffected.
    expect(t.Resources.CdcSyncLambdaFunction?.Type).toBe('AWS::Lambda::Function');
    expect(Object.values(t.Resources).some((r) => r.Type === 'AWS::Lambda::EventSourceMapping')).toBe(true);
  }, 120_000);
});

/**
 * In the same file as packaging on purpose: concurrent serverless runs in one service directory share
 * its .serverless folder.
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
        serverless,
        ['invoke', 'local', '-f', 'cdcSync', '-p', 'events/msk-maxwell.json'],
        {
          cwd: repo,
          env: { ...credentialFreeEnv(configPath), POWERTOOLS_METRICS_DISABLED: 'true' },
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
