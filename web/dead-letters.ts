/// <reference lib="dom" />
/**
 * Dead letters: records the CDC function could not apply. Filters, each letter's position, error class,
 * error and decoded payload; Retry one, Retry the selected ones, Discard (after a confirm).
 */
import { api, errorText } from './api';
import { badge, busy, byId, fill, h, n, notice, time } from './dom';
import type { Catalog, DeadLetterView } from './types';

interface RetryResult {
  status?: 'resolved' | 'open';
}

const PAGE = 100;

export interface DeadLettersPanel {
  load(): Promise<void>;
}

export function initDeadLetters(catalog: Catalog | null): DeadLettersPanel {
  const form = byId<HTMLFormElement>('dl-form');
  const target = byId<HTMLSelectElement>('dl-target');
  const status = byId<HTMLSelectElement>('dl-status');
  const topic = byId<HTMLInputElement>('dl-topic');
  const tableInput = byId<HTMLInputElement>('dl-table');
  const errorClass = byId<HTMLSelectElement>('dl-class');
  const list = byId('dl-list');
  const result = byId('dl-result');
  const all = byId<HTMLInputElement>('dl-all');
  const retrySelected = byId<HTMLButtonElement>('dl-retry-selected');
  const dialog = byId<HTMLDialogElement>('dl-confirm');

  const targets = [...new Set((catalog?.cdc ?? []).map((e) => e.target))];
  fill(
    target,
    ...(targets.length ? [] : [h('option', { value: '' }, '(the only CDC target)')]),
    ...targets.map((t) => h('option', { value: t }, t)),
  );

  let letters: DeadLetterView[] = [];
  const selected = new Set<string>();

  const query = (extra: Record<string, string> = {}) => ({
    target: target.value,
    status: status.value,
    topic: topic.value.trim(),
    table: tableInput.value.trim(),
    errorClass: errorClass.value,
    limit: PAGE,
    ...extra,
  });

  const syncBulk = () => {
    const open = letters.filter((l) => l.status === 'open');
    for (const id of [...selected]) if (!open.some((l) => l.id === id)) selected.delete(id);
    retrySelected.disabled = selected.size === 0;
    retrySelected.textContent = `Retry selected (${selected.size})`;
    all.checked = open.length > 0 && selected.size === open.length;
    all.indeterminate = selected.size > 0 && selected.size < open.length;
    all.disabled = open.length === 0;
  };

  async function load(more = false): Promise<void> {
    if (!more) {
      letters = [];
      fill(list, h('p', { class: 'muted' }, 'Loading dead letters…'));
    }
    try {
      const after = more ? letters[letters.length - 1]?.id : undefined;
      const answer = await api<{ target?: string; deadLetters: DeadLetterView[] }>('GET', 'dead-letters', {
        query: query(after ? { afterId: after } : {}),
      });
      const page = answer.body.deadLetters ?? [];
      letters = [...letters, ...page];
      draw(page.length === PAGE, answer.body.target);
    } catch (err) {
      fill(list, notice('error', h('strong', null, 'Could not list the dead letters. '), errorText(err)));
      letters = [];
      syncBulk();
    }
  }

  function draw(hasMore: boolean, where?: string): void {
    syncBulk();
    if (!letters.length) {
      fill(
        list,
        notice(
          'ok',
          `No dead letters${status.value ? ` with status ${status.value}` : ''}${where ? ` in ${where}` : ''}.`,
        ),
      );
      return;
    }
    const more = h('button', { type: 'button' }, 'Load more');
    more.addEventListener('click', () => void busy(more, () => load(true), 'Loading…'));
    fill(
      list,
      h(
        'p',
        { class: 'muted' },
        `${n(letters.length)} dead letter${letters.length === 1 ? '' : 's'}${where ? ` in ${where}` : ''}, oldest first.`,
      ),
      ...letters.map(card),
      hasMore ? more : null,
    );
  }

  function payloadText(l: DeadLetterView): string {
    if (l.payload !== null && l.payload !== undefined) return JSON.stringify(l.payload, null, 2);
    return l.value ?? '(no payload kept)';
  }

  /** The row change a known envelope carries (Debezium, Maxwell, Canal): what an operator looks for first. */
  function changeOf(payload: unknown): Record<string, unknown> | null {
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return null;
    const o = payload as Record<string, unknown>;
    const inner = (o.payload && typeof o.payload === 'object' ? o.payload : o) as Record<string, unknown>;
    if (typeof inner.op === 'string' && ('after' in inner || 'before' in inner))
      return { op: inner.op, before: inner.before ?? null, after: inner.after ?? null };
    if (typeof o.type === 'string' && 'data' in o)
      return { type: o.type, data: o.data, ...(o.old !== undefined && o.old !== null ? { old: o.old } : {}) };
    return null;
  }

  function card(l: DeadLetterView): HTMLElement {
    const open = l.status === 'open';
    const position = `${l.topic}-${l.partition}@${l.offset}${l.rowIndex ? ` row ${l.rowIndex}` : ''}`;
    const check = h('input', {
      type: 'checkbox',
      id: `dl-sel-${l.id}`,
      'aria-label': `Select dead letter ${l.id}`,
    });
    check.checked = selected.has(l.id);
    check.addEventListener('change', () => {
      if (check.checked) selected.add(l.id);
      else selected.delete(l.id);
      syncBulk();
    });
    const retry = h('button', { type: 'button', class: 'primary small' }, 'Retry');
    retry.addEventListener('click', () => void busy(retry, () => retryOne(l), 'Retrying…'));
    const discard = h('button', { type: 'button', class: 'danger-outline small' }, 'Discard…');
    discard.addEventListener('click', () => confirmDiscard(l, discard));
    const cut =
      l.payload === null || l.payload === undefined
        ? l.valueTruncated
          ? ' (kept in part)'
          : typeof l.valueBytes === 'number' && l.value && l.valueBytes > l.value.length
            ? ` (first 4 KiB of ${n(l.valueBytes)} bytes)`
            : ''
        : '';
    return h(
      'article',
      { class: 'card dl', 'data-id': l.id, 'aria-labelledby': `dl-h-${l.id}` },
      h(
        'header',
        null,
        open ? check : null,
        h('h3', { id: `dl-h-${l.id}` }, `#${l.id}`),
        h('code', { class: 'position', title: 'topic-partition@offset' }, position),
        badge(l.status ?? '?'),
        l.errorClass ? badge(l.errorClass, 'class') : null,
      ),
      h('p', { class: 'error-text' }, l.error ?? ''),
      h(
        'dl',
        { class: 'fields compact' },
        h('dt', null, 'table'),
        h('dd', null, l.table ? h('code', null, l.table) : '–'),
        h('dt', null, 'attempts'),
        h('dd', null, n(l.attempts)),
        h('dt', null, 'first seen'),
        h('dd', null, time(l.firstSeen)),
        h('dt', null, 'last seen'),
        h('dd', null, time(l.lastSeen)),
        l.key ? [h('dt', null, 'record key'), h('dd', null, h('code', null, l.key))] : null,
        l.supersededBy ? [h('dt', null, 'superseded by'), h('dd', null, l.supersededBy)] : null,
        l.discardedBy ? [h('dt', null, 'discarded by'), h('dd', null, l.discardedBy)] : null,
      ),
      ((change) =>
        change
          ? [
              h('p', { class: 'muted change-label' }, 'The change'),
              h('pre', { class: 'change' }, JSON.stringify(change, null, 2)),
            ]
          : null)(changeOf(l.payload)),
      h(
        'details',
        { class: 'payload' },
        h(
          'summary',
          null,
          `Whole message${l.payload !== null && l.payload !== undefined ? ' (decoded JSON)' : ''}${cut}`,
        ),
        h('pre', null, payloadText(l)),
      ),
      open ? h('div', { class: 'actions' }, retry, discard) : null,
    );
  }

  const targetQuery = () => (target.value ? { target: target.value } : {});

  async function retryOne(l: DeadLetterView): Promise<void> {
    try {
      const answer = await api<RetryResult>('POST', `dead-letters/${encodeURIComponent(l.id)}/retry`, {
        query: targetQuery(),
      });
      fill(
        result,
        answer.body.status === 'open'
          ? notice(
              'warn',
              `Dead letter #${l.id} was retried but failed again: it stays open (its new error is below).`,
            )
          : notice('ok', `Dead letter #${l.id} applied: resolved.`),
      );
    } catch (err) {
      fill(result, notice('error', h('strong', null, `Retry of #${l.id} failed. `), errorText(err)));
    }
    await load();
  }

  async function retryMany(): Promise<void> {
    const ids = [...selected];
    try {
      const answer = await api<{ results: { id: string; ok: boolean; error?: string; status?: string }[] }>(
        'POST',
        'dead-letters/retry',
        { query: targetQuery(), body: { ids } },
      );
      const results = answer.body.results ?? [];
      const failed = results.filter((r) => !r.ok || r.status === 'open');
      fill(
        result,
        notice(
          failed.length ? 'warn' : 'ok',
          `Retried ${n(results.length)}: ${n(results.length - failed.length)} applied${failed.length ? `, ${n(failed.length)} not` : ''}.`,
          failed.length
            ? h(
                'ul',
                null,
                ...failed.map((r) => h('li', null, `#${r.id}: ${r.error ?? 'failed again (still open)'}`)),
              )
            : null,
        ),
      );
      selected.clear();
    } catch (err) {
      fill(result, notice('error', h('strong', null, 'Bulk retry failed. '), errorText(err)));
    }
    await load();
  }

  function confirmDiscard(l: DeadLetterView, opener: HTMLButtonElement): void {
    const yes = h('button', { type: 'button', class: 'danger', id: 'dl-discard-yes' }, `Discard #${l.id}`);
    const no = h('button', { type: 'button', id: 'dl-discard-no' }, 'Keep it');
    fill(
      dialog,
      h('h3', { id: 'dl-confirm-heading' }, `Discard dead letter #${l.id}?`),
      h(
        'p',
        null,
        'It will never be applied: its change to ',
        h('code', null, l.table ?? 'the table'),
        ' stays missing offline. The letter is kept, marked discarded, with your name.',
      ),
      h('p', null, h('code', null, `${l.topic}-${l.partition}@${l.offset}`), ' · ', l.error ?? ''),
      h('div', { class: 'actions' }, no, yes),
    );
    dialog.setAttribute('aria-labelledby', 'dl-confirm-heading');
    no.addEventListener('click', () => dialog.close());
    yes.addEventListener(
      'click',
      () =>
        void busy(yes, async () => {
          try {
            await api('POST', `dead-letters/${encodeURIComponent(l.id)}/discard`, { query: targetQuery() });
            fill(result, notice('ok', `Dead letter #${l.id} discarded.`));
          } catch (err) {
            fill(result, notice('error', h('strong', null, `Could not discard #${l.id}. `), errorText(err)));
          }
          dialog.close();
          await load();
        }),
    );
    dialog.addEventListener('close', () => opener.isConnected && opener.focus(), { once: true });
    dialog.showModal();
    no.focus();
  }

  all.addEventListener('change', () => {
    selected.clear();
    if (all.checked) for (const l of letters) if (l.status === 'open') selected.add(l.id);
    for (const box of list.querySelectorAll<HTMLInputElement>('input[type=checkbox]'))
      box.checked = selected.has(box.id.replace('dl-sel-', ''));
    syncBulk();
  });
  retrySelected.addEventListener(
    'click',
    () => void busy(retrySelected, retryMany, 'Retrying…').then(syncBulk),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    fill(result);
    void busy(byId<HTMLButtonElement>('dl-load'), () => load(), 'Loading…');
  });
  syncBulk();
  return { load: () => load() };
}
