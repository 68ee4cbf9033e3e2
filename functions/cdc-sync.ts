import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, MSKEvent, SelfManagedKafkaEvent } from 'aws-lambda';
import { type BatchSummary, syncBatch } from '../shared/cdc/sync-batch';
import { getConfig } from '../shared/config/load';
import { closeDatabasesWhenLocal } from '../shared/db/connection';
import { logger, metrics } from '../shared/observability';

// Parsed and validated at cold start: a bad config fails the init, naming the key.
const config = getConfig();

export const handler = middy(
  (event: MSKEvent | SelfManagedKafkaEvent, context: Context): Promise<BatchSummary> =>
    syncBatch(event, config, () => context.getRemainingTimeInMillis()),
)
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .use(closeDatabasesWhenLocal());
