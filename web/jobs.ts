/// <reference lib="dom" />
/** Jobs: the list with filters, one job's detail with its error and failed key, Resume and Cancel. */
import { api, errorText } from './api';
import { busy, byId, fill, h, keyText, n, notice, table, time } from './dom';
import { jobProgress, statusBadges } from './job';
import type { JobView } from './types';

export interface JobsPanel {
  load(): Promise<void>;
  open(jobId: string): Promise<void>;
}

export function initJobs(): JobsPanel {
  const form = byId<HTMLFormElement>('jobs-form');
  const who = byId<HTMLInputElement>('jobs-who');
  const tableInput = byId<HTMLInputElement>('jobs-table');
  const status = byId<HTMLSelectElement>('jobs-status');
  const list = byId('jobs-list');
  const detail = byId('job-detail');
  const openForm = byId<HTMLFormElement>('job-open');
  const idInput = byId<HTMLInputElement>('job-id');

  async function load(): Promise<void> {
    fill(list, h('p', { class: 'muted' }, 'Loading jobs…'));
    try {
      const answer = await api<{ jobs: JobView[] }>('GET', 'sync', {
        query: {
          requestedBy: who.value.trim(),
          table: tableInput.value.trim(),
          status: status.value,
          limit: 50,
        },
      });
      const jobs = answer.body.jobs ?? [];
      if (!jobs.length) {
        fill(list, notice('info', 'No job matches these filters.'));
        return;
      }
      fill(
        list,
        table(
          'Manual-sync jobs, newest first',
          ['', 'created', 'status', 'requested by', 'table', 'condition', 'rows'],
          jobs.map((j) => [
            h(
              'button',
              {
                type: 'button',
                class: 'small',
                'aria-label': `Details of job ${j.jobId}`,
                onclick: () => void open(j.jobId, j),
              },
              'Details',
            ),
            time(j.createdAt),
            h('span', { class: 'badges' }, ...statusBadges(j)),
            j.requestedBy ?? '',
            h(
              'span',
              null,
              h('code', null, j.sourceTable ?? ''),
              ' → ',
              h('code', null, j.targetTable ?? ''),
            ),
            h('code', { class: 'cond' }, j.condition ?? ''),
            `${n(j.processed)} / ${n(j.matched)}`,
          ]),
          'jobs',
        ),
      );
    } catch (err) {
      fill(
        list,
        notice(
          'error',
          h('strong', null, 'Could not list the jobs. '),
          errorText(err),
          '. You can still open a job by its id below.',
        ),
      );
    }
  }

  async function open(jobId: string, known?: JobView): Promise<void> {
    idInput.value = jobId;
    let job = known;
    fill(detail, h('p', { class: 'muted' }, 'Loading the job…'));
    try {
      job = (await api<JobView>('GET', `sync/${encodeURIComponent(jobId)}`)).body;
    } catch (err) {
      if (!job) {
        fill(detail, notice('error', h('strong', null, `Could not open job ${jobId}. `), errorText(err)));
        return;
      }
    }
    const fields = h('dl', { class: 'fields' });
    const drawFields = (j: JobView) =>
      fill(
        fields,
        ...field('job id', h('code', null, j.jobId)),
        ...field('requested by', j.requestedBy ?? '–'),
        ...field('source', `${j.source ?? '?'} · ${j.sourceTable ?? '?'}`),
        ...field('target', `${j.target ?? '?'} · ${j.targetTable ?? '?'}`),
        ...field('condition', h('code', null, j.condition ?? '')),
        ...field('mode', `${j.mode ?? '?'}${j.dryRun ? ' (dry run)' : ''}, limit ${n(j.limit)}`),
        ...field('created', time(j.createdAt)),
        ...field('last progress', time(j.updatedAt)),
        ...field('finished', time(j.finishedAt)),
        ...field('invocations', n(j.invocations)),
        ...field('last key written', j.lastKey ? h('code', null, keyText(j.lastKey)) : '–'),
        ...field(
          'failed at key',
          j.failedKey ? h('code', { class: 'failed-key' }, keyText(j.failedKey)) : '–',
        ),
        ...field('error', j.error ? h('span', { class: 'error-text' }, j.error) : '–'),
      );
    const progress = jobProgress(job as JobView, drawFields);
    drawFields(job as JobView);
    const refresh = h('button', { type: 'button', class: 'small' }, 'Refresh');
    refresh.addEventListener('click', () => void busy(refresh, () => open(jobId)));
    fill(
      detail,
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'job-heading' },
        h(
          'h3',
          { id: 'job-heading', tabindex: '-1' },
          'Job ',
          h('code', null, jobId.slice(0, 8)),
          ' ',
          refresh,
        ),
        progress.el,
        fields,
      ),
    );
    byId('job-heading').focus();
  }

  const field = (label: string, v: Node | string) => [h('dt', null, label), h('dd', null, v)];

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void busy(byId<HTMLButtonElement>('jobs-load'), load, 'Loading…');
  });
  openForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = idInput.value.trim();
    if (id) void open(id);
  });
  return { load, open: (id) => open(id) };
}
