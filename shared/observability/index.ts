import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SourcePosition } from '../types';

/** One logger and one metrics sink per container; handlers wire them with Powertools' middy middlewares. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cdc-mirror' });
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'cdc-mirror',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cdc-mirror',
});
export { MetricUnit };

/** `topic-partition@offset`, the address of a record in every log line about it. */
export function positionLabel(p: SourcePosition): string {
  return `${p.topic}-${p.partition}@${p.offset}${p.index ? `#${p.index}` : ''}`;
}
