import type { DecodedEvent, SourcePosition, TableRef, TypeHint, WireRow } from '../types';
import { DecodeError } from './errors';
import { isJsonObject, type JsonNode, jsonNumber, setOwn, toWireValue } from './json';

type Obj = { [k: string]: JsonNode };

/** Canal flat messages (and TiCDC's canal-json): `type`, `data`/`old` arrays, `isDdl`, or a TiDB watermark. */
export function looksLikeCanal(node: Obj): boolean {
  return (
    typeof node.isDdl === 'boolean' ||
    node.type === 'TIDB_WATERMARK' ||
    (Array.isArray(node.data) && typeof node.type === 'string' && node.type === node.type.toUpperCase())
  );
}

/** Hints are shared, never changed: one object per (mysqlType, sqlType) pair seen. */
const sharedHints = new Map<string, TypeHint>();

function hintOf(m: JsonNode | undefined, s: number | undefined): TypeHint {
  const key = `${typeof m === 'string' ? m : ''}\u0000${s ?? ''}`;
  let hint = sharedHints.get(key);
  if (!hint) {
    hint = {
      format: 'canal',
      ...(typeof m === 'string' ? { mysqlType: m } : {}),
      ...(s !== undefined ? { sqlType: s } : {}),
    };
    if (sharedHints.size >= 4096) sharedHints.clear();
    sharedHints.set(key, hint);
  }
  return hint;
}

function hintsOf(node: Obj): (column: string) => TypeHint {
  const mysqlType = isJsonObject(node.mysqlType) ? node.mysqlType : {};
  const sqlType = isJsonObject(node.sqlType) ? node.sqlType : {};
  // Per message: every row of it (and its `old` images) asks for the same columns.
  const known = new Map<string, TypeHint>();
  return (column) => {
    let hint = known.get(column);
    if (!hint) {
      hint = hintOf(mysqlType[column], jsonNumber(sqlType[column]));
      known.set(column, hint);
    }
    return hint;
  };
}

function rowOf(node: JsonNode | undefined, hint: (c: string) => TypeHint, what: string): WireRow {
  if (!isJsonObject(node)) throw new DecodeError(`Canal message has a ${what} entry that is not an object`);
  const row: WireRow = {};
  for (const name in node) setOwn(row, name, { value: toWireValue(node[name]), hint: hint(name) });
  return row;
}

/** The commit time: TiCDC's TSO (physical ms in the high bits), else Canal's `es` (binlog ms). */
function eventTime(node: Obj): number | undefined {
  const tidb = node._tidb;
  if (isJsonObject(tidb) && tidb.commitTs !== undefined && tidb.commitTs !== null) {
    try {
      return Number(BigInt(String(tidb.commitTs)) >> 18n);
    } catch {
      return undefined;
    }
  }
  const es = jsonNumber(node.es);
  return es !== undefined && es > 0 ? es : undefined;
}

export function decodeCanal(node: JsonNode, position: SourcePosition): DecodedEvent[] {
  if (!isJsonObject(node)) throw new DecodeError('Canal message is not a JSON object');
  const type = node.type;
  if (type === 'TIDB_WATERMARK') return [{ kind: 'skip', reason: 'TiCDC watermark', position }];
  if (typeof node.database !== 'string' || typeof node.table !== 'string') {
    if (node.isDdl === true) return [{ kind: 'skip', reason: 'DDL without a table', position }];
    throw new DecodeError('Canal message has no database/table');
  }
  const table: TableRef = { schema: node.database, table: node.table };
  const t = eventTime(node);
  const pos: SourcePosition = t === undefined ? position : { ...position, eventTimeMs: t };
  if (type === 'TRUNCATE') return [{ kind: 'truncate', table, position: pos, format: 'canal' }];
  if (
    node.isDdl === true ||
    (typeof type === 'string' &&
      ['CREATE', 'ALTER', 'ERASE', 'QUERY', 'RENAME', 'CINDEX', 'DINDEX'].includes(type))
  ) {
    return [
      {
        kind: 'ddl',
        table,
        sql: typeof node.sql === 'string' ? node.sql : '',
        position: pos,
        format: 'canal',
      },
    ];
  }
  if (!Array.isArray(node.data)) throw new DecodeError(`Canal ${String(type)} message has no data array`);
  const hint = hintsOf(node);
  const old = Array.isArray(node.old) ? node.old : [];
  return node.data.map((entry, index): DecodedEvent => {
    const p = { ...pos, index };
    const row = rowOf(entry, hint, 'data');
    switch (type) {
      case 'INSERT':
        return { kind: 'insert', table, position: p, format: 'canal', after: row };
      case 'UPDATE': {
        // Canal's `old` holds the changed columns only, TiCDC's holds all: either way, before = data + old.
        const changed = old[index];
        const before = isJsonObject(changed) ? { ...row, ...rowOf(changed, hint, 'old') } : undefined;
        return {
          kind: 'update',
          table,
          position: p,
          format: 'canal',
          after: row,
          ...(before ? { before } : {}),
        };
      }
      case 'DELETE':
        return { kind: 'delete', table, position: p, format: 'canal', before: row };
      default:
        throw new DecodeError(`Canal message has unknown type ${JSON.stringify(type ?? null)}`);
    }
  });
}
