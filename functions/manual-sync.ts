import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { getConfig } from '../shared/config/load';
import { closeDatabasesWhenLocal } from '../shared/db/connection';
import { handleManualSyncEvent } from '../shared/manual/http';
import { logger, metrics } from '../shared/observability';

// Parsed and validated at cold start: a bad config fails the init, naming the key.
const config = getConfig();

/** HTTP API requests, this function's own continuations, scheduled verifications. */
export const handler = middy((event: Parameters<typeof handleManualSyncEvent>[0], context: Context) =>
  handleManualSyncEvent(event, context, config),
)
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .use(closeDatabasesWhenLocal());
