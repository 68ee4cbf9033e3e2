import { defineConfig } from 'vitest/config';

/**
 * `npm run test:e2e`: the operator console in headless Chromium (test/e2e/*.e2e.ts) against the local
 * pipeline. Each file starts its own throwaway servers; files run one at a time (two cores, one browser).
 * `npm test` does not run these (its include is test/**\/*.test.ts).
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    maxWorkers: 1,
    minWorkers: 1,
    env: {
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  },
});
