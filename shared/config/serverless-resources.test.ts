import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './load';
import type { CdcEntry } from './schema';
import {
  alarmResources,
  cdcEvents,
  dashboardBody,
  dashboardResources,
  eventSourceMappingExtensions,
  eventSourceMappingLogicalId,
  httpApiConfig,
  iamStatements,
  lambdaLogicalId,
  manualSyncEvents,
  serverlessFragments,
  vpcConfig,
} from './serverless-resources';

/** osls's own naming module: the logical IDs we extend must be the ones it generates. */
const oslsNaming = createRequire(import.meta.url)('osls/lib/plugins/aws/lib/naming.js') as {
  getMSKEventLogicalId(fn: string, cluster: string, topic: string): string;
  getKafkaEventLogicalId(fn: string, topic: string): string;
  getLambdaLogicalId(fn: string): string;
};

const MSK = 'arn:aws:kafka:us-east-1:123456789012:cluster/prod-msk/abc-1';
const MSK2 = 'arn:aws:kafka:eu-west-1:123456789012:cluster/other/def-2';
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:off-AbCdEf';
const DLQ = 'arn:aws:sqs:us-east-1:123456789012:dlq';
const KAFKA = {
  bootstrapServers: ['k1:9092', 'k2:9092'],
  accessConfigurations: { saslScram512Auth: ['arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka'] },
};

const databases = {
  on: { role: 'online', url: 'mysql://r:p@10.0.0.1:3306' },
  off: { role: 'offline', secretId: SECRET },
};
const config = (doc: Record<string, unknown>) => parseConfig({ databases, ...doc });
const defaults = {
  batchSize: 500,
  maximumBatchingWindow: 1,
  startingPosition: 'TRIM_HORIZON',
  enabled: true,
};

describe('cdcEvents', () => {
  it.each([
    {
      name: 'msk: one event per topic, with the entry settings',
      cdc: [{ topics: ['a.b.c', 'a.b.d'], target: 'off', msk: { arn: MSK }, batchSize: 100 }],
      events: [
        { msk: { arn: MSK, topic: 'a.b.c', ...defaults, batchSize: 100 } },
        { msk: { arn: MSK, topic: 'a.b.d', ...defaults, batchSize: 100 } },
      ],
    },
    {
      name: 'msk: window, position, paused, provisioned pollers',
      cdc: [
        {
          topics: ['t'],
          target: 'off',
          msk: { arn: MSK },
          maximumBatchingWindowInSeconds: 5,
          startingPosition: 'LATEST',
          enabled: false,
          retry: { provisionedPollers: { minimumPollers: 2, maximumPollers: 8 } },
        },
      ],
      events: [
        {
          msk: {
            arn: MSK,
            topic: 't',
            ...defaults,
            maximumBatchingWindow: 5,
            startingPosition: 'LATEST',
            enabled: false,
            provisionedPollerConfig: { minimumPollers: 2, maximumPollers: 8 },
          },
        },
      ],
    },
    {
      name: 'self-managed kafka: servers, access, consumer group, failure destination',
      cdc: [
        {
          topics: ['tidb.x'],
          target: 'off',
          kafka: { ...KAFKA, consumerGroupId: 'cdc-mirror' },
          retry: { onFailureDestination: DLQ },
        },
      ],
      events: [
        {
          kafka: {
            ...KAFKA,
            topic: 'tidb.x',
            ...defaults,
            consumerGroupId: 'cdc-mirror',
            onFailureDestination: DLQ,
          },
        },
      ],
    },
    {
      name: 'self-managed kafka: optional keys left out',
      cdc: [{ topics: ['tidb.y'], target: 'off', kafka: KAFKA }],
      events: [{ kafka: { ...KAFKA, topic: 'tidb.y', ...defaults } }],
    },
    {
      name: 'neither msk nor kafka (local only): no event',
      cdc: [{ topics: ['l'], target: 'off' }],
      events: [],
    },
    { name: 'no cdc entries', cdc: [], events: [] },
  ])('$name', ({ cdc, events }) => {
    expect(cdcEvents(config({ cdc }))).toEqual(events);
  });

  it('refuses topics whose mappings would share a logical ID, naming both keys', () => {
    const cfg = config({ cdc: [{ topics: ['shop.t_a', 'shop.ta'], target: 'off', msk: { arn: MSK } }] });
    expect(() => cdcEvents(cfg)).toThrow(ConfigError);
    expect(() => cdcEvents(cfg)).toThrow(/cdc\[0\]\.topics\[1\].*cdc\[0\]\.topics\[0\]/);
  });
});

describe('eventSourceMappingLogicalId', () => {
  const long = `dbserver1.${'very_long_schema_name.'.repeat(6)}t_config`;
  it.each([
    ['cdcSync', MSK, 'dbserver1.shop.t_config'],
    ['cdcSync', MSK2, 'canal-json_shop.orders'],
    ['cdcSync', MSK, long],
    ['cdc-sync_fn', MSK, 'x'],
    ['cdcSync', undefined, 'tidb.shop.items'],
    ['cdcSync', undefined, long + long],
  ])('%s %s %s is what osls generates', (fn, arn, topic) => {
    const entry = (arn ? { msk: { arn } } : { kafka: KAFKA }) as CdcEntry;
    const expected = arn
      ? oslsNaming.getMSKEventLogicalId(fn, arn.split('/')[1] as string, topic)
      : oslsNaming.getKafkaEventLogicalId(fn, topic);
    expect(eventSourceMappingLogicalId(fn, entry, topic)).toBe(expected);
  });

  it('spells the documented shape', () => {
    expect(
      eventSourceMappingLogicalId('cdcSync', { msk: { arn: MSK } } as CdcEntry, 'db.shop.t_config'),
    ).toBe('CdcSyncEventSourceMappingMSKProdmskDbshoptconfig');
  });
});

describe('eventSourceMappingExtensions', () => {
  it.each([
    {
      name: 'provisioned defaults: finite retries and bisecting',
      entry: { msk: { arn: MSK }, retry: { provisionedPollers: { minimumPollers: 1, maximumPollers: 2 } } },
      properties: { MaximumRetryAttempts: 10, BisectBatchOnFunctionError: true },
    },
    {
      name: 'msk: partial batch responses and the failure destination',
      entry: {
        msk: { arn: MSK },
        retry: {
          maximumRetryAttempts: 3,
          bisectBatchOnFunctionError: false,
          reportBatchItemFailures: true,
          provisionedPollers: { minimumPollers: 1, maximumPollers: 4 },
          onFailureDestination: DLQ,
        },
      },
      properties: {
        MaximumRetryAttempts: 3,
        BisectBatchOnFunctionError: false,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: DLQ } },
      },
    },
    {
      name: 'kafka: the failure destination is left to osls (its onFailureDestination)',
      entry: {
        kafka: KAFKA,
        retry: {
          maximumRetryAttempts: 0,
          onFailureDestination: DLQ,
          provisionedPollers: { minimumPollers: 1, maximumPollers: 2 },
        },
      },
      properties: { MaximumRetryAttempts: 0, BisectBatchOnFunctionError: true },
    },
  ])('$name', ({ entry, properties }) => {
    const cfg = config({
      cdc: [{ topics: ['db.shop.t_config', 'db.shop.t_user'], target: 'off', ...entry }],
    });
    const ids = cfg.cdc[0]?.topics.map((t) =>
      eventSourceMappingLogicalId('cdcSync', cfg.cdc[0] as CdcEntry, t),
    );
    expect(eventSourceMappingExtensions(cfg)).toEqual(
      Object.fromEntries((ids ?? []).map((id) => [id, { Properties: properties }])),
    );
  });

  it('nothing for local-only entries', () => {
    expect(eventSourceMappingExtensions(config({ cdc: [{ topics: ['t'], target: 'off' }] }))).toEqual({});
  });

  it('nothing for on-demand mappings: Lambda offers the Kafka error controls in provisioned mode only', () => {
    expect(
      eventSourceMappingExtensions(config({ cdc: [{ topics: ['t'], target: 'off', msk: { arn: MSK } }] })),
    ).toEqual({});
  });
});

describe('HTTP API', () => {
  const jwt = config({
    api: { auth: { type: 'jwt', issuer: 'https://id.example.com/', audience: ['cdc'] } },
  });
  const iam = config({});

  it('jwt: one authorizer on the Authorization header', () => {
    expect(httpApiConfig(jwt)).toEqual({
      payload: '2.0',
      cors: false,
      authorizers: {
        jwtAuthorizer: {
          type: 'jwt',
          identitySource: '$request.header.Authorization',
          issuerUrl: 'https://id.example.com/',
          audience: ['cdc'],
        },
      },
    });
  });

  it('iam (the default): no authorizer to declare', () => {
    expect(httpApiConfig(iam)).toEqual({ payload: '2.0', cors: false });
  });

  it.each([
    ['jwt', jwt, { name: 'jwtAuthorizer' }],
    ['iam', iam, { type: 'aws_iam' }],
  ])('%s: every route behind it but the page and its sign-in settings', (_, cfg, authorizer) => {
    const events = manualSyncEvents(cfg) as {
      httpApi: { method: string; path: string; authorizer?: unknown };
    }[];
    const open = events
      .filter((e) => !e.httpApi.authorizer)
      .map((e) => `${e.httpApi.method} ${e.httpApi.path}`);
    expect(open).toEqual(['GET /', 'GET /auth-config']);
    const guarded = events.filter((e) => e.httpApi.authorizer);
    expect(guarded.map((e) => `${e.httpApi.method} ${e.httpApi.path}`)).toEqual(
      expect.arrayContaining([
        'POST /sync',
        'GET /sync',
        'POST /sync/{jobId}/resume',
        'GET /status',
        'GET /catalog',
      ]),
    );
    expect(guarded.length).toBe(events.length - 2);
    expect(guarded.every((e) => JSON.stringify(e.httpApi.authorizer) === JSON.stringify(authorizer))).toBe(
      true,
    );
  });
});

describe('iamStatements', () => {
  const byAction = (statements: Record<string, unknown>[]) =>
    Object.fromEntries(statements.map((s) => [(s.Action as string[]).join(','), s.Resource]));
  const self = `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:svc-\${sls:stage}-manualSync`;

  it('no secrets, no triggers: only self-invocation, of this function', () => {
    const cfg = parseConfig({
      service: 'svc',
      databases: { off: { role: 'offline', url: 'mysql://r@10.0.0.2:3306' } },
      cdc: [{ topics: ['t'], target: 'off' }],
    });
    expect(iamStatements(cfg)).toEqual([
      {
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: [{ 'Fn::Sub': self }, { 'Fn::Sub': `${self}:*` }],
      },
    ]);
  });

  it.each([
    ['a complete ARN as given', SECRET, [SECRET]],
    [
      'a partial ARN with the random suffix wildcard',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/offline',
      ['arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/offline-??????'],
    ],
    [
      'a name, in this account and region',
      'shop/offline',
      [
        {
          'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:shop/offline-??????`,
        },
      ],
    ],
  ])('secrets: %s', (_, secretId, resources) => {
    const cfg = parseConfig({ databases: { ...databases, off: { role: 'offline', secretId } } });
    expect(byAction(iamStatements(cfg))['secretsmanager:GetSecretValue']).toEqual(resources);
  });

  it('secrets: each configured one once, nothing else', () => {
    const other = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other-XyZ123';
    const cfg = parseConfig({
      databases: {
        on: { role: 'online', secretId: other },
        off: { role: 'offline', secretId: SECRET },
        off2: { role: 'offline', secretId: SECRET },
      },
    });
    expect(byAction(iamStatements(cfg))['secretsmanager:GetSecretValue']).toEqual([other, SECRET]);
  });

  it('msk: cluster, topic and group permissions on the configured clusters, network interfaces', () => {
    const cfg = config({
      cdc: [
        { topics: ['a.b', 'a.c'], target: 'off', msk: { arn: MSK } },
        { topics: ['x.y'], target: 'off', msk: { arn: MSK2 } },
      ],
    });
    const s = byAction(iamStatements(cfg));
    expect(s['kafka:DescribeCluster,kafka:DescribeClusterV2,kafka:GetBootstrapBrokers']).toEqual([MSK, MSK2]);
    expect(s['kafka-cluster:Connect,kafka-cluster:DescribeClusterDynamicConfiguration']).toEqual([MSK, MSK2]);
    expect(s['kafka-cluster:DescribeTopic,kafka-cluster:ReadData']).toEqual([
      'arn:aws:kafka:us-east-1:123456789012:topic/prod-msk/abc-1/a.b',
      'arn:aws:kafka:us-east-1:123456789012:topic/prod-msk/abc-1/a.c',
      'arn:aws:kafka:eu-west-1:123456789012:topic/other/def-2/x.y',
    ]);
    expect(s['kafka-cluster:DescribeGroup,kafka-cluster:AlterGroup']).toEqual([
      'arn:aws:kafka:us-east-1:123456789012:group/prod-msk/abc-1/*',
      'arn:aws:kafka:eu-west-1:123456789012:group/other/def-2/*',
    ]);
    expect(Object.keys(s)).toContain(
      'ec2:CreateNetworkInterface,ec2:DescribeNetworkInterfaces,ec2:DescribeVpcs,ec2:DeleteNetworkInterface,ec2:DescribeSubnets,ec2:DescribeSecurityGroups',
    );
  });

  it.each([
    ['self-managed kafka outside a VPC: no kafka or network permissions', {}, false],
    [
      'self-managed kafka in a VPC: network interfaces',
      { vpcSubnet: ['subnet-1'], vpcSecurityGroup: ['sg-1'] },
      true,
    ],
  ])('%s', (_, access, eni) => {
    const kafka = { ...KAFKA, accessConfigurations: { ...KAFKA.accessConfigurations, ...access } };
    const actions = iamStatements(config({ cdc: [{ topics: ['t'], target: 'off', kafka }] })).flatMap(
      (s) => s.Action as string[],
    );
    expect(actions.some((a) => a.startsWith('kafka'))).toBe(false);
    expect(actions.includes('ec2:CreateNetworkInterface')).toBe(eni);
  });

  it('failure destinations: the one action each service needs, on those ARNs only', () => {
    const sns = 'arn:aws:sns:us-east-1:123456789012:failed';
    const s3 = 'arn:aws:s3:::cdc-failed';
    const cfg = config({
      cdc: [
        { topics: ['a'], target: 'off', msk: { arn: MSK }, retry: { onFailureDestination: DLQ } },
        { topics: ['b'], target: 'off', msk: { arn: MSK }, retry: { onFailureDestination: DLQ } },
        { topics: ['c'], target: 'off', kafka: KAFKA, retry: { onFailureDestination: sns } },
        { topics: ['d'], target: 'off', kafka: KAFKA, retry: { onFailureDestination: s3 } },
        { topics: ['e'], target: 'off', retry: { onFailureDestination: 'arn:aws:sqs:us-east-1:1:unused' } },
      ],
    });
    const s = byAction(iamStatements(cfg));
    expect(s['sqs:SendMessage']).toEqual([DLQ]);
    expect(s['sns:Publish']).toEqual([sns]);
    expect(s['s3:ListBucket']).toEqual([s3]);
    expect(s['s3:PutObject']).toEqual([`${s3}/*`]);
  });
});

describe('vpc and the whole set', () => {
  it('vpc when configured, null otherwise', () => {
    const vpc = { securityGroupIds: ['sg-1'], subnetIds: ['subnet-1', 'subnet-2'] };
    expect(vpcConfig(config({ vpc }))).toEqual(vpc);
    expect(vpcConfig(config({}))).toBeNull();
  });

  it('serverlessFragments names every fragment serverless.yml uses', () => {
    const fragments = serverlessFragments(config({ service: 'svc', region: 'eu-west-1' }));
    expect(Object.keys(fragments).sort()).toEqual([
      'cdcEvents',
      'extensions',
      'httpApi',
      'iamStatements',
      'manualSyncEvents',
      'region',
      'resources',
      'service',
      'vpc',
    ]);
    expect(fragments).toMatchObject({ service: 'svc', region: 'eu-west-1' });
  });
});

describe('alarms and dashboard', () => {
  type Resource = { Type: string; Properties: Record<string, unknown> };
  const SNS = 'arn:aws:sns:us-east-1:123456789012:ops';
  const polled = [{ topics: ['a.b'], target: 'off', msk: { arn: MSK } }];
  const cfg = (doc: Record<string, unknown>) => config({ service: 'svc', cdc: polled, ...doc });
  const alarms = (doc: Record<string, unknown>) => alarmResources(cfg(doc)) as Record<string, Resource>;
  const FUNCTION_ALARMS = [
    'CdcSyncErrorsAlarm',
    'CdcSyncThrottlesAlarm',
    'ManualSyncErrorsAlarm',
    'ManualSyncThrottlesAlarm',
  ];

  it('defaults: everything on, lag threshold 300 s, no notification target', () => {
    expect(config({}).alarms).toEqual({
      enabled: true,
      lagThresholdSeconds: 300,
      deadLetters: true,
      dashboard: true,
    });
  });

  it.each([
    [{ enabled: 'yes' }, 'alarms.enabled: Invalid input: expected boolean'],
    [{ lagThresholdSeconds: 0 }, 'alarms.lagThresholdSeconds: Too small'],
    [{ lagThresholdSeconds: 1.5 }, 'alarms.lagThresholdSeconds: Invalid input: expected int'],
    [{ deadLetters: 1 }, 'alarms.deadLetters: Invalid input: expected boolean'],
    [{ snsTopicArn: 'ops-topic' }, 'alarms.snsTopicArn: Invalid string: must start with "arn:"'],
    [{ dashboard: null }, 'alarms.dashboard: Invalid input: expected boolean'],
    [{ email: 'ops@example.com' }, 'alarms: Unrecognized key: "email"'],
  ])('refuses alarms %j, naming the key', (alarmsDoc, message) => {
    expect(() => cfg({ alarms: alarmsDoc })).toThrow(message);
  });

  it.each([
    {
      name: 'defaults with a Kafka trigger: lag, dead letters, errors and throttles of both functions',
      doc: {},
      ids: ['ReplicationLagAlarm', 'DeadLettersAlarm', ...FUNCTION_ALARMS],
    },
    {
      name: 'deadLetters: false',
      doc: { alarms: { deadLetters: false } },
      ids: ['ReplicationLagAlarm', ...FUNCTION_ALARMS],
    },
    { name: 'enabled: false: none', doc: { alarms: { enabled: false } }, ids: [] },
    {
      name: 'no Kafka trigger: no lag or dead letters to watch, only the functions',
      doc: { cdc: [{ topics: ['local'], target: 'off' }] },
      ids: FUNCTION_ALARMS,
    },
    {
      name: 'SQS failure destinations: one depth alarm per queue; SNS, S3 and local-only entries have none',
      doc: {
        cdc: [
          { topics: ['a'], target: 'off', msk: { arn: MSK }, retry: { onFailureDestination: DLQ } },
          { topics: ['b'], target: 'off', kafka: KAFKA, retry: { onFailureDestination: DLQ } },
          {
            topics: ['c'],
            target: 'off',
            kafka: KAFKA,
            retry: { onFailureDestination: 'arn:aws:sqs:eu-west-1:123456789012:other_dlq' },
          },
          {
            topics: ['d'],
            target: 'off',
            kafka: KAFKA,
            retry: { onFailureDestination: 'arn:aws:sns:us-east-1:123456789012:failed' },
          },
          {
            topics: ['e'],
            target: 'off',
            kafka: KAFKA,
            retry: { onFailureDestination: 'arn:aws:s3:::failed' },
          },
          { topics: ['f'], target: 'off', retry: { onFailureDestination: 'arn:aws:sqs:us-east-1:1:unused' } },
        ],
      },
      ids: [
        'ReplicationLagAlarm',
        'DeadLettersAlarm',
        ...FUNCTION_ALARMS,
        'FailureDestinationDlqDepthAlarm',
        'FailureDestinationOtherdlqDepthAlarm',
      ],
    },
  ])('$name', ({ doc, ids }) => {
    const resources = alarms(doc);
    expect(Object.keys(resources)).toEqual(ids);
    expect(Object.values(resources).every((r) => r.Type === 'AWS::CloudWatch::Alarm')).toBe(true);
  });

  const ours = (metric: string) => ({
    Namespace: 'cdc-mirror',
    MetricName: metric,
    Dimensions: [{ Name: 'service', Value: `svc-\${sls:stage}` }],
  });
  const lambda = (metric: string, id: string) => ({
    Namespace: 'AWS/Lambda',
    MetricName: metric,
    Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }],
  });
  /** Counts: any in one 5-minute period alarms; no data is none. */
  const count = {
    Statistic: 'Sum',
    Threshold: 0,
    EvaluationPeriods: 1,
    DatapointsToAlarm: 1,
    TreatMissingData: 'notBreaching',
  };
  it.each([
    [
      'ReplicationLagAlarm',
      'replication-lag',
      {
        ...ours('ReplicationLag'),
        Statistic: 'Maximum',
        Threshold: 300_000,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        TreatMissingData: 'ignore',
      },
    ],
    ['DeadLettersAlarm', 'dead-letters', { ...ours('RowsDeadLettered'), ...count }],
    ['CdcSyncErrorsAlarm', 'cdcSync-errors', { ...lambda('Errors', 'CdcSyncLambdaFunction'), ...count }],
    [
      'CdcSyncThrottlesAlarm',
      'cdcSync-throttles',
      { ...lambda('Throttles', 'CdcSyncLambdaFunction'), ...count },
    ],
    [
      'ManualSyncErrorsAlarm',
      'manualSync-errors',
      { ...lambda('Errors', 'ManualSyncLambdaFunction'), ...count },
    ],
    [
      'ManualSyncThrottlesAlarm',
      'manualSync-throttles',
      { ...lambda('Throttles', 'ManualSyncLambdaFunction'), ...count },
    ],
    [
      'FailureDestinationDlqDepthAlarm',
      'failure-destination-dlq',
      {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: 'dlq' }],
        ...count,
        Statistic: 'Maximum',
      },
    ],
  ])('%s: %s', (id, name, properties) => {
    const cdc = [{ ...polled[0], retry: { onFailureDestination: DLQ } }];
    const alarm = alarms({ cdc })[id];
    expect(alarm?.Properties).toEqual({
      AlarmName: `svc-\${sls:stage}-${name}`,
      AlarmDescription: expect.any(String),
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      ...properties,
    });
    // A description that tells the reader what to do, within CloudFormation's 1024 characters.
    const description = String(alarm?.Properties.AlarmDescription);
    expect(description.length).toBeGreaterThan(80);
    expect(description.length).toBeLessThanOrEqual(1024);
  });

  it('the lag threshold is lagThresholdSeconds in milliseconds (ReplicationLag is published in ms)', () => {
    const lag = alarms({ alarms: { lagThresholdSeconds: 90 } }).ReplicationLagAlarm;
    expect(lag?.Properties).toMatchObject({ Threshold: 90_000 });
    expect(lag?.Properties.AlarmDescription).toContain('90 s');
  });

  it.each([
    ['snsTopicArn: every alarm notifies it on ALARM and on OK', { snsTopicArn: SNS }, [SNS]],
    ['no snsTopicArn: no actions', {}, undefined],
  ])('%s', (_, alarmsDoc, actions) => {
    const cdc = [{ ...polled[0], retry: { onFailureDestination: DLQ } }];
    const all = Object.values(alarms({ cdc, alarms: alarmsDoc }));
    expect(all).toHaveLength(7);
    for (const a of all) {
      expect(a.Properties.AlarmActions).toEqual(actions);
      expect(a.Properties.OKActions).toEqual(actions);
      expect(a.Properties).not.toHaveProperty('InsufficientDataActions');
    }
  });

  it('queues of the same name (other accounts) or the same letters get distinct logical IDs and alarm names', () => {
    const cdc = [
      'arn:aws:sqs:us-east-1:111111111111:dlq',
      'arn:aws:sqs:us-east-1:222222222222:dlq',
      'arn:aws:sqs:us-east-1:1:d-lq',
      'arn:aws:sqs:us-east-1:1:dlq-2',
    ].map((arn, i) => ({
      topics: [`t${i}`],
      target: 'off',
      kafka: KAFKA,
      retry: { onFailureDestination: arn },
    }));
    const depth = Object.entries(alarms({ cdc })).filter(([id]) => id.startsWith('FailureDestination'));
    expect(depth.map(([id, a]) => [id, a.Properties.AlarmName, a.Properties.Dimensions])).toEqual([
      [
        'FailureDestinationDlqDepthAlarm',
        `svc-\${sls:stage}-failure-destination-dlq`,
        [{ Name: 'QueueName', Value: 'dlq' }],
      ],
      [
        'FailureDestinationDlq2DepthAlarm',
        `svc-\${sls:stage}-failure-destination-dlq-2`,
        [{ Name: 'QueueName', Value: 'dlq' }],
      ],
      [
        'FailureDestinationDlq3DepthAlarm',
        `svc-\${sls:stage}-failure-destination-d-lq`,
        [{ Name: 'QueueName', Value: 'd-lq' }],
      ],
      [
        'FailureDestinationDlq22DepthAlarm',
        `svc-\${sls:stage}-failure-destination-dlq-2-2`,
        [{ Name: 'QueueName', Value: 'dlq-2' }],
      ],
    ]);
  });

  it.each(['cdcSync', 'manualSync', 'cdc-sync_fn'])(
    'the function logical ID of %s is what osls generates',
    (name) => {
      expect(lambdaLogicalId(name)).toBe(oslsNaming.getLambdaLogicalId(name));
    },
  );

  describe('dashboard', () => {
    type Widget = {
      type: string;
      x: number;
      y: number;
      width: number;
      height: number;
      properties: { title?: string; alarms?: string[]; metrics?: unknown[][]; annotations?: unknown };
    };
    const body = (doc: Record<string, unknown>) => dashboardBody(cfg(doc)) as { widgets: Widget[] };
    const metricNames = (widgets: Widget[]) =>
      new Set(widgets.flatMap((w) => (w.properties.metrics ?? []).map((m) => `${m[0]}/${m[1]}`)));

    it('one dashboard, its body a JSON string for Fn::Sub that references only the region, functions and alarms (and the stage, which serverless resolves first)', () => {
      const cdc = [{ ...polled[0], retry: { onFailureDestination: DLQ } }];
      const { Dashboard } = dashboardResources(cfg({ cdc })) as { Dashboard: Resource };
      expect(Dashboard.Type).toBe('AWS::CloudWatch::Dashboard');
      expect(Dashboard.Properties.DashboardName).toBe(`svc-\${sls:stage}`);
      const text = (Dashboard.Properties.DashboardBody as { 'Fn::Sub': string })['Fn::Sub'];
      expect(JSON.parse(text)).toEqual(dashboardBody(cfg({ cdc })));
      const refs = new Set([...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]));
      expect(refs).toEqual(
        new Set([
          'AWS::Region',
          'sls:stage',
          'CdcSyncLambdaFunction',
          'ManualSyncLambdaFunction',
          ...Object.keys(alarms({ cdc })).map((id) => `${id}.Arn`),
        ]),
      );
    });

    it('graphs every metric the functions publish, Lambda errors, throttles and duration, and queue depth', () => {
      const cdc = [{ ...polled[0], retry: { onFailureDestination: DLQ } }];
      expect(metricNames(body({ cdc }).widgets)).toEqual(
        new Set([
          ...[
            'RowsInserted',
            'RowsUpdated',
            'RowsDeleted',
            'RowsSkipped',
            'RowConflicts',
            'RowsDeadLettered',
            'DroppedColumns',
            'RecordsFiltered',
            'BatchLatency',
            'ReplicationLag',
            'ManualSyncRequests',
            'ManualSyncRowsWritten',
          ].map((m) => `cdc-mirror/${m}`),
          'AWS/Lambda/Errors',
          'AWS/Lambda/Throttles',
          'AWS/Lambda/Duration',
          'AWS/SQS/ApproximateNumberOfMessagesVisible',
        ]),
      );
      const ours = body({})
        .widgets.flatMap((w) => w.properties.metrics ?? [])
        .filter((m) => m[0] === 'cdc-mirror');
      expect(ours.every((m) => m[2] === 'service' && m[3] === `svc-\${sls:stage}`)).toBe(true);
    });

    it('lays the widgets out on the 24-column grid without overlap', () => {
      const { widgets } = body({});
      const cells = new Set<string>();
      for (const w of widgets) {
        expect(w.x + w.width).toBeLessThanOrEqual(24);
        for (let x = w.x; x < w.x + w.width; x++) {
          for (let y = w.y; y < w.y + w.height; y++) {
            expect(cells.has(`${x},${y}`)).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
      }
    });

    it.each([
      ['defaults: an alarm status widget and the lag threshold drawn', {}, true],
      ['alarms off: the graphs alone', { alarms: { enabled: false } }, false],
    ])('%s', (_, doc, withAlarms) => {
      const { widgets } = body(doc);
      expect(widgets.some((w) => w.type === 'alarm')).toBe(withAlarms);
      const lag = widgets.find((w) => w.properties.title?.startsWith('Replication lag'));
      expect(lag?.properties.annotations).toEqual(
        withAlarms ? { horizontal: [{ label: 'alarm threshold', value: 300_000 }] } : undefined,
      );
    });

    it('dashboard: false: none; it does not depend on the alarms', () => {
      expect(dashboardResources(cfg({ alarms: { dashboard: false } }))).toEqual({});
      expect(Object.keys(dashboardResources(cfg({ alarms: { enabled: false } })))).toEqual(['Dashboard']);
    });
  });

  it('serverlessFragments: alarms and dashboard as resources, nothing with both off', () => {
    const on = serverlessFragments(cfg({})).resources as Record<string, Resource>;
    expect(Object.keys(on)).toEqual([
      'ReplicationLagAlarm',
      'DeadLettersAlarm',
      ...FUNCTION_ALARMS,
      'Dashboard',
    ]);
    expect(serverlessFragments(cfg({ alarms: { enabled: false, dashboard: false } })).resources).toEqual({});
  });
});

describe('scheduled verifications', () => {
  const manual = [{ source: 'on', target: 'off' }];
  it('become EventBridge schedules of manualSync carrying what to verify', () => {
    const cfg = config({
      manual,
      verify: [
        { source: 'on', table: 'shop.a' },
        { source: 'on', table: 'shop.b', where: 'id < 10', schedule: 'rate(6 hours)', rowsPerSecond: 500 },
      ],
    });
    const schedules = manualSyncEvents(cfg).filter((e) => 'schedule' in (e as object));
    expect(schedules).toEqual([
      {
        schedule: {
          rate: ['cron(0 3 * * ? *)'],
          input: { cdcMirrorVerify: { source: 'on', table: 'shop.a', where: '', rowsPerSecond: 20_000 } },
        },
      },
      {
        schedule: {
          rate: ['rate(6 hours)'],
          input: { cdcMirrorVerify: { source: 'on', table: 'shop.b', where: 'id < 10', rowsPerSecond: 500 } },
        },
      },
    ]);
  });

  it.each([
    [{ source: 'nobody', table: 'shop.a' }, 'verify[0].source: no manual entry has source "nobody"'],
    [{ source: 'on', table: 'a' }, 'verify[0].table: a "schema.table" name'],
    [{ source: 'on', table: 'shop.a', schedule: 'daily' }, 'verify[0].schedule: an EventBridge expression'],
  ])('refuses %j naming the key', (entry, message) => {
    expect(() => config({ manual, verify: [entry] })).toThrow(ConfigError);
    expect(() => config({ manual, verify: [entry] })).toThrow(message);
  });
});
