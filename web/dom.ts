/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The console's one way to put data on the page: elements are created and every value is set with
 * textContent (text nodes), never innerHTML. Attributes are set by name; event handlers are functions.
 */
import type { SqlValue } from './types';

type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined | EventListener;
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'class') el.className = String(value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** A value as text: NULL marked, everything else exactly as the API sent it. */
export function value(v: SqlValue | undefined): HTMLElement {
  if (v === null || v === undefined) return h('span', { class: 'null' }, 'NULL');
  return h('span', { class: 'val' }, typeof v === 'string' ? v : JSON.stringify(v));
}

/** A key as `id=1, code=x`. */
export function keyText(key: Record<string, SqlValue> | null | undefined): string {
  if (!key) return '';
  return Object.entries(key)
    .map(([k, v]) => `${k}=${v === null ? 'NULL' : String(v)}`)
    .join(', ');
}

export const n = (x: number | null | undefined): string =>
  typeof x === 'number' && Number.isFinite(x) ? x.toLocaleString('en-US') : '–';

/** "2026-11-25 10:00:00.123456" (UTC, as the API stores times) → "2026-11-25 10:00:00 UTC". */
export function time(text: string | null | undefined): string {
  if (!text) return '–';
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)/.exec(text);
  return m ? `${m[1]} ${m[2]} UTC` : text;
}

/** A duration in milliseconds, said briefly. */
export function duration(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** A status badge: `running`, `failed`… styled by name. */
export function badge(text: string, kind = text): HTMLElement {
  return h('span', { class: `badge b-${kind.replace(/[^a-z-]/gi, '')}` }, text);
}

/**
 * A table in a scrolling box, with a caption for screen readers. On narrow screens (CSS) each row
 * becomes a block of labelled cells (`data-label`: the column's name).
 */
export function table(caption: string, head: string[], rows: Child[][], cls = '', stack = true): HTMLElement {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: `${stack ? 'stack ' : ''}${cls}` },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', null, h('tr', null, ...head.map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        null,
        ...rows.map((r) => h('tr', null, ...r.map((c, i) => h('td', { 'data-label': head[i] || null }, c)))),
      ),
    ),
  );
}

/** A message box; `error` ones are announced to screen readers. */
export function notice(
  kind: 'error' | 'info' | 'ok' | 'warn',
  ...children: (Child | Child[])[]
): HTMLElement {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

/** A button that runs `action` once at a time: disabled (and marked busy) while it is in flight. */
export function busy(button: HTMLButtonElement, action: () => Promise<void>, label?: string): Promise<void> {
  if (button.disabled) return Promise.resolve();
  const text = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (label) button.textContent = label;
  return action().finally(() => {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (label) button.textContent = text;
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => window.setTimeout(resolve, ms));
}
