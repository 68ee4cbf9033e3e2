/// <reference lib="dom" />
/** CDC status: per topic-partition the applied offset, source time and lag; recent counts; open dead letters; entries. */
import { api, errorText } from './api';
import { badge, busy, byId, duration, fill, h, n, notice, table, time } from './dom';
import type { Counts, StatusView, TargetStatus } from './types';

const COUNTS: [keyof Counts, string][] = [
  ['inserted', 'inserted'],
  ['updated', 'updated'],
  ['deleted', 'deleted'],
  ['conflicts', 'conflicts'],
  ['deadLettered', 'dead-lettered'],
];

export interface StatusPanel {
  load(): Promise<void>;
}

const AUTO_REFRESH_MS = 10_000;

/** Lag above this is shown as a warning. */
const LAG_WARN_MS = 60_000;

export function initStatus(showDeadLetters: (target: string) => void): StatusPanel {
  const out = byId('status-out');
  const refresh = byId<HTMLButtonElement>('status-refresh');
  const stamp = byId('status-updated');

  async function load(): Promise<void> {
    try {
      const answer = await api<StatusView>('GET', 'status');
      const s = answer.body;
      fill(
        out,
        ...(s.targets ?? []).map(targetCard),
        (s.targets ?? []).length === 0 ? notice('info', 'No CDC target is configured.') : null,
        s.entries
          ? h(
              'section',
              { class: 'card', 'aria-labelledby': 'entries-heading' },
              h('h3', { id: 'entries-heading' }, 'CDC entries'),
              table(
                'CDC entries',
                ['entry', 'topics', 'target', 'state'],
                s.entries.map((e) => [
                  h('code', null, e.name),
                  h('span', { class: 'topics' }, e.topics.join(', ')),
                  e.target,
                  e.enabled ? badge('enabled') : badge('disabled'),
                ]),
                'entries',
              ),
            )
          : null,
      );
      fill(stamp, `Updated ${new Date().toLocaleTimeString('en-GB')}`);
    } catch (err) {
      fill(out, notice('error', h('strong', null, 'Could not read the CDC status. '), errorText(err)));
    }
  }

  function targetCard(t: TargetStatus): HTMLElement {
    const open = t.deadLettersOpen ?? 0;
    const toLetters = h(
      'button',
      { type: 'button', class: 'link' },
      `${n(open)} open dead letter${open === 1 ? '' : 's'}`,
    );
    toLetters.addEventListener('click', () => showDeadLetters(t.target));
    return h(
      'section',
      { class: 'card target', 'aria-labelledby': `st-${t.target}` },
      h('h3', { id: `st-${t.target}` }, 'Target ', h('code', null, t.target)),
      t.error ? notice('error', t.error) : null,
      h('p', { class: open ? 'dl-open warn-text' : 'dl-open' }, open ? toLetters : 'No open dead letters.'),
      t.partitions?.length
        ? table(
            `Applied positions of ${t.target}`,
            ['topic', 'partition', 'applied offset', 'source time', 'applied at', 'lag', 'since applied'],
            t.partitions.map((p) => [
              h('code', null, p.topic),
              String(p.partition),
              p.appliedOffset ?? '–',
              time(p.sourceTime),
              time(p.appliedAt),
              h('span', { class: (p.lagMs ?? 0) > LAG_WARN_MS ? 'warn-text' : '' }, duration(p.lagMs)),
              duration(p.sinceAppliedMs),
            ]),
            'partitions',
          )
        : h('p', { class: 'muted' }, 'Nothing applied yet: no partition has a position.'),
      table(
        `Rows applied to ${t.target}`,
        ['', 'last hour', 'last day'],
        COUNTS.map(([k, label]) => [label, n(t.lastHour?.[k] ?? 0), n(t.lastDay?.[k] ?? 0)]),
        'counts-table',
        false,
      ),
    );
  }

  refresh.addEventListener('click', () => void busy(refresh, load, 'Refreshing…'));
  // Lag is worth watching live: while the section is on screen, it refreshes itself.
  const auto = byId<HTMLInputElement>('status-auto');
  let loading = false;
  window.setInterval(() => {
    if (!auto.checked || loading || byId('panel-status').hidden || document.visibilityState !== 'visible')
      return;
    loading = true;
    void load().finally(() => {
      loading = false;
    });
  }, AUTO_REFRESH_MS);
  return { load };
}
