import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../shared/config/load';
import type { SyncConfig } from '../shared/config/schema';
import { closeAllDatabases } from '../shared/db/connection';
import { getWriteTarget } from '../shared/db/guard';
import { RunSuperseded } from '../shared/db/tables';
import { handleContinuation } from '../shared/manual/http';
import { claimJob, getJob, updateJob } from '../shared/manual/jobs';
import { continueManualSync, type SyncContext, startManualSync } from '../shared/manual/sync';
import { getVerifyRun } from '../shared/verify/runs';
import { continueVerify, startVerify, type VerifyContext } from '../shared/verify/service';
import { offlineUrl, onlineUrl, rawConnection, uniqueSchema } from './support/env';
import { lambdaContext } from './support/kafka';

/**
 * A long job or verification goes on by invoking itself; Lambda may deliver such an asynchronous
 * invocation twice, and a person may resume a run whose invocation still works. Each invocation claims
 * the run and writes only while the claim is its own: a second delivery does nothing, a superseded
 * invocation's chunk rolls back. Without the fence the counts below would add up twice.
 */
const src = uniqueSchema('cont');
const dst = `${src}_off`;
const ROWS = 250;
let online: Connection;
let offline: Connection;
let config: SyncConfig;

/** Continuations are captured, not run: the test delivers each one itself, twice. */
type Sent = { id: string; target: string; invocation: number };

function contexts(sent: Sent[]) {
  const sync: SyncContext = {
    config: undefined as unknown as SyncConfig,
    identity: 'tester',
    remainingMs: () => 60_000,
    continueJob: async (id, target, invocation) => {
      sent.push({ id, target, invocation });
    },
  };
  const verify: VerifyContext = {
    config: undefined as unknown as SyncConfig,
    identity: 'tester',
    remainingMs: () => 60_000,
    continueVerify: async (id, target, invocation) => {
      sent.push({ id, target, invocation });
    },
  };
  sync.config = config;
  verify.config = config;
  return { sync, verify };
}

beforeAll(async () => {
  online = await rawConnection(onlineUrl());
  offline = await rawConnection(offlineUrl());
  await online.query(`CREATE DATABASE \`${src}\``);
  await online.query(`CREATE TABLE \`${src}\`.t (id INT PRIMARY KEY, v VARCHAR(16))`);
  await online.query(
    `INSERT INTO \`${src}\`.t SELECT seq, CONCAT('v', seq) FROM \`${src}\`.seq_1_to_${ROWS}`,
  );
  await offline.query(`CREATE DATABASE \`${dst}\``);
  await offline.query(`CREATE TABLE \`${dst}\`.t (id INT PRIMARY KEY, v VARCHAR(16))`);
  config = parseConfig({
    databases: {
      on: { role: 'online', url: onlineUrl() },
      off: { role: 'offline', url: offlineUrl() },
    },
    manual: [
      {
        source: 'on',
        target: 'off',
        schemas: { [src]: dst },
        tables: [`${src}.t`],
        chunkSize: 40,
        // One chunk per invocation: every step is a continuation.
        timeBudgetMs: 0,
      },
    ],
  });
});

afterAll(async () => {
  await closeAllDatabases();
  await online.query(`DROP DATABASE IF EXISTS \`${src}\``);
  await offline.query(`DROP DATABASE IF EXISTS \`${dst}\``);
  await online.end();
  await offline.end();
});

describe('a manual-sync job continued by its own invocations', () => {
  it('ignores a second delivery of each continuation: every row counted once', async () => {
    const sent: Sent[] = [];
    const { sync } = contexts(sent);
    const first = await startManualSync(
      { source: 'on', table: `${src}.t`, where: 'id > 0', dryRun: false },
      sync,
    );
    expect(first.statusCode).toBe(202);
    const jobId = String(first.body.jobId);
    let delivered = 0;
    for (let i = 0; sent.length > 0 && i < 50; i++) {
      const next = sent.shift() as Sent;
      delivered += 1;
      // The same continuation twice, at the same time.
      await Promise.all([
        continueManualSync(next.id, next.target, sync, next.invocation),
        continueManualSync(next.id, next.target, sync, next.invocation),
      ]);
    }
    const job = await getJob(await getWriteTarget('off', config), jobId);
    expect(job).toMatchObject({ status: 'succeeded', processed: ROWS, inserted: ROWS, matched: ROWS });
    // One claim per continuation: the second delivery found the count moved on and claimed nothing.
    expect(job?.invocations).toBe(1 + delivered);
    const [[count]] = (await offline.query(`SELECT COUNT(*) AS n FROM \`${dst}\`.t`)) as unknown as [
      { n: string }[],
    ];
    expect(Number(count?.n)).toBe(ROWS);
  });

  it('rolls back the chunk of an invocation another one has taken over', async () => {
    await offline.query(`TRUNCATE TABLE \`${dst}\`.t`);
    const sent: Sent[] = [];
    const { sync } = contexts(sent);
    const first = await startManualSync(
      { source: 'on', table: `${src}.t`, where: 'id > 0', dryRun: false },
      sync,
    );
    const jobId = String(first.body.jobId);
    const target = await getWriteTarget('off', config);
    const stale = await claimJob(target, jobId, sent[0]?.invocation);
    // A resume (or a retried delivery) claims it again: the first claimer is now stale.
    const current = await claimJob(target, jobId);
    expect(stale).toBeDefined();
    expect(current).toBe((stale as number) + 1);
    await expect(
      target.session(
        () => 60_000,
        (s) =>
          s.transaction(async (tx) => {
            await tx.execute({ sql: `INSERT INTO \`${dst}\`.t VALUES (999, 'stale')`, params: [] });
            await updateJob(tx, jobId, { processed: 1, fence: stale });
          }),
      ),
    ).rejects.toThrow(RunSuperseded);
    const [gone] = (await offline.query(`SELECT * FROM \`${dst}\`.t WHERE id = 999`)) as unknown as [
      unknown[],
    ];
    expect(gone).toEqual([]);
    // The stale continuation's delivery does nothing; the current claim's goes on to the end.
    const staleAnswer = await continueManualSync(jobId, 'off', sync, stale);
    expect(staleAnswer.body.status).toBe('running');
    sent.length = 0;
    await continueManualSync(jobId, 'off', sync, current);
    for (let i = 0; sent.length > 0 && i < 50; i++) {
      const next = sent.shift() as Sent;
      await continueManualSync(next.id, next.target, sync, next.invocation);
    }
    expect(await getJob(target, jobId)).toMatchObject({ status: 'succeeded', processed: ROWS });
  });
});

describe('a continuation event as the function receives it', () => {
  it.each([
    ['a claim that is not a number', 'two'],
    ['a negative claim', -3],
    ['a fractional claim', 1.5],
  ])('with %s, claims without the check and goes on to the same rows', async (_what, invocation) => {
    await offline.query(`TRUNCATE TABLE \`${dst}\`.t`);
    const sent: Sent[] = [];
    const { sync } = contexts(sent);
    const first = await startManualSync(
      { source: 'on', table: `${src}.t`, where: 'id > 0', dryRun: false },
      sync,
    );
    const jobId = String(first.body.jobId);
    const event = { cdcMirrorContinueJob: jobId, target: 'off', invocation } as unknown as Parameters<
      typeof handleContinuation
    >[0];
    await handleContinuation(event, lambdaContext(), config);
    // Locally the rest goes on in this process, one invocation after another.
    const target = await getWriteTarget('off', config);
    for (let i = 0; i < 200 && (await getJob(target, jobId))?.status === 'running'; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(await getJob(target, jobId)).toMatchObject({ status: 'succeeded', processed: ROWS });
  });
});

describe('a verification continued by its own invocations', () => {
  it('ignores a second delivery of each continuation and reports what a single run reports', async () => {
    await offline.query(`TRUNCATE TABLE \`${dst}\`.t`);
    await offline.query(
      `INSERT INTO \`${dst}\`.t SELECT seq, CONCAT('v', seq) FROM \`${dst}\`.seq_1_to_${ROWS}`,
    );
    await offline.query(`UPDATE \`${dst}\`.t SET v = 'drifted' WHERE id IN (7, 201)`);
    await offline.query(`DELETE FROM \`${dst}\`.t WHERE id = 120`);
    const sent: Sent[] = [];
    const { verify } = contexts(sent);
    const first = await startVerify({ source: 'on', table: `${src}.t`, chunkSize: 40 }, verify);
    const verifyId = String(first.body.verifyId);
    expect(first.statusCode).toBe(202);
    for (let i = 0; sent.length > 0 && i < 50; i++) {
      const next = sent.shift() as Sent;
      await Promise.all([
        continueVerify(next.id, next.target, verify, next.invocation),
        continueVerify(next.id, next.target, verify, next.invocation),
      ]);
    }
    const run = await getVerifyRun(await getWriteTarget('off', config), verifyId);
    expect(run?.status).toBe('succeeded');
    const rows = run?.report?.rows as { missing: unknown[]; differing: unknown[]; extra: unknown[] };
    expect(rows.missing).toEqual([{ id: '120' }]);
    expect((rows.differing as { key: unknown }[]).map((d) => d.key)).toEqual([{ id: '7' }, { id: '201' }]);
    expect(rows.extra).toEqual([]);
  });
});
