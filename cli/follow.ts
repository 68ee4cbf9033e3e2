import type { JobView as ConsoleJobView, JobStatus } from '../web/types';
import { type Api, type ApiAnswer, expectOk, UnreachableError } from './api';
import { CliError, EXIT, type ExitCode } from './exit';
import { clean, keyText, count as n, plural, progressLine, seconds } from './format';
import type { Command } from './io';

/** A job as `GET /sync/{jobId}` shows it (docs/http-api.md); every field may be missing from an older API. */
export type JobView = Partial<Omit<ConsoleJobView, 'jobId' | 'status'>> & {
  jobId: string;
  status: JobStatus | string;
};

const utcMs = (text: string | null | undefined) =>
  text ? Date.parse(`${text.replace(' ', 'T')}${/Z|[+-]\d\d:?\d\d$/.test(text) ? '' : 'Z'}`) : Number.NaN;

export const isJobView = (body: unknown): body is JobView =>
  Boolean(body) &&
  typeof (body as JobView).jobId === 'string' &&
  typeof (body as JobView).status === 'string';

/** How long the job took (its own timestamps), for the summary. */
function tookSeconds(job: JobView): number | undefined {
  if (typeof job.durationMs === 'number') return job.durationMs / 1000;
  const ms = utcMs(job.finishedAt ?? job.updatedAt) - utcMs(job.createdAt);
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : undefined;
}

/** The closing lines about a job that ended (or is still running), and the exit code it means. */
export function jobOutcome(cmd: Command, job: JobView): { lines: string[]; code: ExitCode } {
  const p = cmd.io.paint;
  const id = clean(job.jobId);
  const rows = `${n(job.processed)} of ${plural(n(job.matched), 'row')}`;
  const counts = `${n(job.inserted)} inserted, ${n(job.updated)} updated, ${n(job.unchanged)} unchanged, ${plural(n(job.conflicts), 'conflict')}`;
  const took = tookSeconds(job);
  switch (job.status) {
    case 'succeeded': {
      const lines = [
        `${p('green', `Job ${id} succeeded`)}: ${counts} (${rows}${took !== undefined ? `, ${seconds(took)}` : ''}).`,
      ];
      if (n(job.conflicts) > 0)
        lines.push(
          p(
            'yellow',
            `${plural(n(job.conflicts), 'row was', 'rows were')} not written (conflicts): a unique key value is held by a different offline row.`,
          ),
        );
      return { lines, code: EXIT.ok };
    }
    case 'failed':
      return {
        lines: [
          `${p('red', `Job ${id} failed`)} after ${rows} (${counts}): ${clean(job.error ?? 'no error recorded')}`,
          ...(job.failedKey ? [`  at the row with key ${keyText(job.failedKey)}`] : []),
          `  Fix the cause, then go on from where it stopped: cdc-mirror jobs resume ${id}`,
        ],
        code: EXIT.failed,
      };
    case 'cancelled':
      return {
        lines: [`${p('yellow', `Job ${id} was cancelled`)} after ${rows} (${counts}).`],
        code: EXIT.failed,
      };
    case 'refused':
      return {
        lines: [`${p('red', `Job ${id} was refused`)}: ${clean(job.error ?? 'no reason recorded')}`],
        code: EXIT.failed,
      };
    case 'running':
      return {
        lines: [
          `Job ${id} is running: ${rows} so far (${counts}).`,
          `  Follow it with: cdc-mirror jobs --watch ${id}`,
        ],
        code: EXIT.ok,
      };
    default:
      return { lines: [`Job ${id}: ${clean(job.status)} (${rows}, ${counts}).`], code: EXIT.failed };
  }
}

/** The line before following a job: what Ctrl-C will do. */
export function followingNote(api: Api, jobId: string, what: string): string {
  return `Job ${clean(jobId)} ${what}; following it (Ctrl-C ${api.local ? 'stops it: it runs in this process' : 'stops watching, not the job'}).`;
}

/**
 * Polls `GET /sync/{jobId}` until the job is no longer running, drawing a progress bar on a terminal (a line
 * per change otherwise) on stderr. Resolves with the last answer. A job that stopped making progress (stale)
 * ends the wait with exit 1; a few failed polls in a row with exit 4.
 */
export async function followJob(
  cmd: Command,
  jobId: string,
  first?: ApiAnswer,
): Promise<{ answer: ApiAnswer; job: JobView }> {
  const api = await cmd.api();
  const intervalMs = Math.max(50, Number(cmd.values.interval ?? 1) * 1000);
  const quiet = cmd.json;
  let answer = first;
  let lastLine = '';
  let misses = 0;
  const samples: { at: number; processed: number }[] = [];
  const onInterrupt = () => {
    cmd.io.endStatus();
    const id = clean(jobId);
    cmd.io.err(
      api.local
        ? `Stopped. In local mode the job ran in this process, so it stops too (the rows written so far stay). ` +
            `Go on with: cdc-mirror jobs cancel ${id} && cdc-mirror jobs resume ${id}`
        : `Stopped watching; the job goes on. Follow it again with: cdc-mirror jobs --watch ${id}`,
    );
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    for (;;) {
      if (!answer) {
        try {
          answer = await api.request('GET', `/sync/${encodeURIComponent(jobId)}`);
        } catch (err) {
          if (!(err instanceof UnreachableError) || ++misses >= 5) throw err;
          await sleep(intervalMs * misses);
          continue;
        }
      }
      if (answer.status >= 500 && ++misses < 5) {
        answer = undefined;
        await sleep(intervalMs * misses);
        continue;
      }
      if (answer.status < 500) misses = 0;
      const job = expectOk<JobView>(answer);
      if (!isJobView(job)) throw new CliError('the API answered without a job status', EXIT.unavailable);
      if (job.status !== 'running') {
        if (!quiet) cmd.io.endStatus();
        return { answer, job };
      }
      if (job.stale) {
        if (!quiet) cmd.io.endStatus();
        throw new CliError(
          `job ${clean(jobId)} has made no progress for 2 minutes (stale): whatever ran it stopped. ` +
            `Go on with: cdc-mirror jobs resume ${clean(jobId)}`,
          EXIT.failed,
          answer.text,
        );
      }
      if (!quiet) {
        const now = Date.now();
        samples.push({ at: now, processed: n(job.processed) });
        while (samples.length > 10) samples.shift();
        const oldest = samples[0];
        const local =
          oldest && now > oldest.at
            ? ((n(job.processed) - oldest.processed) * 1000) / (now - oldest.at)
            : null;
        const rate = typeof job.rowsPerSecond === 'number' ? job.rowsPerSecond : local;
        const eta =
          typeof job.etaSeconds === 'number'
            ? job.etaSeconds
            : rate
              ? (n(job.matched) - n(job.processed)) / rate
              : null;
        const line = progressLine({
          processed: n(job.processed),
          matched: n(job.matched),
          rowsPerSecond: rate,
          etaSeconds: eta,
        });
        if (cmd.io.stderrIsTTY) cmd.io.status(line);
        else {
          // One line per change of the count, not per poll.
          const plain = `${n(job.processed)}/${n(job.matched)}`;
          if (plain !== lastLine) cmd.io.err(line);
          lastLine = plain;
        }
      }
      answer = undefined;
      await sleep(intervalMs);
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
