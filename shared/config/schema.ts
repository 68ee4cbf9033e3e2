import * as z from 'zod/mini';
import { endpointKey, safeParseMysqlUrl } from './endpoint';
import './zod-english';

/**
 * The one schema for sync.config.yml. Everything the functions and serverless.yml need is here,
 * so a bad file fails at cold start (or at `serverless package`) with the key that is wrong.
 */

const identifier = z.string().check(z.regex(/^[A-Za-z0-9_$-]+$/, 'letters, digits, _, $ or - only'));
/** `schema.table` patterns; `*` matches any run of characters inside one part. */
const tablePattern = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_$*?-]+\.[A-Za-z0-9_$*?-]+$/, 'a "schema.table" pattern, * and ? allowed'));

const databaseSchema = z
  .strictObject({
    role: z.enum(['online', 'offline']),
    // The message names the key and shows the URL redacted: never the value itself (it holds a password).
    url: z.optional(
      z.string().check(
        z.superRefine((url, ctx) => {
          const parsed = safeParseMysqlUrl(url);
          if (!parsed.success) ctx.addIssue({ code: 'custom', message: parsed.message });
        }),
      ),
    ),
    secretId: z.optional(z.string().check(z.minLength(1))),
    /** Connections per Lambda container; Lambda handles one event at a time, so 1–2 is plenty. */
    poolSize: z._default(z.int().check(z.gte(1), z.lte(10)), 2),
    connectTimeoutMs: z._default(z.int().check(z.positive()), 10_000),
    /** Upper bound for any single statement on this server (manual-sync reads use it). */
    statementTimeoutMs: z._default(z.int().check(z.positive()), 20_000),
    ssl: z._default(z.boolean(), false),
  })
  .check(
    z.refine((d) => (d.url === undefined) !== (d.secretId === undefined), {
      message: 'give exactly one of "url" or "secretId"',
      path: ['url'],
    }),
  );

const operation = z.enum(['insert', 'update', 'delete']);

const mskSource = z.strictObject({ arn: z.string().check(z.startsWith('arn:')) });
const kafkaSource = z.strictObject({
  bootstrapServers: z.array(z.string().check(z.regex(/^[^:\s]+:\d+$/, 'host:port'))).check(z.minLength(1)),
  /** As serverless's `kafka` event takes them, e.g. { saslScram512Auth: arn, vpcSubnet: [...] }. */
  accessConfigurations: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  consumerGroupId: z.optional(z.string()),
});

const cdcEntrySchema = z
  .strictObject({
    /** Optional label for logs and metrics; defaults to the first topic. */
    name: z.optional(z.string()),
    topics: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
    target: z.string().check(z.minLength(1)),
    format: z._default(z.enum(['auto', 'debezium', 'canal', 'maxwell']), 'auto'),
    /** Online schema → offline schema, e.g. { shop: shop_test }. */
    schemas: z._default(z.record(z.string(), identifier), {}),
    tables: z._default(z.array(tablePattern).check(z.minLength(1)), ['*.*']),
    operations: z._default(z.array(operation).check(z.minLength(1)), ['insert', 'update', 'delete']),
    onConflict: z._default(z.enum(['overwrite', 'skip']), 'overwrite'),
    applyTruncate: z._default(z.boolean(), false),
    applyDdl: z._default(z.boolean(), false),
    /**
     * Upsert without lookups first (a guarded statement the server refuses when a row meets another row's
     * unique key), falling back to the careful path for what it refuses. Off: every flush looks first.
     */
    fastPath: z._default(z.boolean(), true),
    msk: z.optional(mskSource),
    kafka: z.optional(kafkaSource),
    batchSize: z._default(z.int().check(z.gte(1), z.lte(10_000)), 500),
    maximumBatchingWindowInSeconds: z._default(z.int().check(z.gte(0), z.lte(300)), 1),
    startingPosition: z._default(z.enum(['LATEST', 'TRIM_HORIZON']), 'TRIM_HORIZON'),
    enabled: z._default(z.boolean(), true),
    /**
     * What Lambda does with a batch that fails: applied in Kafka provisioned mode only (`provisionedPollers`),
     * where Lambda offers these controls. The handler reports partial failures only when
     * `reportBatchItemFailures` is on, and throws otherwise.
     */
    retry: z._default(
      z
        .strictObject({
          maximumRetryAttempts: z._default(z.int().check(z.gte(0), z.lte(10_000)), 10),
          bisectBatchOnFunctionError: z._default(z.boolean(), true),
          reportBatchItemFailures: z._default(z.boolean(), false),
          /** SQS queue (or SNS/S3) ARN that receives what is given up on. */
          onFailureDestination: z.optional(z.string().check(z.startsWith('arn:'))),
          provisionedPollers: z.optional(
            z.strictObject({
              minimumPollers: z._default(z.int().check(z.gte(1), z.lte(200)), 1),
              maximumPollers: z._default(z.int().check(z.gte(1), z.lte(2000)), 2),
            }),
          ),
        })
        .check(
          z.refine((r) => !r.reportBatchItemFailures || r.provisionedPollers, {
            message: 'reportBatchItemFailures needs provisionedPollers (Kafka provisioned mode)',
            path: ['reportBatchItemFailures'],
          }),
        ),
      {
        maximumRetryAttempts: 10,
        bisectBatchOnFunctionError: true,
        reportBatchItemFailures: false,
      },
    ),
  })
  .check(z.refine((e) => !(e.msk && e.kafka), { message: 'give "msk" or "kafka", not both', path: ['msk'] }));

const manualEntrySchema = z.strictObject({
  source: z.string().check(z.minLength(1)),
  target: z.string().check(z.minLength(1)),
  schemas: z._default(z.record(z.string(), identifier), {}),
  tables: z._default(z.array(tablePattern).check(z.minLength(1)), ['*.*']),
  /** Rows one request may copy: `limit` in the request defaults to `defaultLimit`, may not exceed `maxLimit`. */
  defaultLimit: z._default(z.int().check(z.positive()), 5_000),
  maxLimit: z._default(z.int().check(z.positive()), 100_000),
  chunkSize: z._default(z.int().check(z.gte(1), z.lte(10_000)), 1_000),
  /** How long one invocation copies before it answers 202 and continues asynchronously (API Gateway waits 30 s). */
  timeBudgetMs: z._default(z.int().check(z.gte(0), z.lte(840_000)), 20_000),
});

const authSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('jwt'),
    issuer: z.url(),
    audience: z.array(z.string()).check(z.minLength(1)),
    /** The console's OIDC client (authorization code + PKCE, no secret), e.g. a Cognito app client id. */
    clientId: z.optional(z.string().check(z.minLength(1))),
    /** Scopes the console asks for (default `openid email`). */
    scopes: z.optional(z.array(z.string())),
  }),
  z.strictObject({ type: z.literal('iam') }),
]);

export const configSchema = z
  .strictObject({
    service: z._default(z.string().check(z.regex(/^[a-zA-Z][a-zA-Z0-9-]*$/)), 'cdc-mirror'),
    region: z._default(z.string(), 'us-east-1'),
    /** Lambda VPC placement, needed when the databases are private. */
    vpc: z.optional(
      z.strictObject({
        securityGroupIds: z.array(z.string()).check(z.minLength(1)),
        subnetIds: z.array(z.string()).check(z.minLength(1)),
      }),
    ),
    databases: z.record(identifier, databaseSchema).check(
      z.refine((d) => Object.keys(d).length > 0, {
        message: 'declare at least one database',
      }),
    ),
    cdc: z._default(z.array(cdcEntrySchema), []),
    manual: z._default(z.array(manualEntrySchema), []),
    api: z._default(z.strictObject({ auth: authSchema }), { auth: { type: 'iam' } }),
    /** How long a warm container trusts introspected table schemas. */
    schemaCacheTtlSeconds: z._default(z.int().check(z.gte(0)), 300),
    /** How long a fetched secret is trusted before it is fetched again (rotation). */
    secretCacheTtlSeconds: z._default(z.int().check(z.gte(0)), 300),
    /**
     * Scheduled verifications (EventBridge → manualSync): each compares an online table with its offline
     * twin (as a manual entry maps it) and publishes RowsDrifted; an alarm watches it.
     */
    verify: z._default(
      z.array(
        z.strictObject({
          source: z.string().check(z.minLength(1)),
          table: z.string().check(z.regex(/^[^.\s`]+\.[^.\s`]+$/, 'a "schema.table" name')),
          /** The rows to verify (the manual-sync grammar); every row when omitted. */
          where: z._default(z.string(), ''),
          /** An EventBridge schedule expression; nightly at 03:00 UTC by default. */
          schedule: z._default(
            z
              .string()
              .check(z.regex(/^(cron|rate)\(.+\)$/, 'an EventBridge expression: cron(...) or rate(...)')),
            'cron(0 3 * * ? *)',
          ),
          /** Online rows read per second at most, so production is never stressed. */
          rowsPerSecond: z._default(z.int().check(z.gte(0)), 20_000),
        }),
      ),
      [],
    ),
    /** CloudWatch alarms and dashboard generated into the stack at `serverless package` (opt-out). */
    alarms: z._default(
      z.strictObject({
        /** The alarms (lag, dead letters, function errors and throttles, failure destination depth). */
        enabled: z._default(z.boolean(), true),
        /** Replication lag above this, sustained for 15 minutes, alarms. */
        lagThresholdSeconds: z._default(z.int().check(z.gte(1)), 300),
        /** An alarm on any dead-lettered row. */
        deadLetters: z._default(z.boolean(), true),
        /** Where every alarm notifies, on ALARM and on OK; without it the alarms only change state. */
        snsTopicArn: z.optional(z.string().check(z.startsWith('arn:'))),
        /** A CloudWatch dashboard of the service's metrics (independent of `enabled`). */
        dashboard: z._default(z.boolean(), true),
      }),
      { enabled: true, lagThresholdSeconds: 300, deadLetters: true, dashboard: true },
    ),
  })
  .check(
    z.superRefine((cfg, ctx) => {
      const checkPair = (path: (string | number)[], source: string | undefined, target: string) => {
        const targetDb = cfg.databases[target];
        if (!targetDb) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'target'],
            message: `unknown database "${target}"`,
          });
        } else if (targetDb.role !== 'offline') {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'target'],
            message: `"${target}" has role "${targetDb.role}": only offline databases may be written`,
          });
        }
        if (source !== undefined) {
          const sourceDb = cfg.databases[source];
          if (!sourceDb) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'source'],
              message: `unknown database "${source}"`,
            });
          } else if (sourceDb.role !== 'online') {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'source'],
              message: `"${source}" has role "${sourceDb.role}": a manual source must be online`,
            });
          }
        }
      };
      cfg.cdc.forEach((e, i) => {
        checkPair(['cdc', i], undefined, e.target);
      });
      cfg.manual.forEach((e, i) => {
        checkPair(['manual', i], e.source, e.target);
      });
      cfg.verify.forEach((v, i) => {
        if (!cfg.manual.some((e) => e.source === v.source))
          ctx.addIssue({
            code: 'custom',
            path: ['verify', i, 'source'],
            message: `no manual entry has source "${v.source}" (verification uses the manual entries' mapping)`,
          });
      });
      // Same host:port as an online database means "this is production": refuse before anything connects.
      // endpointKey folds every spelling of an address (127.1, [::ffff:127.0.0.1], LOCALHOST.) to one key.
      // This refinement runs even when a URL failed above: a bad URL is skipped here, not thrown on.
      const keyOf = (url: string | undefined): string | undefined => {
        const parsed = url === undefined ? undefined : safeParseMysqlUrl(url);
        return parsed?.success ? endpointKey(parsed.endpoint) : undefined;
      };
      const onlineEndpoints = new Map<string, string>();
      for (const [name, db] of Object.entries(cfg.databases)) {
        const key = db.role === 'online' ? keyOf(db.url) : undefined;
        if (key) onlineEndpoints.set(key, name);
      }
      for (const [name, db] of Object.entries(cfg.databases)) {
        const key = db.role === 'offline' ? keyOf(db.url) : undefined;
        const online = key && onlineEndpoints.get(key);
        if (online) {
          ctx.addIssue({
            code: 'custom',
            path: ['databases', name, 'url'],
            message: `offline database "${name}" points at the same server as online database "${online}"`,
          });
        }
      }
      const seenTopics = new Map<string, number>();
      cfg.cdc.forEach((e, i) => {
        e.topics.forEach((t, j) => {
          const prev = seenTopics.get(t);
          if (prev !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['cdc', i, 'topics', j],
              message: `topic "${t}" is already routed by cdc[${prev}]`,
            });
          }
          seenTopics.set(t, i);
        });
      });
    }),
  );

export type SyncConfig = z.infer<typeof configSchema>;
export type DatabaseConfig = SyncConfig['databases'][string];
export type CdcEntry = SyncConfig['cdc'][number];
export type ManualEntry = SyncConfig['manual'][number];
