import type { CdcEntry, SyncConfig } from './schema';

/**
 * serverless.yml fragments generated from sync.config.yml, so that a topic, a database secret or an
 * auth change is made in one place. Pure: config in, plain objects out (tested table-driven).
 */

type Json = Record<string, unknown>;

/** osls's normalizeNameToAlphaNumericOnly. */
function normalize(s: string): string {
  const clean = s.replace(/[^0-9A-Za-z]/g, '');
  return clean.charAt(0).toUpperCase() + clean.slice(1);
}

function mskClusterName(arn: string): string {
  // arn:aws:kafka:region:account:cluster/<name>/<uuid>
  return arn.split('/')[1] ?? arn;
}

/** Logical IDs as osls's naming module builds them (getMSKEventLogicalId / getKafkaEventLogicalId). */
export function eventSourceMappingLogicalId(functionName: string, entry: CdcEntry, topic: string): string {
  const fn = `${normalize(functionName)}EventSourceMapping`;
  if (entry.msk)
    return `${fn}MSK${normalize(mskClusterName(entry.msk.arn)).slice(0, 79)}${normalize(topic).slice(0, 79)}`;
  return `${fn}Kafka${normalize(topic).slice(0, 158)}`;
}

function pollers(entry: CdcEntry): Json {
  const p = entry.retry.provisionedPollers;
  return p
    ? { provisionedPollerConfig: { minimumPollers: p.minimumPollers, maximumPollers: p.maximumPollers } }
    : {};
}

export function cdcEvents(config: SyncConfig): Json[] {
  const events: Json[] = [];
  for (const entry of config.cdc) {
    for (const topic of entry.topics) {
      const common = {
        topic,
        batchSize: entry.batchSize,
        maximumBatchingWindow: entry.maximumBatchingWindowInSeconds,
        startingPosition: entry.startingPosition,
        enabled: entry.enabled,
        ...pollers(entry),
      };
      if (entry.msk) events.push({ msk: { arn: entry.msk.arn, ...common } });
      else if (entry.kafka) {
        events.push({
          kafka: {
            bootstrapServers: entry.kafka.bootstrapServers,
            accessConfigurations: entry.kafka.accessConfigurations,
            ...(entry.kafka.consumerGroupId ? { consumerGroupId: entry.kafka.consumerGroupId } : {}),
            ...(entry.retry.onFailureDestination
              ? { onFailureDestination: entry.retry.onFailureDestination }
              : {}),
            ...common,
          },
        });
      }
    }
  }
  return events;
}

/**
 * Retry behaviour osls does not model, patched onto the generated mappings via `resources.extensions`:
 * finite retries, bisecting, partial batch responses (provisioned mode) and, for MSK, the failure destination.
 */
export function eventSourceMappingExtensions(config: SyncConfig, functionName = 'cdcSync'): Json {
  const out: Json = {};
  for (const entry of config.cdc) {
    if (!entry.msk && !entry.kafka) continue;
    for (const topic of entry.topics) {
      const r = entry.retry;
      out[eventSourceMappingLogicalId(functionName, entry, topic)] = {
        Properties: {
          MaximumRetryAttempts: r.maximumRetryAttempts,
          BisectBatchOnFunctionError: r.bisectBatchOnFunctionError,
          ...(r.reportBatchItemFailures ? { FunctionResponseTypes: ['ReportBatchItemFailures'] } : {}),
          ...(entry.msk && r.onFailureDestination
            ? { DestinationConfig: { OnFailure: { Destination: r.onFailureDestination } } }
            : {}),
        },
      };
    }
  }
  return out;
}

export function httpApiConfig(config: SyncConfig): Json {
  const auth = config.api.auth;
  return {
    cors: false,
    ...(auth.type === 'jwt'
      ? {
          authorizers: {
            jwtAuthorizer: {
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

export const MANUAL_ROUTES: [method: string, path: string][] = [
  ['GET', '/'],
  ['POST', '/sync'],
  ['GET', '/sync/{jobId}'],
  ['GET', '/dead-letters'],
  ['POST', '/dead-letters/{id}/retry'],
];

export function manualSyncEvents(config: SyncConfig): Json[] {
  const authorizer = config.api.auth.type === 'jwt' ? { name: 'jwtAuthorizer' } : { type: 'aws_iam' };
  return MANUAL_ROUTES.map(([method, path]) => ({ httpApi: { method, path, authorizer } }));
}

/** IAM statements limited to what the two functions do beyond what osls grants for their triggers. */
export function iamStatements(config: SyncConfig): Json[] {
  const statements: Json[] = [];
  const secrets = Object.values(config.databases).flatMap((d) => (d.secretId ? [d.secretId] : []));
  const arnsOnly = secrets.filter((s) => s.startsWith('arn:'));
  if (secrets.length) {
    statements.push({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      // A secret given by name is matched with the random suffix Secrets Manager appends to ARNs.
      Resource: [
        ...arnsOnly,
        ...secrets
          .filter((s) => !s.startsWith('arn:'))
          .map((name) => ({
            'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}-*`,
          })),
      ],
    });
  }
  statements.push({
    Effect: 'Allow',
    Action: ['lambda:InvokeFunction'],
    Resource: [
      {
        'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${config.service}-\${sls:stage}-manualSync`,
      },
    ],
  });
  // osls itself grants the MSK/Kafka polling and VPC network-interface permissions its triggers need.
  const destinations = [
    ...new Set(
      config.cdc.flatMap((e) => (e.retry.onFailureDestination ? [e.retry.onFailureDestination] : [])),
    ),
  ];
  if (destinations.length) {
    statements.push({
      Effect: 'Allow',
      Action: ['sqs:SendMessage', 'sns:Publish', 's3:PutObject'],
      Resource: destinations,
    });
  }
  return statements;
}

export function vpcConfig(config: SyncConfig): Json | undefined {
  return config.vpc
    ? { securityGroupIds: config.vpc.securityGroupIds, subnetIds: config.vpc.subnetIds }
    : undefined;
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
    vpc: vpcConfig(config) ?? null,
  };
}
