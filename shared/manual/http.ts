import type { LambdaClient } from '@aws-sdk/client-lambda';
import httpRouterHandler from '@middy/http-router';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { SyncConfig } from '../config/schema';
import { DatabaseUnreachableError, runAfterInvocationLocally, UnknownDatabaseError } from '../db/connection';
import { redactMessage } from '../db/errors';
import { GuardUnverifiedError, getWriteTarget, OnlineTargetError } from '../db/guard';
import { logger, MetricUnit, metrics } from '../observability';
import {
  type DeadLetterStatus,
  discardDeadLetter,
  getDeadLetter,
  listDeadLetters,
  type StoredDeadLetter,
} from '../reliability/dead-letters';
import { DeadLetterError, replayDeadLetter } from '../reliability/replay';
import { readTargetStatus } from '../reliability/status';
import {
  continueVerify,
  getVerify,
  isScheduledVerifyEvent,
  repairVerify,
  runScheduledVerify,
  type ScheduledVerifyEvent,
  startVerify,
  type VerifyContext,
} from '../verify/service';
import { CONDITION_GRAMMAR, ConditionRejectedError } from './condition';
import type { JobFilter } from './jobs';
import { HTTP_ROUTES, routeKey } from './routes';
import {
  cancelJob,
  catalogOf,
  continueManualSync,
  getJobStatus,
  listJobViews,
  ManualSyncError,
  resumeJob,
  type SyncContext,
  startManualSync,
} from './sync';
import { WEB_PAGE } from './web-page';

/**
 * What the manual-sync function sends itself to go on with a job or a verification. `invocation`: the
 * sender's claim on the run (see claimRun); a second delivery finds it taken.
 */
export type ContinueEvent =
  | { cdcMirrorContinueJob: string; target: string; invocation?: number }
  | { cdcMirrorContinueVerify: string; target: string; invocation?: number };

export function isContinueEvent(event: unknown): event is ContinueEvent {
  const e = event as Record<string, unknown> | null;
  return typeof e?.cdcMirrorContinueJob === 'string' || typeof e?.cdcMirrorContinueVerify === 'string';
}

const inAws = () => Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME) && !process.env.IS_LOCAL;
let lambda: LambdaClient | undefined;

/** The caller as the authorizer saw them: JWT subject/email or IAM ARN. */
export function callerIdentity(event: APIGatewayProxyEventV2): string | undefined {
  const auth = (event.requestContext as { authorizer?: Record<string, unknown> }).authorizer;
  const claims = (auth?.jwt as { claims?: Record<string, unknown> } | undefined)?.claims;
  const iam = auth?.iam as { userArn?: string; userId?: string } | undefined;
  const id = claims?.email ?? claims?.sub ?? iam?.userArn ?? iam?.userId;
  return typeof id === 'string' && id ? id : undefined;
}

/**
 * Goes on after this invocation answers: in AWS a new asynchronous invocation of this function with
 * `payload`; locally (no Lambda to invoke) `local` in this process once the answer is out (the databases
 * stay open until it is done, even under `serverless invoke local`).
 */
async function continueLater(
  context: Context,
  payload: ContinueEvent,
  local: () => Promise<unknown>,
): Promise<void> {
  if (inAws()) {
    // Loaded on first use (the Lambda runtime provides the SDK; see serverless/esbuild.cjs).
    const sdk = await import('@aws-sdk/client-lambda');
    lambda ??= new sdk.LambdaClient({});
    await lambda.send(
      new sdk.InvokeCommand({
        FunctionName: context.invokedFunctionArn || process.env.AWS_LAMBDA_FUNCTION_NAME,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
    return;
  }
  runAfterInvocationLocally(() =>
    local().catch((err: unknown) =>
      logger.error('continuation failed', { payload, error: redactMessage(err) }),
    ),
  );
}

/** Locally a continuation has the time a Lambda invocation would have at most. */
const LOCAL_REMAINING_MS = () => 15 * 60_000;

function syncContext(config: SyncConfig, identity: string, context: Context): SyncContext {
  const ctx: SyncContext = {
    config,
    identity,
    remainingMs: () => context.getRemainingTimeInMillis(),
    continueJob: (jobId, target, invocation) =>
      continueLater(context, { cdcMirrorContinueJob: jobId, target, invocation }, () =>
        continueManualSync(jobId, target, { ...ctx, remainingMs: LOCAL_REMAINING_MS }, invocation),
      ),
  };
  return ctx;
}

function verifyContext(config: SyncConfig, identity: string, context: Context): VerifyContext {
  const ctx: VerifyContext = {
    config,
    identity,
    remainingMs: () => context.getRemainingTimeInMillis(),
    continueVerify: (verifyId, target, invocation) =>
      continueLater(context, { cdcMirrorContinueVerify: verifyId, target, invocation }, () =>
        continueVerify(verifyId, target, { ...ctx, remainingMs: LOCAL_REMAINING_MS }, invocation),
      ),
  };
  return ctx;
}

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body, (_k, v: unknown) =>
    v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer'
      ? `0x${Buffer.from((v as { data: number[] }).data).toString('hex')}`
      : v,
  ),
});

const invalid = (message: string) => new ManualSyncError('invalid', message);

function parseBody(event: APIGatewayProxyEventV2): unknown {
  const text =
    event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (!text) throw invalid('the request has no body');
  try {
    return JSON.parse(text);
  } catch {
    throw invalid('the body is not valid JSON');
  }
}

/** A path parameter, percent-decoded; a malformed escape is the caller's mistake. */
function pathParam(event: APIGatewayProxyEventV2, name: string): string {
  const raw = event.pathParameters?.[name] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalid(`the path parameter ${name} is not valid percent-encoding`);
  }
}

/** Which offline database a dead-letter request means: the `target` parameter, or the only one there is. */
function deadLetterTarget(config: SyncConfig, event: APIGatewayProxyEventV2): string {
  const given = event.queryStringParameters?.target;
  const targets = [...new Set(config.cdc.map((e) => e.target))];
  if (given) {
    if (!targets.includes(given)) throw new ManualSyncError('not-found', `"${given}" is not a CDC target`);
    return given;
  }
  if (targets.length === 1) return targets[0] as string;
  throw invalid(`give ?target= one of ${targets.join(', ') || '(no CDC targets configured)'}`);
}

const STATUSES = new Set(['open', 'resolved', 'superseded', 'discarded']);
const JOB_STATUSES = new Set(['running', 'succeeded', 'failed', 'refused', 'cancelled']);

function limitOf(q: Record<string, string | undefined>, fallback: number): number {
  const limit = q.limit === undefined ? fallback : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalid('limit is a whole number from 1 to 1000');
  return limit;
}

function jobFilter(q: Record<string, string | undefined>): JobFilter {
  if (q.status !== undefined && !JOB_STATUSES.has(q.status))
    throw invalid(`status is one of ${[...JOB_STATUSES].join(', ')}`);
  return {
    limit: limitOf(q, 50),
    ...(q.requestedBy ? { requestedBy: q.requestedBy } : {}),
    ...(q.table ? { table: q.table } : {}),
    ...(q.status ? { status: q.status as JobFilter['status'] } : {}),
  };
}

/** A dead letter as the API shows it: the message text, and the message parsed when it is JSON. */
function deadLetterView({ key, value, ...rest }: StoredDeadLetter) {
  const text = value?.toString('utf8') ?? null;
  let payload: unknown = null;
  if (text !== null && !rest.valueTruncated) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  return { ...rest, key: key?.toString('utf8') ?? null, payload, value: text?.slice(0, 4096) ?? null };
}

const deadLetterId = (id: string) => {
  if (!/^\d{1,20}$/.test(id)) throw invalid('a dead-letter id is a number');
  return id;
};

function listOptions(q: Record<string, string | undefined>) {
  const limit = limitOf(q, 100);
  if (q.status !== undefined && !STATUSES.has(q.status))
    throw invalid(`status is one of ${[...STATUSES].join(', ')}`);
  if (q.afterId !== undefined && !/^\d{1,20}$/.test(q.afterId)) throw invalid('afterId is a dead-letter id');
  return {
    limit,
    ...(q.status ? { status: q.status as DeadLetterStatus } : {}),
    ...(q.topic ? { topic: q.topic } : {}),
    ...(q.table ? { table: q.table } : {}),
    ...(q.errorClass ? { errorClass: q.errorClass } : {}),
    ...(q.afterId ? { afterId: q.afterId } : {}),
  };
}

type Request = { event: APIGatewayProxyEventV2; context: Context; config: SyncConfig; identity: string };
type Route = (r: Request) => Promise<APIGatewayProxyStructuredResultV2>;

const routes: { method: 'GET' | 'POST'; path: string; handler: Route }[] = [
  {
    method: 'GET',
    path: '/',
    handler: async () => ({
      statusCode: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: WEB_PAGE,
    }),
  },
  {
    // How the console signs in: public (the page needs it before it has a token), no secrets in it.
    method: 'GET',
    path: '/auth-config',
    handler: async ({ config }) => json(200, config.api.auth),
  },
  {
    method: 'GET',
    path: '/catalog',
    handler: async ({ config }) =>
      json(200, {
        sources: await catalogOf(config),
        cdc: config.cdc.map((e) => ({
          name: e.name ?? e.topics[0],
          topics: e.topics,
          target: e.target,
          enabled: e.enabled,
        })),
        auth: config.api.auth,
        grammar: CONDITION_GRAMMAR,
      }),
  },
  {
    method: 'GET',
    path: '/status',
    handler: async ({ config }) => {
      const targets = [];
      for (const target of new Set(config.cdc.map((e) => e.target)))
        targets.push(await readTargetStatus(await getWriteTarget(target, config), target));
      return json(200, {
        targets,
        entries: config.cdc.map((e) => ({
          name: e.name ?? e.topics[0],
          topics: e.topics,
          target: e.target,
          enabled: e.enabled,
        })),
      });
    },
  },
  {
    method: 'GET',
    path: '/sync',
    handler: async ({ event, config }) =>
      json(200, { jobs: await listJobViews(config, jobFilter(event.queryStringParameters ?? {})) }),
  },
  {
    method: 'POST',
    path: '/sync/{jobId}/cancel',
    handler: async ({ event, config, identity }) =>
      json(200, await cancelJob(pathParam(event, 'jobId'), config, identity)),
  },
  {
    method: 'POST',
    path: '/sync/{jobId}/resume',
    handler: async ({ event, context, config, identity }) => {
      const answer = await resumeJob(pathParam(event, 'jobId'), syncContext(config, identity, context));
      return json(answer.statusCode, answer.body);
    },
  },
  {
    method: 'POST',
    path: '/verify',
    handler: async ({ event, context, config, identity }) => {
      const answer = await startVerify(parseBody(event), verifyContext(config, identity, context));
      return json(answer.statusCode, answer.body);
    },
  },
  {
    method: 'GET',
    path: '/verify/{verifyId}',
    handler: async ({ event, config }) => json(200, await getVerify(pathParam(event, 'verifyId'), config)),
  },
  {
    method: 'POST',
    path: '/verify/{verifyId}/repair',
    handler: async ({ event, context, config, identity }) =>
      json(
        200,
        await repairVerify(
          pathParam(event, 'verifyId'),
          event.body ? parseBody(event) : {},
          verifyContext(config, identity, context),
        ),
      ),
  },
  {
    method: 'POST',
    path: '/sync',
    handler: async ({ event, context, config, identity }) => {
      const answer = await startManualSync(parseBody(event), syncContext(config, identity, context));
      return json(answer.statusCode, answer.body);
    },
  },
  {
    method: 'GET',
    path: '/sync/{jobId}',
    handler: async ({ event, config }) => json(200, await getJobStatus(pathParam(event, 'jobId'), config)),
  },
  {
    method: 'GET',
    path: '/dead-letters',
    handler: async ({ event, config }) => {
      const target = deadLetterTarget(config, event);
      const opts = listOptions(event.queryStringParameters ?? {});
      const letters = await listDeadLetters(await getWriteTarget(target, config), opts);
      return json(200, {
        target,
        deadLetters: letters.map(deadLetterView),
      });
    },
  },
  {
    method: 'POST',
    path: '/dead-letters/{id}/retry',
    handler: async ({ event, context, config }) => {
      const target = deadLetterTarget(config, event);
      const id = deadLetterId(pathParam(event, 'id'));
      return json(200, await replayDeadLetter(config, target, id, () => context.getRemainingTimeInMillis()));
    },
  },
  {
    method: 'POST',
    path: '/dead-letters/retry',
    handler: async ({ event, context, config }) => {
      const target = deadLetterTarget(config, event);
      const body = parseBody(event) as { ids?: unknown };
      if (!Array.isArray(body.ids) || body.ids.length === 0 || body.ids.length > 100)
        throw invalid('ids is a list of 1 to 100 dead-letter ids');
      // The guard first: a refused target is the answer, not a list of per-letter failures.
      await getWriteTarget(target, config);
      const results = [];
      for (const raw of body.ids) {
        const id = deadLetterId(String(raw));
        try {
          const r = await replayDeadLetter(config, target, id, () => context.getRemainingTimeInMillis());
          // Applied this time: ok. A letter that failed again stays open, and is not.
          results.push({ id, ok: r.status === 'resolved', ...r });
        } catch (err) {
          results.push({ id, ok: false, error: redactMessage(err) });
        }
      }
      return json(200, { target, results });
    },
  },
  {
    method: 'POST',
    path: '/dead-letters/{id}/discard',
    handler: async ({ event, config, identity }) => {
      const target = deadLetterTarget(config, event);
      const id = deadLetterId(pathParam(event, 'id'));
      const offline = await getWriteTarget(target, config);
      if (!(await discardDeadLetter(offline, id, identity))) {
        const letter = await getDeadLetter(offline, id);
        if (!letter) throw new DeadLetterError('not-found', `dead letter ${id} not found in ${target}`);
        throw new ManualSyncError(
          'conflict',
          `dead letter ${id} is ${letter.status}: only an open one can be discarded`,
        );
      }
      logger.info('dead letter discarded', { target, id, by: identity });
      return json(200, { id, status: 'discarded', discardedBy: identity });
    },
  },
];

/** Domain errors → status codes, in one place. Below 500 the caller sees the message; above, a request id. */
const KIND_STATUS: Record<ManualSyncError['kind'], number> = {
  invalid: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  unprocessable: 422,
};

export function errorResponse(err: unknown, requestId: string): APIGatewayProxyStructuredResultV2 {
  if (err instanceof ConditionRejectedError)
    return json(err.statusCode, { error: err.message, reason: err.reason });
  if (err instanceof ManualSyncError)
    return json(KIND_STATUS[err.kind], { error: err.message, ...(err.details ?? {}) });
  if (err instanceof DeadLetterError)
    return json(err.kind === 'not-found' ? 404 : 409, { error: err.message });
  if (err instanceof OnlineTargetError) return json(403, { error: err.message });
  if (err instanceof UnknownDatabaseError) return json(403, { error: err.message });
  if (err instanceof GuardUnverifiedError || err instanceof DatabaseUnreachableError)
    return json(503, { error: err.message, requestId });
  const routeMissing =
    (err as { statusCode?: number; cause?: { package?: string } }).cause?.package === '@middy/http-router';
  if (routeMissing) return json(404, { error: 'no such route' });
  logger.error('manual sync request failed', {
    error: { name: (err as Error)?.name, message: redactMessage(err) },
  });
  return json(500, { error: 'internal error', requestId });
}

// The routes served are exactly the routes packaging declares (shared/manual/routes.ts).
{
  const served = new Set(routes.map(routeKey));
  const declared = new Set(HTTP_ROUTES.map(routeKey));
  const differ = [...served]
    .filter((k) => !declared.has(k))
    .concat([...declared].filter((k) => !served.has(k)));
  if (differ.length)
    throw new Error(`HTTP routes and shared/manual/routes.ts disagree on: ${differ.join(', ')}`);
}
const PUBLIC = new Set(HTTP_ROUTES.filter((r) => r.public).map(routeKey));

const router = httpRouterHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(
  routes.map((r) => ({
    method: r.method,
    path: r.path,
    handler: (event: APIGatewayProxyEventV2, context: Context) => {
      const { config, identity } = (context as Context & { cdcMirror: Pick<Request, 'config' | 'identity'> })
        .cdcMirror;
      return r.handler({ event, context, config, identity });
    },
  })),
);

/**
 * The manual-sync HTTP API: declared routes (@middy/http-router), authentication, and one error
 * mapping at the edge (domain errors to status codes; never a stack trace).
 */
export async function handleHttpRequest(
  event: APIGatewayProxyEventV2,
  context: Context,
  config: SyncConfig,
): Promise<APIGatewayProxyStructuredResultV2> {
  metrics.addMetric('ManualSyncRequests', MetricUnit.Count, 1);
  try {
    const method = event.requestContext?.http?.method ?? '';
    const open = PUBLIC.has(`${method} ${event.rawPath}`);
    const identity = callerIdentity(event) ?? (inAws() && !open ? undefined : 'local');
    if (!identity) return json(401, { error: 'the request carries no authenticated identity' });
    const scoped = Object.assign(Object.create(context) as Context, { cdcMirror: { config, identity } });
    return (await router(event, scoped, {} as never)) as APIGatewayProxyStructuredResultV2;
  } catch (err) {
    return errorResponse(err, context.awsRequestId);
  }
}

/** A continuation this function sent itself (a job or a verification that ran out of budget). */
export async function handleContinuation(event: ContinueEvent, context: Context, config: SyncConfig) {
  if ('cdcMirrorContinueVerify' in event)
    return (
      await continueVerify(
        event.cdcMirrorContinueVerify,
        event.target,
        verifyContext(config, 'continuation', context),
        validInvocation(event.invocation),
      )
    ).body;
  const ctx = syncContext(config, 'continuation', context);
  return (
    await continueManualSync(event.cdcMirrorContinueJob, event.target, ctx, validInvocation(event.invocation))
  ).body;
}

/** A claim count from an event: a positive integer, else none (claimed without the check). */
const validInvocation = (n: unknown): number | undefined =>
  typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;

/** Every event the manual-sync function receives: its own continuations, scheduled verifications, HTTP. */
export function handleManualSyncEvent(
  event: APIGatewayProxyEventV2 | ContinueEvent | ScheduledVerifyEvent,
  context: Context,
  config: SyncConfig,
): Promise<unknown> {
  if (isContinueEvent(event)) return handleContinuation(event, context, config);
  if (isScheduledVerifyEvent(event))
    return runScheduledVerify(event, verifyContext(config, 'schedule', context));
  return handleHttpRequest(event, context, config);
}
