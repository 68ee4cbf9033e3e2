import { HTTP_ROUTES } from '../manual/routes';
import { ConfigError } from './load';
import type { CdcEntry, SyncConfig } from './schema';

/**
 * serverless.yml fragments generated from sync.config.yml, so that a topic, a database secret or an
 * auth change is made in one place. Pure: config in, plain objects out (tested table-driven).
 * serverless/resources.cjs hands them to osls through `${file(./serverless/resources.cjs):<name>}`.
 */

type Json = Record<string, unknown>;

/** The functions as serverless.yml names them. */
export const CDC_FUNCTION = 'cdcSync';
export const MANUAL_FUNCTION = 'manualSync';

// --- osls naming (lib/plugins/aws/lib/naming.js), reproduced so that extensions hit the generated resources ---

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** naming.normalizeNameToAlphaNumericOnly */
const alphaNumeric = (s: string) => upperFirst(s.replace(/[^0-9A-Za-z]/g, ''));
/** naming.getNormalizedFunctionName (= getNormalizedResourceName) */
const functionPart = (s: string) => upperFirst(s.replace(/-/g, 'Dash').replace(/_/g, 'Underscore'));
/** msk/get-msk-cluster-name-token.js: `arn:aws:kafka:region:account:cluster/<name>/<uuid>` → `<name>`. */
const mskClusterName = (arn: string) => arn.split('/')[1] ?? '';

/** The logical ID osls gives the AWS::Lambda::EventSourceMapping of one topic (getMSKEventLogicalId / getKafkaEventLogicalId). */
export function eventSourceMappingLogicalId(functionName: string, entry: CdcEntry, topic: string): string {
  const fn = `${functionPart(functionName)}EventSourceMapping`;
  if (entry.msk) {
    const cluster = alphaNumeric(mskClusterName(entry.msk.arn)).slice(0, 79);
    return `${fn}MSK${cluster}${alphaNumeric(topic).slice(0, 79)}`;
  }
  return `${fn}Kafka${alphaNumeric(topic).slice(0, 158)}`;
}

/** Entries that Lambda polls (entries with neither `msk` nor `kafka` are only used locally). */
function triggered(config: SyncConfig): { entry: CdcEntry; index: number }[] {
  return config.cdc.flatMap((entry, index) => (entry.msk || entry.kafka ? [{ entry, index }] : []));
}

/**
 * Topics whose names differ only in punctuation ("a.b" and "a_b") get the same logical ID from osls, and the
 * second mapping would silently replace the first. Refuse instead, naming both keys.
 */
function assertDistinctLogicalIds(config: SyncConfig): void {
  const seen = new Map<string, string>();
  for (const { entry, index } of triggered(config)) {
    entry.topics.forEach((topic, j) => {
      const id = eventSourceMappingLogicalId(CDC_FUNCTION, entry, topic);
      const key = `cdc[${index}].topics[${j}]`;
      const prev = seen.get(id);
      if (prev) {
        throw new ConfigError(
          `${key}: topic "${topic}" gets the same CloudFormation logical ID (${id}) as ${prev}; rename one`,
        );
      }
      seen.set(id, `${key} ("${topic}")`);
    });
  }
}

// --- events ---

/**
 * One `msk` or `kafka` event per topic. Disabled entries keep their mapping with `enabled: false`: pausing
 * keeps the mapping (and its consumer group position); removing it would restart from startingPosition.
 */
export function cdcEvents(config: SyncConfig): Json[] {
  assertDistinctLogicalIds(config);
  const events: Json[] = [];
  for (const { entry } of triggered(config)) {
    const pollers = entry.retry.provisionedPollers;
    for (const topic of entry.topics) {
      const common: Json = {
        topic,
        batchSize: entry.batchSize,
        maximumBatchingWindow: entry.maximumBatchingWindowInSeconds,
        startingPosition: entry.startingPosition,
        enabled: entry.enabled,
        ...(pollers
          ? {
              provisionedPollerConfig: {
                minimumPollers: pollers.minimumPollers,
                maximumPollers: pollers.maximumPollers,
              },
            }
          : {}),
      };
      if (entry.msk) {
        events.push({ msk: { arn: entry.msk.arn, ...common } });
      } else if (entry.kafka) {
        const { bootstrapServers, accessConfigurations, consumerGroupId } = entry.kafka;
        const destination = entry.retry.onFailureDestination;
        events.push({
          kafka: {
            bootstrapServers,
            accessConfigurations,
            ...common,
            ...(consumerGroupId ? { consumerGroupId } : {}),
            ...(destination ? { onFailureDestination: destination } : {}),
          },
        });
      }
    }
  }
  return events;
}

/**
 * Retry behaviour osls does not model, set on the generated mappings through `resources.extensions`: finite
 * retries, bisecting, partial batch responses and, for MSK (osls models it for `kafka` only), the failure destination.
 */
export function eventSourceMappingExtensions(config: SyncConfig): Json {
  assertDistinctLogicalIds(config);
  const out: Json = {};
  for (const { entry } of triggered(config)) {
    const r = entry.retry;
    // Lambda offers its Kafka error-handling controls in provisioned mode only; on-demand mappings keep
    // Lambda's default (retry until the record expires), which is right here: poison records are
    // dead-lettered by the function itself, so only transient failures are ever retried.
    if (!r.provisionedPollers) continue;
    const properties: Json = {
      MaximumRetryAttempts: r.maximumRetryAttempts,
      BisectBatchOnFunctionError: r.bisectBatchOnFunctionError,
      ...(r.reportBatchItemFailures ? { FunctionResponseTypes: ['ReportBatchItemFailures'] } : {}),
      ...(entry.msk && r.onFailureDestination
        ? { DestinationConfig: { OnFailure: { Destination: r.onFailureDestination } } }
        : {}),
    };
    for (const topic of entry.topics) {
      out[eventSourceMappingLogicalId(CDC_FUNCTION, entry, topic)] = { Properties: properties };
    }
  }
  return out;
}

// --- HTTP API ---

export const JWT_AUTHORIZER = 'jwtAuthorizer';

/** provider.httpApi */
export function httpApiConfig(config: SyncConfig): Json {
  const auth = config.api.auth;
  return {
    payload: '2.0',
    cors: false,
    ...(auth.type === 'jwt'
      ? {
          authorizers: {
            [JWT_AUTHORIZER]: {
              type: 'jwt',
              identitySource: '$request.header.Authorization',
              issuerUrl: auth.issuer,
              audience: auth.audience,
            },
          },
        }
      : {}),
  };
}

/**
 * manualSync's httpApi events: every route of shared/manual/routes.ts behind the configured authorizer,
 * but the public ones (the console page and its sign-in settings, which hold no data).
 */
export function manualSyncEvents(config: SyncConfig): Json[] {
  const authorizer = config.api.auth.type === 'jwt' ? { name: JWT_AUTHORIZER } : { type: 'aws_iam' };
  return [
    ...HTTP_ROUTES.map(({ method, path, public: open }) => ({
      httpApi: { method, path, ...(open ? {} : { authorizer }) },
    })),
    // Scheduled verifications: EventBridge invokes the function with the verification to run.
    ...config.verify.map((v) => ({
      schedule: {
        rate: [v.schedule],
        input: {
          cdcMirrorVerify: {
            source: v.source,
            table: v.table,
            where: v.where,
            rowsPerSecond: v.rowsPerSecond,
          },
        },
      },
    })),
  ];
}

// --- IAM ---

const sub = (s: string) => ({ 'Fn::Sub': s });
const allow = (actions: string[], resources: unknown[]): Json => ({
  Effect: 'Allow',
  Action: actions,
  Resource: resources,
});
const unique = <T>(xs: T[]) => [...new Set(xs)];

/**
 * Secrets Manager ARNs end in "-" and six random characters. A complete ARN is granted as given; a name or a
 * partial ARN (both valid SecretIds) is granted with the `-??????` wildcard AWS recommends, which matches that
 * secret and no other.
 */
function secretResources(secretId: string): unknown[] {
  if (!secretId.startsWith('arn:')) {
    return [
      sub(
        `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secretId}-??????`,
      ),
    ];
  }
  return /:secret:.+-[A-Za-z0-9]{6}$/.test(secretId) ? [secretId] : [`${secretId}-??????`];
}

/** MSK resource ARNs: cluster/<name>/<uuid> → topic/<name>/<uuid>/<topic>, group/<name>/<uuid>/<group>. */
function mskArn(clusterArn: string, kind: 'topic' | 'group', name: string): string | undefined {
  const m = /^(arn:[^:]+:kafka:[^:]*:[^:]*:)cluster\/([^/]+\/[^/]+)$/.exec(clusterArn);
  return m ? `${m[1]}${kind}/${m[2]}/${name}` : undefined;
}

const ENI_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeVpcs',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
];

/** What a failure destination needs, by the service its ARN names. */
function destinationStatements(arns: string[]): Json[] {
  const of = (service: string) => arns.filter((a) => a.split(':')[2] === service);
  const statements: Json[] = [];
  if (of('sqs').length) statements.push(allow(['sqs:SendMessage'], of('sqs')));
  if (of('sns').length) statements.push(allow(['sns:Publish'], of('sns')));
  if (of('s3').length) {
    statements.push(allow(['s3:ListBucket'], of('s3')));
    statements.push(
      allow(
        ['s3:PutObject'],
        of('s3').map((a) => `${a}/*`),
      ),
    );
  }
  return statements;
}

/**
 * provider.iam.role.statements: what the two functions and their triggers need, scoped to the configured
 * resources. (osls adds overlapping MSK/Kafka/ENI statements of its own; IAM takes the union.)
 */
export function iamStatements(config: SyncConfig): Json[] {
  const statements: Json[] = [];

  // Database credentials: exactly the configured secrets.
  const secrets = unique(Object.values(config.databases).flatMap((d) => (d.secretId ? [d.secretId] : [])));
  if (secrets.length) {
    statements.push(allow(['secretsmanager:GetSecretValue'], secrets.flatMap(secretResources)));
  }

  // manualSync continues long jobs by invoking itself asynchronously (possibly through a qualified ARN).
  const self = `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${config.service}-\${sls:stage}-${MANUAL_FUNCTION}`;
  statements.push(allow(['lambda:InvokeFunction'], [sub(self), sub(`${self}:*`)]));

  const entries = triggered(config).map((t) => t.entry);
  const msk = entries.filter((e) => e.msk);

  // MSK triggers: the poller describes the cluster and, with IAM access control (the default without SASL),
  // reads as the function's role.
  const clusters = unique(msk.map((e) => e.msk?.arn as string));
  if (clusters.length) {
    statements.push(
      allow(['kafka:DescribeCluster', 'kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers'], clusters),
    );
    statements.push(
      allow(['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'], clusters),
    );
    const topics = unique(
      msk.flatMap((e) => e.topics.flatMap((t) => mskArn(e.msk?.arn as string, 'topic', t) ?? [])),
    );
    if (topics.length)
      statements.push(allow(['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'], topics));
    // The consumer group is the mapping's UUID unless configured: known only after deployment.
    const groups = unique(clusters.flatMap((c) => mskArn(c, 'group', '*') ?? []));
    if (groups.length)
      statements.push(allow(['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'], groups));
  }

  // The poller reaches MSK, and self-managed Kafka in a VPC, through network interfaces in the function's account.
  // These EC2 actions cannot be scoped to a resource.
  const kafkaInVpc = entries.some((e) => e.kafka && 'vpcSubnet' in e.kafka.accessConfigurations);
  if (clusters.length || kafkaInVpc) statements.push(allow(ENI_ACTIONS, ['*']));

  statements.push(
    ...destinationStatements(unique(entries.flatMap((e) => e.retry.onFailureDestination ?? []))),
  );
  return statements;
}

/** provider.vpc (null: not in a VPC). */
export function vpcConfig(config: SyncConfig): Json | null {
  return config.vpc
    ? { securityGroupIds: config.vpc.securityGroupIds, subnetIds: config.vpc.subnetIds }
    : null;
}

// --- alarms and dashboard ---

/** POWERTOOLS_METRICS_NAMESPACE in serverless.yml: where the functions publish their EMF metrics. */
export const METRICS_NAMESPACE = 'cdc-mirror';
/**
 * The dimension Powertools Metrics adds to every metric: `service`, valued POWERTOOLS_SERVICE_NAME, which
 * serverless.yml sets to `<service>-<stage>`, so that one stage's alarms never fire on another's metrics.
 */
const SERVICE_DIMENSION = 'service';
const metricsService = (config: SyncConfig) => `${config.service}-\${sls:stage}`;
/** Every alarm and the dashboard look at 5-minute periods. */
const PERIOD_SECONDS = 300;
/** Sustained lag: periods that must all breach (3 × 5 minutes). */
const LAG_PERIODS = 3;

/** The logical ID osls gives a function (naming.getLambdaLogicalId). */
export const lambdaLogicalId = (functionName: string) => `${functionPart(functionName)}LambdaFunction`;

/** SQS queue ARN → its name (the last segment), or undefined for SNS/S3 (or malformed) ARNs. */
function sqsQueueName(arn: string): string | undefined {
  const parts = arn.split(':');
  return parts[2] === 'sqs' && parts.length === 6 && parts[5] ? parts[5] : undefined;
}

/** The SQS failure destinations of the Lambda-polled entries, each once, with distinct logical IDs and names. */
function sqsFailureDestinations(
  config: SyncConfig,
): { arn: string; queue: string; id: string; suffix: string }[] {
  const arns = unique(triggered(config).flatMap(({ entry }) => entry.retry.onFailureDestination ?? []));
  const out: { arn: string; queue: string; id: string; suffix: string }[] = [];
  const ids = new Set<string>();
  const suffixes = new Set<string>();
  /** `make(1)`, or else the first of `make(2)`, `make(3)`… not in `taken`; recorded there. */
  const free = (taken: Set<string>, make: (n: number) => string) => {
    let n = 1;
    while (taken.has(make(n))) n++;
    taken.add(make(n));
    return make(n);
  };
  for (const arn of arns) {
    const queue = sqsQueueName(arn);
    if (!queue) continue;
    // Queues of the same name in other accounts, or names differing only in punctuation: number the rest.
    const id = free(ids, (n) => `FailureDestination${alphaNumeric(queue)}${n > 1 ? n : ''}DepthAlarm`);
    const suffix = free(suffixes, (n) => `${queue}${n > 1 ? `-${n}` : ''}`);
    out.push({ arn, queue, id, suffix });
  }
  return out;
}

type Alarm = {
  name: string;
  description: string;
  namespace: string;
  metric: string;
  dimensions: { Name: string; Value: unknown }[];
  statistic: 'Sum' | 'Maximum';
  threshold: number;
  periods: number;
  treatMissingData: 'notBreaching' | 'ignore';
};

/**
 * The alarms, by logical ID. Each looks at 5-minute periods and alarms strictly above its threshold. No `Unit`
 * is set: a unit that differs from the published one would leave the alarm without data.
 */
export function alarmResources(config: SyncConfig): Record<string, Json> {
  const a = config.alarms;
  if (!a.enabled) return {};
  const prefix = `${config.service}-\${sls:stage}`;
  const service = [{ Name: SERVICE_DIMENSION, Value: metricsService(config) }];
  const alarms: Record<string, Alarm> = {};

  // Replication lag and dead letters come from cdcSync's batches: without a Kafka trigger there are none.
  if (triggered(config).length) {
    const minutes = (LAG_PERIODS * PERIOD_SECONDS) / 60;
    alarms.ReplicationLagAlarm = {
      name: `${prefix}-replication-lag`,
      description:
        `The offline databases are more than ${a.lagThresholdSeconds} s behind the online ones, for ${minutes} ` +
        'minutes in a row (ReplicationLag: now minus the oldest source commit in a batch, worst batch per ' +
        '5 minutes). Check the cdcSync errors and throttles alarms and its logs first; if it runs cleanly but ' +
        "cannot keep up, raise the entry's batchSize or provisionedPollers, or look at the offline database's load.",
      namespace: METRICS_NAMESPACE,
      metric: 'ReplicationLag',
      dimensions: service,
      // Maximum: the slowest partition counts. Three periods out of three: one slow batch (a cold start, a
      // burst, a short offline hiccup that retries absorbed) is not worth a page; 15 minutes behind and not
      // catching up is.
      statistic: 'Maximum',
      threshold: a.lagThresholdSeconds * 1000,
      periods: LAG_PERIODS,
      // Lag is published only with a batch. No batch means either an idle topic (then the last batch was
      // caught up, and OK is right) or a function that fails or is not invoked, which the errors and
      // throttles alarms report. Keep the current state rather than clear a lag alarm for want of data.
      treatMissingData: 'ignore',
    };
    if (a.deadLetters) {
      alarms.DeadLettersAlarm = {
        name: `${prefix}-dead-letters`,
        description:
          'Rows could not be applied and were set aside in cdc_mirror.dead_letters on the offline database ' +
          '(the rest of their batch went on). The cdcSync log names each one by topic-partition@offset and the ' +
          'reason; list them with GET /dead-letters, fix the cause (offline table shape, a value the column ' +
          'cannot hold, a refused DDL), then POST /dead-letters/{id}/retry.',
        namespace: METRICS_NAMESPACE,
        metric: 'RowsDeadLettered',
        dimensions: service,
        statistic: 'Sum',
        threshold: 0,
        periods: 1,
        // A count: no data is none dead-lettered.
        treatMissingData: 'notBreaching',
      };
    }
  }

  if (config.verify.length) {
    alarms.RowsDriftedAlarm = {
      name: `${prefix}-rows-drifted`,
      description:
        'A scheduled verification found offline rows out of step with online (missing, extra or different). ' +
        'The manualSync log names the table and the verification id: GET /verify/{id} shows the keys and ' +
        'columns, POST /verify/{id}/repair (dry run first) fixes them. Look for the cause too: dead letters, ' +
        'a topic not mirrored, offline edits.',
      namespace: METRICS_NAMESPACE,
      metric: 'RowsDrifted',
      dimensions: service,
      statistic: 'Maximum',
      threshold: 0,
      periods: 1,
      // Published once per scheduled run: no data between runs says nothing new.
      treatMissingData: 'notBreaching',
    };
  }

  const functionAlarms = [
    {
      fn: CDC_FUNCTION,
      errors:
        'A batch was not applied (retries exhausted within the invocation, a timeout or a crash) and Lambda ' +
        'delivers it again; lag grows meanwhile. Read the "target not applied" lines in the cdcSync log: ' +
        'an unreachable or refusing offline database, or a guard that cannot reach an online one, is the usual cause.',
    },
    {
      fn: MANUAL_FUNCTION,
      errors:
        'manualSync failed outside its HTTP error mapping (a crash or a timeout), or an asynchronous job ' +
        'continuation failed. Read the manualSync log; GET /sync/{jobId} shows the state of the job concerned.',
    },
  ];
  for (const { fn, errors } of functionAlarms) {
    const dimensions = [{ Name: 'FunctionName', Value: { Ref: lambdaLogicalId(fn) } }];
    const common = {
      namespace: 'AWS/Lambda',
      dimensions,
      statistic: 'Sum',
      threshold: 0,
      periods: 1,
    } as const;
    // Counts: no data is no invocation, hence no error or throttle.
    alarms[`${functionPart(fn)}ErrorsAlarm`] = {
      ...common,
      name: `${prefix}-${fn}-errors`,
      description: `${fn} invocations failed. ${errors}`,
      metric: 'Errors',
      treatMissingData: 'notBreaching',
    };
    alarms[`${functionPart(fn)}ThrottlesAlarm`] = {
      ...common,
      name: `${prefix}-${fn}-throttles`,
      description:
        `Lambda throttled ${fn}: the account's (or the function's reserved) concurrency is used up. The ` +
        'Kafka pollers back off and lag grows; manual sync requests fail. Raise the concurrency quota (or the ' +
        'reserved concurrency) or find what else uses it.',
      metric: 'Throttles',
      treatMissingData: 'notBreaching',
    };
  }

  // SQS metrics exist in the queue's own region: a queue elsewhere than the stack is watched in vain.
  for (const d of sqsFailureDestinations(config)) {
    alarms[d.id] = {
      name: `${prefix}-failure-destination-${d.suffix}`,
      description:
        `Lambda gave up on Kafka batches (after retry.maximumRetryAttempts) and sent them to ${d.arn}: their ` +
        'records were NOT applied. Each message names the topic, partition and offsets; fix the cause ' +
        '(see the cdcSync errors alarm and log), bring the tables concerned back in step (a manual sync, or ' +
        'replaying those offsets: applying a batch again leaves the same state), then delete the messages.',
      namespace: 'AWS/SQS',
      metric: 'ApproximateNumberOfMessagesVisible',
      dimensions: [{ Name: 'QueueName', Value: d.queue }],
      statistic: 'Maximum',
      threshold: 0,
      periods: 1,
      // SQS stops publishing for a queue that is empty and untouched for 6 hours: no data is an empty queue.
      treatMissingData: 'notBreaching',
    };
  }

  const actions = a.snsTopicArn ? { AlarmActions: [a.snsTopicArn], OKActions: [a.snsTopicArn] } : {};
  return Object.fromEntries(
    Object.entries(alarms).map(([id, al]) => [
      id,
      {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: al.name,
          AlarmDescription: al.description,
          Namespace: al.namespace,
          MetricName: al.metric,
          Dimensions: al.dimensions,
          Statistic: al.statistic,
          Period: PERIOD_SECONDS,
          EvaluationPeriods: al.periods,
          DatapointsToAlarm: al.periods,
          Threshold: al.threshold,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: al.treatMissingData,
          ...actions,
        },
      },
    ]),
  );
}

type MetricRow = (string | { label?: string; stat?: string })[];
type Widget = { type: 'metric' | 'alarm'; width: number; properties: Json };

/**
 * The dashboard body as CloudWatch reads it, before substitution: `${AWS::Region}`, `${<LambdaLogicalId>}` (the
 * function name) and `${<AlarmLogicalId>.Arn}` are left for Fn::Sub.
 */
export function dashboardBody(config: SyncConfig): Json {
  const ours = (metric: string, extra: { label?: string; stat?: string } = {}): MetricRow => [
    METRICS_NAMESPACE,
    metric,
    SERVICE_DIMENSION,
    metricsService(config),
    ...(Object.keys(extra).length ? [extra] : []),
  ];
  const lambda = (metric: string, label: string, stat?: string): MetricRow[] =>
    [CDC_FUNCTION, MANUAL_FUNCTION].map((fn) => [
      'AWS/Lambda',
      metric,
      'FunctionName',
      `\${${lambdaLogicalId(fn)}}`,
      { label: `${fn} ${label}`, ...(stat ? { stat } : {}) },
    ]);
  const graph = (title: string, stat: string, metrics: MetricRow[], extra: Json = {}): Widget => ({
    type: 'metric',
    width: 12,
    properties: {
      title,
      region: `\${AWS::Region}`,
      view: 'timeSeries',
      stacked: false,
      period: PERIOD_SECONDS,
      stat,
      metrics,
      ...extra,
    },
  });

  const widgets: Widget[] = [];
  const alarmIds = Object.keys(alarmResources(config));
  if (alarmIds.length) {
    widgets.push({
      type: 'alarm',
      width: 24,
      properties: { title: 'Alarms', alarms: alarmIds.map((id) => `\${${id}.Arn}`) },
    });
  }
  const lagMs = config.alarms.lagThresholdSeconds * 1000;
  widgets.push(
    graph('Rows applied (sum)', 'Sum', [
      ours('RowsInserted'),
      ours('RowsUpdated'),
      ours('RowsDeleted'),
      ours('RowsSkipped'),
    ]),
    graph('Conflicts, dead letters, dropped columns (sum)', 'Sum', [
      ours('RowConflicts'),
      ours('RowsDeadLettered'),
      ours('DroppedColumns'),
    ]),
    graph(
      'Replication lag (ms)',
      'Maximum',
      [
        ours('ReplicationLag', { label: 'max' }),
        ours('ReplicationLag', { label: 'average', stat: 'Average' }),
      ],
      alarmIds.includes('ReplicationLagAlarm')
        ? { annotations: { horizontal: [{ label: 'alarm threshold', value: lagMs }] } }
        : {},
    ),
    graph('Batch latency (ms)', 'Average', [
      ours('BatchLatency', { label: 'average' }),
      ours('BatchLatency', { label: 'max', stat: 'Maximum' }),
    ]),
    graph('Records filtered (sum)', 'Sum', [ours('RecordsFiltered')]),
    graph('Manual sync (sum)', 'Sum', [ours('ManualSyncRequests'), ours('ManualSyncRowsWritten')]),
    graph('Lambda errors and throttles (sum)', 'Sum', [
      ...lambda('Errors', 'errors'),
      ...lambda('Throttles', 'throttles'),
    ]),
    graph('Lambda duration (ms)', 'Average', [
      ...lambda('Duration', 'average'),
      ...lambda('Duration', 'max', 'Maximum'),
    ]),
  );
  const queues = sqsFailureDestinations(config);
  if (queues.length) {
    widgets.push(
      graph(
        'Failure destination depth (messages)',
        'Maximum',
        queues.map((q) => [
          'AWS/SQS',
          'ApproximateNumberOfMessagesVisible',
          'QueueName',
          q.queue,
          { label: q.queue },
        ]),
      ),
    );
  }

  // Two columns of 12, rows of height 6; a full-width widget takes a row to itself.
  let x = 0;
  let y = 0;
  return {
    widgets: widgets.map((w) => {
      if (x + w.width > 24) {
        x = 0;
        y += 6;
      }
      const placed = { ...w, x, y, height: 6 };
      x += w.width;
      return placed;
    }),
  };
}

/** The dashboard, by logical ID (none when `alarms.dashboard` is off). */
export function dashboardResources(config: SyncConfig): Record<string, Json> {
  if (!config.alarms.dashboard) return {};
  return {
    Dashboard: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: `${config.service}-\${sls:stage}`,
        DashboardBody: { 'Fn::Sub': JSON.stringify(dashboardBody(config)) },
      },
    },
  };
}

/** resources.Resources: what the stack gets beyond the functions and their events. */
export function extraResources(config: SyncConfig): Json {
  return { ...alarmResources(config), ...dashboardResources(config) };
}

/** Everything serverless.yml pulls in, by name. */
export function serverlessFragments(config: SyncConfig): Json {
  return {
    service: config.service,
    region: config.region,
    cdcEvents: cdcEvents(config),
    manualSyncEvents: manualSyncEvents(config),
    httpApi: httpApiConfig(config),
    iamStatements: iamStatements(config),
    extensions: eventSourceMappingExtensions(config),
    resources: extraResources(config),
    vpc: vpcConfig(config),
  };
}
