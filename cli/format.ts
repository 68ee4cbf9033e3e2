/**
 * Text for people: values as they would be read in SQL, tables, durations, a progress bar. Everything that
 * came from a database or the API goes through `clean` first: control and bidi characters are shown escaped,
 * so a value cannot move the cursor, recolour the terminal or reorder what is printed.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters being escaped
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function clean(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Cuts to `max` characters, saying how long it was. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

const PLAIN = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|0x[0-9a-f]*)$/;

/**
 * A column value as the API sends it (exact text, `0x…` for bytes, null): numbers and bytes bare, NULL,
 * other text quoted, JSON documents as JSON.
 */
export function value(v: unknown, max = 200): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return PLAIN.test(v) ? cut(v, max) : clean(JSON.stringify(cut(v, max)));
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return clean(cut(JSON.stringify(v), max));
}

/** A row key: `id=1`, `tenant=3, code="a"`. */
export function keyText(key: unknown): string {
  if (!key || typeof key !== 'object') return value(key);
  return Object.entries(key as Record<string, unknown>)
    .map(([k, v]) => `${clean(k)}=${value(v, 80)}`)
    .join(', ');
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A count from an answer: 0 when missing (an older API). */
export const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Seconds for people: 0.4 s, 12 s, 3 min 05 s, 2 h 10 min. */
export function seconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 0.1) return '<0.1 s';
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export function millis(ms: unknown): string {
  const n = Number(ms);
  if (ms === null || ms === undefined || !Number.isFinite(n)) return '-';
  return n < 1000 ? `${Math.round(n)} ms` : seconds(n / 1000);
}

/** Columns padded to their widest cell (each cell cut to its column's maximum). */
export function table(header: string[], rows: string[][], max: number[] = []): string[] {
  const cells = [header, ...rows].map((r) =>
    r.map((c, i) => cut1(clean(c), Math.max(header[i]?.length ?? 0, max[i] ?? 60))),
  );
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

const cut1 = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** `[=========>          ] 40/120 rows  33%  800 rows/s  ETA 0.1 s` */
export function progressLine(p: {
  processed: number;
  matched: number;
  rowsPerSecond?: number | null;
  etaSeconds?: number | null;
  width?: number;
}): string {
  const width = p.width ?? 30;
  const ratio = p.matched > 0 ? Math.min(1, p.processed / p.matched) : 0;
  const full = Math.round(ratio * width);
  const bar = `${'='.repeat(Math.max(0, full - 1))}${full > 0 ? (full === width ? '=' : '>') : ''}`.padEnd(
    width,
  );
  const parts = [`[${bar}] ${p.processed}/${p.matched} rows`, `${Math.floor(ratio * 100)}%`];
  if (p.rowsPerSecond !== undefined && p.rowsPerSecond !== null)
    parts.push(`${Math.round(p.rowsPerSecond)} rows/s`);
  if (p.etaSeconds !== undefined && p.etaSeconds !== null) parts.push(`ETA ${seconds(p.etaSeconds)}`);
  return parts.join('  ');
}

const COLORS = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export type Color = keyof typeof COLORS;

/** Colour for a terminal (and not under NO_COLOR); plain text otherwise. */
export function painter(enabled: boolean): (color: Color, text: string) => string {
  const on = enabled && !process.env.NO_COLOR;
  return (color, text) => (on ? `\u001b[${COLORS[color]}m${text}\u001b[0m` : text);
}
