/// <reference lib="dom" />
/**
 * One manual-sync job, live: status, a progress bar, rows/s and time left, the counts, the error and the
 * key it stopped at, and the Cancel and Resume actions. Polls GET /sync/{id} while the job runs and the
 * element is on the page.
 */
import { ApiError, api, errorText } from './api';
import { badge, busy, duration, fill, h, keyText, n, notice, sleep, time } from './dom';
import type { JobView } from './types';

const POLL_MS = 800;
/** A running job whose count has not moved for this long is shown as waiting, without a rate. */
const STALLED_MS = 5_000;

export const canResume = (j: JobView): boolean =>
  j.status === 'failed' || j.status === 'cancelled' || (j.status === 'running' && j.stale === true);
export const canCancel = (j: JobView): boolean => j.status === 'running';

export function statusBadges(j: JobView): HTMLElement[] {
  return [
    badge(j.status),
    ...(j.stale ? [badge('stale')] : []),
    ...(j.dryRun ? [badge('dry run', 'dry')] : []),
  ];
}

export interface JobProgress {
  el: HTMLElement;
  view(): JobView;
}

/**
 * `onChange` hears every new view (a detail panel redraws its fields from it). `heading` labels the
 * region for screen readers.
 */
export function jobProgress(initial: JobView, onChange?: (j: JobView) => void): JobProgress {
  let job = initial;
  let polling = false;
  // Rate from successive samples, when the API sends none.
  let sample: { at: number; processed: number } | null = null;
  let rate: number | null = null;
  const el = h('div', { class: 'job', 'data-job-id': job.jobId });
  const message = h('div', { class: 'job-message' });

  const draw = () => {
    const total = Math.max(job.matched, job.processed, 0);
    const done = job.status === 'succeeded';
    const rowsPerSecond = typeof job.rowsPerSecond === 'number' ? job.rowsPerSecond : rate;
    const left = job.matched - job.processed;
    // Seen from here: how long the count has not moved (a chunk waiting on a lock, a slow server).
    const stalledMs = sample ? Date.now() - sample.at : 0;
    const moving = job.status === 'running' && !job.stale && stalledMs < STALLED_MS;
    const eta = !moving
      ? null
      : typeof job.etaSeconds === 'number'
        ? job.etaSeconds
        : rowsPerSecond && rowsPerSecond > 0
          ? left / rowsPerSecond
          : null;
    const bar = h('progress', {
      max: total || 1,
      value: done && total === 0 ? 1 : job.processed,
      'aria-label': `Rows processed: ${job.processed} of ${total}`,
    });
    const cancel = h('button', { type: 'button', class: 'danger-outline' }, 'Cancel job');
    cancel.addEventListener('click', () => void busy(cancel, () => act('cancel'), 'Cancelling…'));
    const resume = h('button', { type: 'button', class: 'primary' }, 'Resume job');
    resume.addEventListener('click', () => void busy(resume, () => act('resume'), 'Resuming…'));
    fill(
      el,
      h(
        'div',
        { class: 'job-head' },
        ...statusBadges(job),
        h('span', { class: 'muted' }, 'job '),
        h('code', null, job.jobId),
      ),
      bar,
      h(
        'p',
        { class: 'job-line' },
        `${n(job.processed)} of ${n(total)} rows`,
        moving && rowsPerSecond !== null ? ` · ${n(Math.round(rowsPerSecond))} rows/s` : '',
        moving && eta !== null ? ` · about ${duration(eta * 1000)} left` : '',
        moving && eta === null ? ' · estimating time left…' : '',
        job.status === 'running' && !job.stale && !moving ? ` · no progress for ${duration(stalledMs)}` : '',
        job.stale ? ` · last progress ${time(job.updatedAt)}` : '',
      ),
      h(
        'p',
        { class: 'job-counts' },
        `inserted ${n(job.inserted)} · updated ${n(job.updated)} · unchanged ${n(job.unchanged)} · conflicts ${n(job.conflicts)}`,
      ),
      job.stale
        ? notice(
            'warn',
            'No progress for over 2 minutes: the job is stale. Resume it to go on from where it stopped.',
          )
        : null,
      job.status === 'failed' || job.status === 'refused'
        ? notice(
            'error',
            h('strong', null, job.status === 'failed' ? 'The job failed: ' : 'The job was refused: '),
            job.error ?? 'no reason recorded',
            job.failedKey
              ? h(
                  'span',
                  { class: 'failed-key' },
                  h('br'),
                  'At key: ',
                  h('code', null, keyText(job.failedKey)),
                )
              : null,
            job.status === 'failed' ? h('br') : null,
            job.status === 'failed'
              ? 'Nothing of the chunk that holds it was written; earlier chunks stay written. Fix the cause (the offline column, the online value), then resume from there.'
              : null,
          )
        : null,
      job.status === 'cancelled'
        ? notice('info', 'Cancelled: the rows written before it stopped stay written.')
        : null,
      job.status === 'succeeded' && !job.dryRun
        ? notice('ok', `Done: ${n(job.inserted)} inserted, ${n(job.updated)} updated.`)
        : null,
      h('div', { class: 'actions' }, canCancel(job) ? cancel : null, canResume(job) ? resume : null),
      message,
    );
  };

  const update = (next: JobView) => {
    const now = Date.now();
    if (sample && next.processed > sample.processed && now > sample.at)
      rate = ((next.processed - sample.processed) * 1000) / (now - sample.at);
    if (!sample || next.processed !== sample.processed) sample = { at: now, processed: next.processed };
    job = next;
    draw();
    onChange?.(job);
    if (job.status === 'running' && !job.stale) void poll();
  };

  const act = async (what: 'cancel' | 'resume') => {
    fill(message);
    try {
      const answer = await api<JobView>('POST', `sync/${encodeURIComponent(job.jobId)}/${what}`);
      update(answer.body);
    } catch (err) {
      // A resume that fails again answers the failed job view (422): show it.
      if (err instanceof ApiError && err.body && typeof err.body.jobId === 'string')
        update(err.body as unknown as JobView);
      fill(message, notice('error', `Could not ${what} the job. `, errorText(err)));
    }
  };

  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      let failures = 0;
      for (;;) {
        await sleep(POLL_MS);
        if (!el.isConnected) return;
        try {
          const answer = await api<JobView>('GET', `sync/${encodeURIComponent(job.jobId)}`);
          failures = 0;
          const next = answer.body;
          polling = next.status === 'running' && !next.stale;
          update(next);
          if (!polling) return;
        } catch (err) {
          if (++failures >= 3) {
            fill(message, notice('error', 'Lost track of the job: ', errorText(err)));
            return;
          }
        }
      }
    } finally {
      polling = false;
    }
  };

  draw();
  if (job.status === 'running' && !job.stale) void poll();
  return { el, view: () => job };
}
