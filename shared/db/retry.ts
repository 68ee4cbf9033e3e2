import { classifyError } from './errors';

export interface RetryOptions {
  /** Milliseconds the invocation has left (Lambda's context.getRemainingTimeInMillis). */
  remainingMs: () => number;
  /** Keep this much time in hand for reporting after the last attempt. */
  reserveMs?: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  /** Called before each retry, e.g. to drop cached schemas after a schema error. */
  onRetry?: (err: unknown, attempt: number, kind: 'transient' | 'schema') => void;
}

/**
 * Retries `fn` on transient errors (and once on a schema error), with jittered exponential backoff,
 * as long as the invocation has time for another try. Then the last error propagates, so Lambda
 * retries the batch.
 */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const { maxAttempts = 5, baseDelayMs = 200, reserveMs = 5_000 } = opts;
  let schemaRetried = false;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const kind = classifyError(err);
      const retryable = kind === 'transient' || (kind === 'schema' && !schemaRetried);
      const delay = Math.min(5_000, baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      if (!retryable || attempt >= maxAttempts || opts.remainingMs() - delay < reserveMs) throw err;
      if (kind === 'schema') schemaRetried = true;
      opts.onRetry?.(err, attempt, kind);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
