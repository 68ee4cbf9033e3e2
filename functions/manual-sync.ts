import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { getConfig } from '../shared/config/load';
import { closeDatabasesWhenLocal } from '../shared/db/connection';
import {
  type ContinueJobEvent,
  handleContinuation,
  handleHttpRequest,
  isContinueJobEvent,
} from '../shared/manual/http';
import { logger, metrics } from '../shared/observability';
import {
  isScheduledVerifyEvent,
  runScheduledVerify,
  type ScheduledVerifyEvent,
} from '../shared/verify/service';

// Parsed and validated at cold start: a bad config fails the init, naming the key.
const config = getConfig();

export const handler = middy(
  (
    event: APIGatewayProxyEventV2 | ContinueJobEvent | ScheduledVerifyEvent,
    context: Context,
  ): Promise<APIGatewayProxyStructuredResultV2 | unknown> =>
    isContinueJobEvent(event)
      ? handleContinuation(event, context, config)
      : isScheduledVerifyEvent(event)
        ? runScheduledVerify(event, {
            config,
            identity: 'schedule',
            remainingMs: () => context.getRemainingTimeInMillis(),
          })
        : handleHttpRequest(event, context, config),
)
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .use(closeDatabasesWhenLocal());
