/// <reference lib="dom" />
/**
 * Verify: is the offline table in step with online? POST /verify (followed while it runs), the report —
 * keys missing offline, extra offline, differing rows with their columns, schema differences with what
 * they break and the DDL that would align offline — and a repair: dry run, confirm, write.
 */
import { api, errorText } from './api';
import { badge, busy, byId, fill, h, keyText, n, notice, sleep, table } from './dom';
import type { Catalog, RepairAnswer, RowDrift } from './types';

interface SchemaDifference {
  kind: string;
  severity: 'breaks' | 'risk' | 'info';
  effect: string;
  ddl: string;
  column?: string;
}
interface VerifyView {
  verifyId: string;
  status: 'running' | 'succeeded' | 'failed';
  sourceTable: string;
  targetTable: string;
  condition: string;
  error?: string | null;
  progress?: { rows: number; chunks: number };
  rows?: RowDrift | null;
  schema?: { differences: SchemaDifference[]; ddl: string[] };
  equal?: boolean;
  schemaEqual?: boolean;
}
const SHOWN = 50;

export function initVerify(catalog: Catalog | null): void {
  const form = byId<HTMLFormElement>('verify-form');
  const source = byId<HTMLSelectElement>('verify-source');
  const tableInput = byId<HTMLInputElement>('verify-table');
  const where = byId<HTMLTextAreaElement>('verify-where');
  const run = byId<HTMLButtonElement>('verify-run');
  const out = byId('verify-result');
  const sources = catalog?.sources ?? [];
  fill(
    source,
    ...(sources.length
      ? [...new Set(sources.map((s) => s.source))].map((s) => h('option', { value: s }, s))
      : [h('option', { value: 'shop_online' }, 'shop_online')]),
  );
  fill(
    byId('verify-tables'),
    ...sources.flatMap((s) => s.tables.map((t) => h('option', { value: t.table }, `→ ${t.targetTable}`))),
  );

  const list = (title: string, items: string[]) =>
    items.length
      ? [
          h('h3', null, `${title} (${n(items.length)})`),
          h('ul', { class: 'keys' }, ...items.slice(0, SHOWN).map((k) => h('li', null, h('code', null, k)))),
          items.length > SHOWN ? h('p', { class: 'muted' }, `${n(SHOWN)} of ${n(items.length)} shown.`) : '',
        ]
      : [];

  function render(v: VerifyView): void {
    if (v.status === 'running') {
      fill(
        out,
        notice('info', `Verifying ${v.sourceTable}: ${n(v.progress?.rows ?? 0)} rows compared so far…`),
      );
      return;
    }
    if (v.status === 'failed') {
      fill(out, notice('error', `The verification failed: ${v.error ?? 'no report'}`));
      return;
    }
    // A table offline lacks: no rows to compare, the schema report says so (with the CREATE TABLE).
    const r = v.rows ?? {
      rows: 0,
      chunks: 0,
      chunksDiffering: 0,
      missing: [],
      extra: [],
      differing: [],
      durationMs: 0,
    };
    const drift = r.missing.length + r.extra.length + r.differing.length;
    const schema = v.schema?.differences ?? [];
    fill(
      out,
      h('h2', null, 'Report: ', h('code', null, v.sourceTable), ' → ', h('code', null, v.targetTable)),
      h(
        'dl',
        { class: 'counts' },
        ...(
          [
            ['rows compared', r.rows, ''],
            ['missing offline', r.missing.length, r.missing.length ? 'c-conflict' : ''],
            ['extra offline', r.extra.length, r.extra.length ? 'c-conflict' : ''],
            ['differing', r.differing.length, r.differing.length ? 'c-conflict' : ''],
            ['schema differences', schema.filter((d) => d.severity !== 'info').length, ''],
          ] as [string, number, string][]
        ).map(([label, value, cls]) =>
          h('div', { class: `count ${cls}` }, h('dt', null, label), h('dd', null, n(value))),
        ),
      ),
      h(
        'p',
        { class: 'muted', id: 'verify-summary' },
        !v.rows
          ? 'The offline table does not exist: no rows compared'
          : drift
            ? `${n(drift)} row(s) out of step`
            : 'Rows in step: equal',
        ` · ${n(r.chunks)} chunks (${n(r.chunksDiffering)} differing) in ${n(r.durationMs)} ms · condition `,
        h('code', null, v.condition),
      ),
      ...list(
        'Missing offline',
        r.missing.map((k) => keyText(k)),
      ),
      ...list(
        'Extra offline',
        r.extra.map((k) => keyText(k)),
      ),
      ...(r.differing.length
        ? [
            h('h3', null, `Differing (${n(r.differing.length)})`),
            table(
              'Rows that differ and their columns',
              ['key', 'columns'],
              r.differing.slice(0, SHOWN).map((d) => [h('code', null, keyText(d.key)), d.columns.join(', ')]),
            ),
          ]
        : []),
      ...(schema.length
        ? [
            h('h3', null, `Schema differences (${n(schema.length)})`),
            table(
              'Schema differences, what each breaks, and the DDL that would align offline',
              ['severity', 'what', 'effect', 'DDL (not run)'],
              schema.map((d) => [
                badge(d.severity),
                `${d.kind}${d.column ? ` · ${d.column}` : ''}`,
                d.effect,
                h('pre', { class: 'ddl' }, d.ddl),
              ]),
            ),
          ]
        : []),
      drift ? repairBox(v) : '',
    );
  }

  function repairBox(v: VerifyView): HTMLElement {
    const deleteExtra = h('input', { type: 'checkbox', id: 'verify-delete-extra' });
    const button = h('button', { type: 'button', class: 'danger', id: 'verify-repair' }, 'Repair…');
    const msg = h('div', { id: 'verify-repair-result' });
    button.addEventListener('click', () =>
      busy(button, async () => {
        try {
          const body = { dryRun: true, deleteExtra: deleteExtra.checked };
          const dry = (await api<RepairAnswer>('POST', `verify/${v.verifyId}/repair`, { body })).body;
          const question = `Repair ${v.targetTable}: copy ${dry.copied} row(s) from online${deleteExtra.checked ? `, delete ${dry.deleted} extra row(s)` : ''}?`;
          if (!window.confirm(question)) {
            fill(msg, notice('info', 'Nothing written.'));
            return;
          }
          const done = (
            await api<RepairAnswer>('POST', `verify/${v.verifyId}/repair`, {
              body: { ...body, dryRun: false },
            })
          ).body;
          const left = done.remaining
            ? done.remaining.missing + done.remaining.extra + done.remaining.differing
            : 0;
          fill(
            msg,
            notice(
              left ? 'warn' : 'ok',
              `Copied ${n(done.copied)}, deleted ${n(done.deleted)}. `,
              left ? `${n(left)} row(s) still differ.` : 'The rows are now equal.',
            ),
          );
        } catch (err) {
          fill(msg, notice('error', errorText(err)));
        }
      }),
    );
    return h(
      'div',
      { class: 'card' },
      h('h3', null, 'Repair'),
      h(
        'p',
        null,
        'Copies the missing and differing rows from online. Extra offline rows are kept unless you tick the box: they may be test data.',
      ),
      h(
        'label',
        { for: 'verify-delete-extra', class: 'check' },
        deleteExtra,
        ' also delete the extra offline rows',
      ),
      h('div', { class: 'actions' }, button),
      msg,
    );
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void busy(
      run,
      async () => {
        fill(out);
        try {
          const body = { source: source.value, table: tableInput.value.trim(), where: where.value };
          let v = (await api<VerifyView>('POST', 'verify', { body })).body;
          render(v);
          while (v.status === 'running') {
            await sleep(1000);
            v = (await api<VerifyView>('GET', `verify/${v.verifyId}`)).body;
            render(v);
          }
        } catch (err) {
          fill(out, notice('error', errorText(err)));
        }
      },
      'Verifying…',
    );
  });
}
