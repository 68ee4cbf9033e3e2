import { z } from 'zod';
import { endpointKey, safeParseMysqlUrl } from './endpoint';

/**
 * The one schema for sync.config.yml. Everything the functions and serverless.yml need is here,
 * so a bad file fails at cold start (or at `serverless package`) with the key that is wrong.
 */

const identifier = z.string().regex(/^[A-Za-z0-9_$-]+$/, 'letters, digits, _, $ or - only');
/** `schema.table` patterns; `*` matches any run of characters inside one part. */
const tablePattern = z
  .string()
  .regex(/^[A-Za-z0-9_$*?-]+\.[A-Za-z0-9_$*?-]+$/, 'a "schema.table" pattern, * and ? allowed');

const databaseSchema = z
  .strictObject({
    role: z.enum(['online', 'offline']),
    // The message names the key and shows the URL redacted: never the value itself (it holds a password).
    url: z
      .string()
      .superRefine((url, ctx) => {
        const parsed = safeParseMysqlUrl(url);
        if (!parsed.success) ctx.addIssue({ code: 'custom', message: parsed.message });
      })
      .optional(),
    secretId: z.string().min(1).optional(),
    /** Connections per Lambda container; Lambda handles one event at a time, so 1–2 is plenty. */
    poolSize: z.number().int().min(1).max(10).default(2),
    connectTimeoutMs: z.number().int().positive().default(10_000),
    /** Upper bound for any single statement on this server (manual-sync reads use it). */
    statementTimeoutMs: z.number().int().positive().default(20_000),
    ssl: z.boolean().default(false),
  })
  .refine((d) => (d.url === undefined) !== (d.secretId === undefined), {
    message: 'give exactly one of "url" or "secretId"',
    path: ['url'],
  });

const operation = z.enum(['insert', 'update', 'delete']);

const mskSource = z.strictObject({ arn: z.string().startsWith('arn:') });
const kafkaSource = z.strictObject({
  bootstrapServers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'host:port')).min(1),
  /** As serverless's `kafka` event takes them, e.g. { saslScram512Auth: arn, vpcSubnet: [...] }. */
  accessConfigurations: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  consumerGroupId: z.string().optional(),
});

const cdcEntrySchema = z
  .strictObject({
    /** Optional label for logs and metrics; defaults to the first topic. */
    name: z.string().optional(),
    topics: z.array(z.string().min(1)).min(1),
    target: z.string().min(1),
    format: z.enum(['auto', 'debezium', 'canal', 'maxwell']).default('auto'),
    /** Online schema → offline schema, e.g. { shop: shop_test }. */
    schemas: z.record(z.string(), identifier).default({}),
    tables: z.array(tablePattern).min(1).default(['*.*']),
    operations: z.array(operation).min(1).default(['insert', 'update', 'delete']),
    onConflict: z.enum(['overwrite', 'skip']).default('overwrite'),
    applyTruncate: z.boolean().default(false),
    applyDdl: z.boolean().default(false),
    /**
     * Upsert without lookups first (a guarded statement the server refuses when a row meets another row's
     * unique key), falling back to the careful path for what it refuses. Off: every flush looks first.
     */
    fastPath: z.boolean().default(true),
    msk: mskSource.optional(),
    kafka: kafkaSource.optional(),
    batchSize: z.number().int().min(1).max(10_000).default(500),
    maximumBatchingWindowInSeconds: z.number().int().min(0).max(300).default(1),
    startingPosition: z.enum(['LATEST', 'TRIM_HORIZON']).default('TRIM_HORIZON'),
    enabled: z.boolean().default(true),
    /**
     * What Lambda does with a batch that fails: applied in Kafka provisioned mode only (`provisionedPollers`),
     * where Lambda offers these controls. The handler reports partial failures only when
     * `reportBatchItemFailures` is on, and throws otherwise.
     */
    retry: z
      .strictObject({
        maximumRetryAttempts: z.number().int().min(0).max(10_000).default(10),
        bisectBatchOnFunctionError: z.boolean().default(true),
        reportBatchItemFailures: z.boolean().default(false),
        /** SQS queue (or SNS/S3) ARN that receives what is given up on. */
        onFailureDestination: z.string().startsWith('arn:').optional(),
        provisionedPollers: z
          .strictObject({
            minimumPollers: z.number().int().min(1).max(200).default(1),
            maximumPollers: z.number().int().min(1).max(2000).default(2),
          })
          .optional(),
      })
      .refine((r) => !r.reportBatchItemFailures || r.provisionedPollers, {
        message: 'reportBatchItemFailures needs provisionedPollers (Kafka provisioned mode)',
        path: ['reportBatchItemFailures'],
      })
      .default({
        maximumRetryAttempts: 10,
        bisectBatchOnFunctionError: true,
        reportBatchItemFailures: false,
      }),
  })
  .refine((e) => !(e.msk && e.kafka), { message: 'give "msk" or "kafka", not both', path: ['msk'] });

const manualEntrySchema = z.strictObject({
  source: z.string().min(1),
  target: z.string().min(1),
  schemas: z.record(z.string(), identifier).default({}),
  tables: z.array(tablePattern).min(1).default(['*.*']),
  /** Rows one request may copy: `limit` in the request defaults to `defaultLimit`, may not exceed `maxLimit`. */
  defaultLimit: z.number().int().positive().default(5_000),
  maxLimit: z.number().int().positive().default(100_000),
  chunkSize: z.number().int().min(1).max(10_000).default(1_000),
  /** How long one invocation copies before it answers 202 and continues asynchronously (API Gateway waits 30 s). */
  timeBudgetMs: z.number().int().min(0).max(840_000).default(20_000),
});

const authSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('jwt'), issuer: z.url(), audience: z.array(z.string()).min(1) }),
  z.strictObject({ type: z.literal('iam') }),
]);

export const configSchema = z
  .strictObject({
    service: z
      .string()
      .regex(/^[a-zA-Z][a-zA-Z0-9-]*$/)
      .default('cdc-mirror'),
    region: z.string().default('us-east-1'),
    /** Lambda VPC placement, needed when the databases are private. */
    vpc: z
      .strictObject({ securityGroupIds: z.array(z.string()).min(1), subnetIds: z.array(z.string()).min(1) })
      .optional(),
    databases: z.record(identifier, databaseSchema).refine((d) => Object.keys(d).length > 0, {
      message: 'declare at least one database',
    }),
    cdc: z.array(cdcEntrySchema).default([]),
    manual: z.array(manualEntrySchema).default([]),
    api: z.strictObject({ auth: authSchema }).default({ auth: { type: 'iam' } }),
    /** How long a warm container trusts introspected table schemas. */
    schemaCacheTtlSeconds: z.number().int().min(0).default(300),
    /** How long a fetched secret is trusted before it is fetched again (rotation). */
    secretCacheTtlSeconds: z.number().int().min(0).default(300),
  })
  .superRefine((cfg, ctx) => {
    const checkPair = (path: (string | number)[], source: string | undefined, target: string) => {
      const targetDb = cfg.databases[target];
      if (!targetDb) {
        ctx.addIssue({ code: 'custom', path: [...path, 'target'], message: `unknown database "${target}"` });
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
  });

export type SyncConfig = z.infer<typeof configSchema>;
export type DatabaseConfig = SyncConfig['databases'][string];
export type CdcEntry = SyncConfig['cdc'][number];
export type ManualEntry = SyncConfig['manual'][number];
