import type { TestProject } from 'vitest/node';
import { startThrowawayServer, type ThrowawayServer } from './mysql-server';

declare module 'vitest' {
  export interface ProvidedContext {
    onlineUrl: string;
    offlineUrl: string;
  }
}

/**
 * One online server (binlog on, ROW format) and one offline server for the whole run, shared by
 * every test file; each file works in databases of its own. CDC_MIRROR_TEST_ONLINE_URL and
 * CDC_MIRROR_TEST_OFFLINE_URL point the tests at two existing servers instead.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const givenOnline = process.env.CDC_MIRROR_TEST_ONLINE_URL;
  const givenOffline = process.env.CDC_MIRROR_TEST_OFFLINE_URL;
  const started: ThrowawayServer[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
  };
  try {
    // allSettled: when one fails to start, the other must still be known, so that it is stopped too.
    const results = await Promise.allSettled([
      givenOnline ? undefined : startThrowawayServer({ binlog: true }),
      givenOffline ? undefined : startThrowawayServer(),
    ]);
    for (const r of results) if (r.status === 'fulfilled' && r.value) started.push(r.value);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [online, offline] = results.map(
      (r) => (r as PromiseFulfilledResult<ThrowawayServer | undefined>).value,
    );
    project.provide('onlineUrl', givenOnline ?? (online as ThrowawayServer).url);
    project.provide('offlineUrl', givenOffline ?? (offline as ThrowawayServer).url);
  } catch (err) {
    await stopAll();
    throw err;
  }
  return stopAll;
}
