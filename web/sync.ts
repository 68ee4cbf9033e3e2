/// <reference lib="dom" />
/**
 * Manual sync: source and table from the catalog (with the offline target and any rename), a condition
 * in the allowed grammar, a dry run shown as a diff, then a confirm step before anything is written. The
 * write carries a clientToken, made once per confirmed submission and sent again on a retry, so a
 * double click or a lost answer never makes a second job.
 */
import { ApiError, api, errorText } from './api';
import { busy, byId, fill, h, keyText, n, notice, table, value } from './dom';
import { jobProgress } from './job';
import type { Catalog, CatalogSource, DryRun, JobView, PreviewRow, Warning } from './types';

/** What the README says a condition may use: shown when the catalog sends no grammar. */
const DEFAULT_GRAMMAR: NonNullable<Catalog['grammar']> = {
  allowed: [
    "the table's columns",
    "string and number literals ('abc', 42, 1.50)",
    '= <> != < <= > >=',
    'IN (…) and NOT IN (…) lists',
    'BETWEEN … AND …',
    'IS NULL, IS NOT NULL',
    'LIKE, NOT LIKE',
    'AND, OR, NOT and parentheses',
  ],
  refused: ['other functions, subqueries, variables, comments, ";" and second statements'],
  examples: [
    'id IN (100, 101, 102) OR id < 10',
    "code = 'leave'",
    "name LIKE 'feature.%' AND price IS NOT NULL",
  ],
};

const TABLE_NAME = /^[^.\s`]+\.[^.\s`]+$/;

const rowsText = (k: number) => `${n(k)} row${k === 1 ? '' : 's'}`;

interface SyncRequest {
  source: string;
  table: string;
  where: string;
  mode: 'upsert' | 'replace';
  limit?: number;
}

export function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function initSync(catalog: Catalog | null, openJob: (jobId: string) => void): void {
  const form = byId<HTMLFormElement>('sync-form');
  const source = byId<HTMLSelectElement>('sync-source');
  const tableInput = byId<HTMLInputElement>('sync-table');
  const tables = byId<HTMLDataListElement>('sync-tables');
  const target = byId('sync-target');
  const where = byId<HTMLTextAreaElement>('sync-where');
  const mode = byId<HTMLSelectElement>('sync-mode');
  const limit = byId<HTMLInputElement>('sync-limit');
  const dryButton = byId<HTMLButtonElement>('sync-dry');
  const out = byId('sync-out');

  // One source may have several manual entries (a table's own chunk size, say): the first that lists a table wins.
  const bySource = new Map<string, CatalogSource[]>();
  for (const s of catalog?.sources ?? []) bySource.set(s.source, [...(bySource.get(s.source) ?? []), s]);

  if (bySource.size) {
    fill(source, ...[...bySource.keys()].map((s) => h('option', { value: s }, s)));
  } else {
    // Without a catalog the source is typed: the select offers what the form last used.
    fill(source, h('option', { value: '' }, '(catalog unavailable: type below)'));
    const typed = h('input', {
      id: 'sync-source-typed',
      'aria-label': 'Source database name',
      placeholder: 'shop_online',
    });
    source.after(typed);
    source.hidden = true;
    typed.addEventListener('input', () => {
      fill(source, h('option', { value: typed.value }, typed.value));
      source.value = typed.value;
      changed();
    });
  }

  const grammar = catalog?.grammar?.allowed?.length ? catalog.grammar : DEFAULT_GRAMMAR;
  fill(byId('grammar-allowed'), ...(grammar.allowed ?? []).map((g) => h('li', null, g)));
  fill(byId('grammar-refused'), ...(grammar.refused ?? []).map((g) => h('li', null, g)));
  fill(
    byId('grammar-examples'),
    ...(grammar.examples ?? []).map((ex) =>
      h(
        'li',
        null,
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            title: 'Use this example',
            onclick: () => {
              where.value = ex;
              changed();
              where.focus();
            },
          },
          ex,
        ),
      ),
    ),
  );

  const entriesOf = () => bySource.get(source.value) ?? [];
  const entryFor = (name: string) => {
    const entries = entriesOf();
    return entries.find((e) => e.tables.some((t) => t.table === name)) ?? entries[0];
  };
  const targetTableOf = (name: string): string | undefined => {
    const entry = entryFor(name);
    const listed = entry?.tables.find((t) => t.table === name);
    if (listed) return listed.targetTable;
    if (!TABLE_NAME.test(name)) return undefined;
    const [schema = '', rest = ''] = name.split('.');
    return `${entry?.schemas?.[schema] ?? schema}.${rest}`;
  };

  const showTarget = () => {
    const entries = entriesOf();
    const listed = new Map<string, string>();
    for (const t of entries.flatMap((e) => e.tables))
      if (!listed.has(t.table)) listed.set(t.table, t.targetTable);
    fill(tables, ...[...listed].map(([t, target]) => h('option', { value: t }, `→ ${target}`)));
    const name = tableInput.value.trim();
    const entry = entryFor(name);
    const targetTable = targetTableOf(name);
    if (entry) {
      limit.placeholder = `default ${n(entry.defaultLimit)}, at most ${n(entry.maxLimit)}`;
      if (entry.maxLimit) limit.max = String(entry.maxLimit);
    }
    if (!entry) {
      fill(target);
      return;
    }
    const renamed = targetTable && targetTable !== name;
    fill(
      target,
      'Writes to ',
      h('strong', null, entry.target),
      ' (offline)',
      targetTable ? [' · table ', h('code', null, targetTable)] : '',
      renamed ? h('span', { class: 'muted' }, ` (renamed from ${name})`) : '',
      name && !entry.tables.some((t) => t.table === name) && entry.tables.length
        ? h('span', { class: 'muted' }, ' · not in the catalog list: the API decides whether it is allowed')
        : '',
    );
  };

  // --- state: the last dry run, the pending write and its token ---
  let dry: { req: SyncRequest; result: DryRun } | null = null;
  let token: string | null = null;
  let writing = false;

  const readForm = (): { req?: SyncRequest; problems: string[] } => {
    const problems: string[] = [];
    const mark = (el: HTMLElement, bad: boolean) => el.setAttribute('aria-invalid', bad ? 'true' : 'false');
    const src = source.value.trim();
    const tbl = tableInput.value.trim();
    const cond = where.value.trim();
    if (!src) problems.push('Choose a source database.');
    mark(source, !src);
    const badTable = !TABLE_NAME.test(tbl);
    if (badTable) problems.push('Give the table as schema.table.');
    mark(tableInput, badTable);
    if (!cond) problems.push('Give a condition: it names the rows to copy.');
    mark(where, !cond);
    let lim: number | undefined;
    if (limit.value.trim()) {
      lim = Number(limit.value);
      const max = entryFor(tbl)?.maxLimit;
      const bad = !Number.isInteger(lim) || lim < 1 || (max !== undefined && lim > max);
      if (bad) problems.push(`The row limit is a whole number from 1${max ? ` to ${n(max)}` : ''}.`);
      mark(limit, bad);
    } else mark(limit, false);
    if (problems.length) return { problems };
    return {
      problems,
      req: {
        source: src,
        table: tbl,
        where: cond,
        mode: mode.value === 'replace' ? 'replace' : 'upsert',
        ...(lim ? { limit: lim } : {}),
      },
    };
  };

  const changed = () => {
    showTarget();
    if (dry && !writing) {
      // A dry run describes the form as it was: anything changed needs a new one before a write.
      dry = null;
      token = null;
      const stale = out.querySelector('.diff');
      stale?.classList.add('stale');
      out.querySelector('.confirm')?.remove();
      out.querySelector('.review')?.remove();
      if (stale && !stale.querySelector('.stale-note')) {
        const note = notice(
          'warn',
          'The form changed after this dry run: run the dry run again before writing.',
        );
        note.classList.add('stale-note');
        stale.prepend(note);
      }
    }
  };
  for (const el of [source, tableInput, where, mode, limit]) el.addEventListener('input', changed);
  source.addEventListener('change', changed);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void busy(dryButton, dryRun, 'Running dry run…');
  });

  async function dryRun(): Promise<void> {
    const { req, problems } = readForm();
    if (!req) {
      fill(out, notice('error', h('strong', null, 'Check the form: '), problems.join(' ')));
      return;
    }
    fill(
      out,
      notice('info', 'Running the dry run: reading the matching rows online and comparing them offline…'),
    );
    try {
      const answer = await api<DryRun>('POST', 'sync', { body: { ...req, dryRun: true } });
      dry = { req, result: answer.body };
      token = null;
      fill(out, renderDiff(req, answer.body));
      byId('diff-heading').focus();
    } catch (err) {
      dry = null;
      fill(out, failure('The dry run was refused', err));
    }
  }

  const failure = (what: string, err: unknown) =>
    notice('error', h('strong', null, `${what}. `), errorText(err));

  function renderDiff(req: SyncRequest, r: DryRun): HTMLElement {
    const targetTable = r.targetTable ?? targetTableOf(req.table) ?? req.table;
    const toWrite = r.wouldInsert + r.wouldUpdate;
    const previewed = r.previewCount ?? r.preview.length;
    const of = (a: PreviewRow['action']) => r.preview.filter((p) => p.action === a);
    const inserts = of('insert');
    const updates = of('update');
    const conflicts = of('conflict');
    const unchanged = of('unchanged');
    const review = h(
      'button',
      { type: 'button', class: 'danger-outline', id: 'sync-review' },
      `Write ${rowsText(toWrite)}…`,
    );
    review.addEventListener('click', () => confirmStep(req, r, targetTable));
    return h(
      'section',
      { class: 'diff', 'aria-labelledby': 'diff-heading' },
      h(
        'h3',
        { id: 'diff-heading', tabindex: '-1' },
        'Dry run: ',
        h('code', null, req.table),
        ' → ',
        h('code', null, targetTable),
      ),
      h(
        'dl',
        { class: 'counts' },
        count('matched', r.matched),
        count('would insert', r.wouldInsert, 'c-insert'),
        count('would update', r.wouldUpdate, 'c-update'),
        count('unchanged', r.unchanged),
        count('conflicts', r.conflicts, r.conflicts ? 'c-conflict' : ''),
      ),
      h(
        'p',
        { class: 'muted', id: 'diff-shown' },
        r.previewTruncated || previewed < r.matched
          ? `Showing ${n(previewed)} of ${n(r.matched)} rows (the preview holds the first ${n(previewed)} in key order).`
          : r.matched === 1
            ? 'Showing the one matching row.'
            : `Showing all ${n(r.matched)} rows.`,
        typeof r.durationMs === 'number' ? ` Compared in ${n(r.durationMs)} ms.` : '',
      ),
      r.warnings?.length ? warnings(r.warnings) : null,
      inserts.length ? insertTable(inserts) : null,
      updates.length ? updateTable(updates) : null,
      conflicts.length
        ? [
            h('h4', null, `Conflicts (${n(conflicts.length)} shown): not written`),
            table(
              'Rows in conflict',
              ['key', 'held by'],
              conflicts.map((c) => [h('code', null, keyText(c.key)), c.conflictWith ?? '']),
              'conflicts',
            ),
          ]
        : null,
      unchanged.length
        ? [
            h('h4', null, `Unchanged (${n(unchanged.length)} shown): left alone`),
            h('p', { class: 'keys' }, unchanged.map((u) => keyText(u.key)).join(' · ')),
          ]
        : null,
      h(
        'div',
        { class: 'actions review' },
        toWrite > 0
          ? review
          : notice('info', 'Nothing to write: every matching row is identical offline or in conflict.'),
      ),
    );
  }

  const count = (label: string, v: number, cls = '') =>
    h('div', { class: `count ${cls}` }, h('dt', null, label), h('dd', null, n(v)));

  function warnings(list: Warning[]): HTMLElement {
    return h(
      'div',
      { class: 'notice warn warnings', role: 'status' },
      h('h4', null, 'Warnings before you write'),
      h(
        'ul',
        null,
        ...list.map((w) => {
          const keys = 'keys' in w && Array.isArray(w.keys) ? w.keys : [];
          const columns = 'columns' in w && Array.isArray(w.columns) ? w.columns : [];
          const column = 'column' in w && typeof w.column === 'string' ? w.column : '';
          return h(
            'li',
            { 'data-kind': w.kind },
            h('span', { class: 'badge b-warn' }, w.kind),
            ' ',
            w.message,
            /[.!?]$/.test(w.message) ? '' : '.',
            columns.length ? [' Columns: ', h('code', null, columns.join(', '))] : '',
            column && !w.message.includes(column) ? [' Column: ', h('code', null, column)] : '',
            keys.length ? [' Keys: ', h('code', null, keys.map(keyText).join(' · '))] : '',
          );
        }),
      ),
    );
  }

  function insertTable(rows: PreviewRow[]): HTMLElement[] {
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r.row ?? r.key)))];
    return [
      h('h4', null, `Inserts (${n(rows.length)} shown)`),
      table(
        'Rows that would be inserted',
        columns,
        rows.map((r) => columns.map((c) => value((r.row ?? r.key)[c]))),
        'inserts',
      ),
    ];
  }

  function updateTable(rows: PreviewRow[]): HTMLElement[] {
    const lines: (HTMLElement | string)[][] = [];
    for (const r of rows) {
      const changes = r.changes ?? {};
      const cols = r.changedColumns ?? Object.keys(changes);
      cols.forEach((c, i) => {
        const change = changes[c];
        lines.push([
          i === 0 ? h('code', null, keyText(r.key)) : '',
          h('code', null, c),
          h('span', { class: 'old' }, change ? value(change.offline) : '?'),
          h('span', { class: 'new' }, change ? value(change.online) : '?'),
        ]);
      });
    }
    return [
      h('h4', null, `Updates (${n(rows.length)} shown): offline → online, per changed cell`),
      table(
        'Rows that would be updated',
        ['key', 'column', 'offline now', 'after the write'],
        lines,
        'updates',
      ),
    ];
  }

  function confirmStep(req: SyncRequest, r: DryRun, targetTable: string): void {
    out.querySelector('.confirm')?.remove();
    const toWrite = r.wouldInsert + r.wouldUpdate;
    const entry = entryFor(req.table);
    const write = h(
      'button',
      { type: 'button', class: 'danger', id: 'sync-run' },
      `Write ${rowsText(toWrite)}`,
    );
    const back = h('button', { type: 'button' }, 'Cancel');
    const box = h(
      'div',
      { class: 'confirm', role: 'group', 'aria-labelledby': 'confirm-heading' },
      h('h3', { id: 'confirm-heading', tabindex: '-1' }, `Write ${rowsText(toWrite)} to ${targetTable}?`),
      h(
        'p',
        null,
        `On ${entry?.target ?? 'the offline database'}, mode ${req.mode}: ${n(r.wouldInsert)} insert${r.wouldInsert === 1 ? '' : 's'}, ${n(r.wouldUpdate)} update${r.wouldUpdate === 1 ? '' : 's'}. `,
        r.conflicts || r.unchanged
          ? `${n(r.conflicts)} in conflict and ${n(r.unchanged)} unchanged are left alone. `
          : '',
        'Condition: ',
        h('code', null, req.where),
      ),
      h(
        'p',
        { class: 'muted' },
        'The rows are read again when the job runs: online changes since the dry run are copied as they are then.',
      ),
      h('div', { class: 'actions' }, write, back),
      h('div', { id: 'sync-run-message' }),
    );
    back.addEventListener('click', () => {
      box.remove();
      byId<HTMLButtonElement>('sync-review').focus();
    });
    write.addEventListener('click', () => void runWrite(req, write, box));
    out.querySelector('.review')?.after(box);
    byId('confirm-heading').focus();
  }

  async function runWrite(req: SyncRequest, button: HTMLButtonElement, box: HTMLElement): Promise<void> {
    // Disabled at once: the second click of a double click lands on a disabled button.
    if (writing || button.disabled) return;
    writing = true;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    const label = button.textContent;
    button.textContent = 'Writing…';
    // One token per confirmed submission: a retry after a lost answer sends it again (the API answers the same job).
    token ??= uuid();
    const message = byId('sync-run-message');
    fill(message);
    try {
      const answer = await api<JobView>('POST', 'sync', {
        body: { ...req, dryRun: false, clientToken: token },
      });
      token = null;
      dry = null;
      showJob(box, answer.body);
    } catch (err) {
      const body = err instanceof ApiError ? err.body : null;
      if (body && typeof body.jobId === 'string' && typeof body.status === 'string') {
        // A run that failed answers its job view (422): the error and the key it stopped at.
        token = null;
        dry = null;
        showJob(box, body as unknown as JobView);
        return;
      }
      const retryable = err instanceof ApiError && (err.status === 0 || err.status >= 500);
      if (!retryable) token = null;
      fill(
        message,
        notice(
          'error',
          h('strong', null, 'The write was not started. '),
          errorText(err),
          retryable
            ? ' Press the button again to retry: the same request token goes with it, so the API never makes a second job.'
            : '',
        ),
      );
      button.disabled = false;
      button.textContent = label;
    } finally {
      writing = false;
      button.removeAttribute('aria-busy');
    }
  }

  function showJob(box: HTMLElement, job: JobView): void {
    const progress = jobProgress(job);
    const open = h('button', { type: 'button', class: 'link' }, 'Open in Jobs');
    open.addEventListener('click', () => openJob(job.jobId));
    const section = h(
      'section',
      { class: 'run', 'aria-labelledby': 'run-heading' },
      h('h3', { id: 'run-heading', tabindex: '-1' }, 'Write to ', h('code', null, job.targetTable ?? '')),
      job.repeated
        ? notice('info', 'The API had this request already: this is the job it started then.')
        : null,
      progress.el,
      h('p', null, open),
    );
    box.replaceWith(section);
    out.querySelector('.review')?.remove();
    byId('run-heading').focus();
  }

  showTarget();
  if (!tableInput.value) {
    const first = entriesOf()[0]?.tables[0]?.table;
    if (first) {
      tableInput.value = first;
      showTarget();
    }
  }
}
