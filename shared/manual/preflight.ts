import { BINARY_TYPES, DECIMAL_TYPES, INTEGER_TYPES } from '../formats/column-types';
import { keyString } from '../plan/keys';
import type { ColumnInfo, SqlRow, SqlValue, TableSchema } from '../types';

/**
 * What a dry run warns about before anything is written: online columns the offline table lacks (they
 * are dropped), values the offline column cannot hold (the run would fail on them), and offline rows in
 * the condition's range that online does not have (a copy leaves them; they may be test data or drift).
 */
export type Warning =
  | { kind: 'dropped-columns'; message: string; columns: string[] }
  | {
      kind: 'value-too-long' | 'out-of-range';
      message: string;
      column: string;
      keys: Record<string, SqlValue>[];
    }
  | { kind: 'offline-only-rows'; message: string; keys: Record<string, SqlValue>[]; count: number };

const KEYS_SHOWN = 20;

const INTEGER_RANGE: Record<string, [bigint, bigint]> = {
  tinyint: [-(2n ** 7n), 2n ** 7n - 1n],
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  mediumint: [-(2n ** 23n), 2n ** 23n - 1n],
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** Why `value` does not fit `column`, or undefined when it does (or this check cannot tell). */
export function misfit(column: ColumnInfo, value: SqlValue): 'value-too-long' | 'out-of-range' | undefined {
  if (value === null || value === undefined) return undefined;
  const t = column.dataType;
  if (Buffer.isBuffer(value)) {
    return BINARY_TYPES.has(t) && column.precision !== null && value.length > column.precision
      ? 'value-too-long'
      : undefined;
  }
  if (INTEGER_TYPES.has(t)) {
    if (!/^-?\d+$/.test(value)) return undefined;
    const range = INTEGER_RANGE[t];
    if (!range) return undefined;
    const [lo, hi] = column.unsigned ? [0n, range[1] * 2n + 1n] : range;
    const n = BigInt(value);
    return n < lo || n > hi ? 'out-of-range' : undefined;
  }
  if (DECIMAL_TYPES.has(t)) {
    const m = /^-?(\d*)(?:\.(\d*))?$/.exec(value);
    if (!m || column.precision === null) return undefined;
    const intDigits = (m[1] ?? '').replace(/^0+/, '').length;
    const negative = value.startsWith('-') && /[1-9]/.test(value);
    if (column.unsigned && negative) return 'out-of-range';
    return intDigits > column.precision - (column.scale ?? 0) ? 'out-of-range' : undefined;
  }
  if (column.charset !== null && column.precision !== null) {
    // Characters, as the server counts them (code points).
    let n = 0;
    for (const _ of value) if (++n > column.precision) return 'value-too-long';
  }
  return undefined;
}

export class PreflightChecks {
  private readonly onlineKeys = new Set<string>();
  private readonly misfits = new Map<
    string,
    { kind: 'value-too-long' | 'out-of-range'; keys: Record<string, SqlValue>[] }
  >();

  constructor(
    private readonly offlineTable: TableSchema,
    private readonly droppedColumns: string[],
  ) {}

  /** One chunk: the rows online has in the range, and those that would be written. */
  add(rows: readonly SqlRow[], written: readonly SqlRow[]): void {
    const id = this.offlineTable.identity;
    for (const row of rows) this.onlineKeys.add(keyString(this.offlineTable, row, id));
    for (const row of written) {
      for (const column of this.offlineTable.columns) {
        if (!(column.name in row)) continue;
        const kind = misfit(column, row[column.name] ?? null);
        if (!kind) continue;
        const m = this.misfits.get(column.name) ?? { kind, keys: [] };
        if (m.keys.length < KEYS_SHOWN) m.keys.push(Object.fromEntries(id.map((c) => [c, row[c] ?? null])));
        this.misfits.set(column.name, m);
      }
    }
  }

  /**
   * The warnings, given the offline rows in the condition's range (`offlineRange`: their key columns,
   * or undefined when the condition cannot be evaluated offline).
   */
  warnings(offlineRange: SqlRow[] | undefined): Warning[] {
    const out: Warning[] = [];
    if (this.droppedColumns.length) {
      out.push({
        kind: 'dropped-columns',
        message: `online column(s) ${this.droppedColumns.join(', ')} do not exist offline: their values are not copied`,
        columns: this.droppedColumns,
      });
    }
    for (const [column, m] of this.misfits) {
      const c = this.offlineTable.columns.find((x) => x.name === column) as ColumnInfo;
      out.push({
        kind: m.kind,
        column,
        keys: m.keys,
        message:
          m.kind === 'value-too-long'
            ? `${m.keys.length}${m.keys.length >= KEYS_SHOWN ? '+' : ''} value(s) are longer than offline ${column} (${c.columnType}) holds: the run would stop at the first`
            : `${m.keys.length}${m.keys.length >= KEYS_SHOWN ? '+' : ''} value(s) are out of range for offline ${column} (${c.columnType}): the run would stop at the first`,
      });
    }
    if (offlineRange) {
      const id = this.offlineTable.identity;
      const extra = offlineRange.filter((r) => !this.onlineKeys.has(keyString(this.offlineTable, r, id)));
      if (extra.length) {
        out.push({
          kind: 'offline-only-rows',
          count: extra.length,
          keys: extra.slice(0, KEYS_SHOWN).map((r) => Object.fromEntries(id.map((c) => [c, r[c] ?? null]))),
          message: `${extra.length} offline row(s) in this range do not exist online: a copy leaves them as they are`,
        });
      }
    }
    return out;
  }
}
