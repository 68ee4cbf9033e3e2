import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { SyncConfig } from '../config/schema';
import { getDatabase } from '../db/connection';
import { logger, MetricUnit, metrics } from '../observability';
import { listDeadLetters } from '../reliability/dead-letters';
import { replayDeadLetter } from '../reliability/replay';
import { ConditionRejectedError } from './condition';
import { continueManualSync, getJobStatus, HttpError, type SyncContext, startManualSync } from './sync';
import { WEB_PAGE } from './web-page';

/** The payload the manual-sync function sends itself to go on with a job. */
export interface ContinueJobEvent {
  cdcMirrorContinueJob: string;
  target: string;
}

export function isContinueJobEvent(event: unknown): event is ContinueJobEvent {
  return typeof (event as ContinueJobEvent | null)?.cdcMirrorContinueJob === 'string';
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

function syncContext(config: SyncConfig, identity: string, context: Context): SyncContext {
  const ctx: SyncContext = {
    config,
    identity,
    remainingMs: () => context.getRemainingTimeInMillis(),
    async continueJob(jobId, target) {
      const payload: ContinueJobEvent = { cdcMirrorContinueJob: jobId, target };
      if (inAws()) {
        lambda ??= new LambdaClient({});
        await lambda.send(
          new InvokeCommand({
            FunctionName: context.invokedFunctionArn || process.env.AWS_LAMBDA_FUNCTION_NAME,
            InvocationType: 'Event',
            Payload: Buffer.from(JSON.stringify(payload)),
          }),
        );
        return;
      }
      // Locally there is no Lambda to invoke: go on in this process once the answer is out.
      setImmediate(() => {
        continueManualSync(jobId, target, { ...ctx, remainingMs: () => 15 * 60_000 }).catch((err: unknown) =>
          logger.error('job continuation failed', { jobId, error: (err as Error).message }),
        );
      });
    },
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

function parseBody(event: APIGatewayProxyEventV2): unknown {
  const text =
    event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (!text) throw new HttpError(400, 'the request has no body');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}

/** Which offline database a dead-letter request means: the `target` parameter, or the only one there is. */
function deadLetterTarget(config: SyncConfig, event: APIGatewayProxyEventV2): string {
  const given = event.queryStringParameters?.target;
  const targets = [...new Set(config.cdc.map((e) => e.target))];
  if (given) {
    if (!targets.includes(given)) throw new HttpError(404, `"${given}" is not a CDC target`);
    return given;
  }
  if (targets.length === 1) return targets[0] as string;
  throw new HttpError(400, `give ?target= one of ${targets.join(', ') || '(no CDC targets configured)'}`);
}

async function route(event: APIGatewayProxyEventV2, context: Context, config: SyncConfig, identity: string) {
  const method = event.requestContext.http.method.toUpperCase();
  const path = (event.rawPath || event.requestContext.http.path).replace(/\/+$/, '') || '/';
  if (method === 'GET' && path === '/') {
    return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: WEB_PAGE };
  }
  if (method === 'POST' && path === '/sync') {
    const answer = await startManualSync(parseBody(event), syncContext(config, identity, context));
    return json(answer.statusCode, answer.body);
  }
  const job = /^\/sync\/([^/]+)$/.exec(path);
  if (method === 'GET' && job)
    return json(200, await getJobStatus(decodeURIComponent(job[1] as string), config));
  if (method === 'GET' && path === '/dead-letters') {
    const target = deadLetterTarget(config, event);
    const q = event.queryStringParameters ?? {};
    const letters = await listDeadLetters(await getDatabase(target, config), {
      ...(q.status ? { status: q.status } : {}),
      ...(q.afterId ? { afterId: q.afterId } : {}),
      ...(q.limit ? { limit: Number(q.limit) } : {}),
    });
    return json(200, {
      target,
      deadLetters: letters.map(({ key, value, ...rest }) => ({
        ...rest,
        key: key?.toString('utf8') ?? null,
        value: value?.toString('utf8').slice(0, 4096) ?? null,
      })),
    });
  }
  const retry = /^\/dead-letters\/(\d+)\/retry$/.exec(path);
  if (method === 'POST' && retry) {
    const target = deadLetterTarget(config, event);
    const result = await replayDeadLetter(config, target, retry[1] as string, () =>
      context.getRemainingTimeInMillis(),
    );
    return json(200, result);
  }
  throw new HttpError(404, `no route ${method} ${path}`);
}

/**
 * The manual-sync HTTP API. Errors below 500 answer with what was wrong; anything else is logged
 * and answered with a generic message and the request id, never a stack trace.
 */
export async function handleHttpRequest(
  event: APIGatewayProxyEventV2,
  context: Context,
  config: SyncConfig,
): Promise<APIGatewayProxyStructuredResultV2> {
  metrics.addMetric('ManualSyncRequests', MetricUnit.Count, 1);
  try {
    const identity = callerIdentity(event) ?? (inAws() ? undefined : 'local');
    if (!identity) throw new HttpError(401, 'the request carries no authenticated identity');
    return await route(event, context, config, identity);
  } catch (err) {
    if (err instanceof ConditionRejectedError)
      return json(err.statusCode, { error: err.message, reason: err.reason });
    if (err instanceof HttpError && err.expose)
      return json(err.statusCode, { error: err.message, ...(err.details ?? {}) });
    const status = (err as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status < 500) return json(status, { error: (err as Error).message });
    logger.error('manual sync request failed', {
      error: { name: (err as Error).name, message: (err as Error).message },
    });
    return json(500, { error: 'internal error', requestId: context.awsRequestId });
  }
}

export async function handleContinuation(event: ContinueJobEvent, context: Context, config: SyncConfig) {
  const ctx = syncContext(config, 'continuation', context);
  return (await continueManualSync(event.cdcMirrorContinueJob, event.target, ctx)).body;
}
