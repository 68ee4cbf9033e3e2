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

export const MANUAL_ROUTES: readonly (readonly [method: string, path: string])[] = [
  ['GET', '/'],
  ['POST', '/sync'],
  ['GET', '/sync/{jobId}'],
  ['GET', '/dead-letters'],
  ['POST', '/dead-letters/{id}/retry'],
];

/** manualSync's httpApi events: every route behind the configured authorizer. */
export function manualSyncEvents(config: SyncConfig): Json[] {
  const authorizer = config.api.auth.type === 'jwt' ? { name: JWT_AUTHORIZER } : { type: 'aws_iam' };
  return MANUAL_ROUTES.map(([method, path]) => ({ httpApi: { method, path, authorizer } }));
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
    vpc: vpcConfig(config),
  };
}
