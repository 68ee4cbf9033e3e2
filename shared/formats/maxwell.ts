import type { DecodedEvent, SourcePosition, TableRef, WireRow } from '../types';
import { DecodeError } from './errors';
import { isJsonObject, type JsonNode, jsonNumber, setOwn, toWireValue } from './json';

type Obj = { [k: string]: JsonNode };

const HINT = { format: 'maxwell' } as const;

/** Maxwell: lower-case `type`, `database`, `table`, and a `data` object (or a DDL/bootstrap marker). */
export function looksLikeMaxwell(node: Obj): boolean {
  const type = node.type;
  if (typeof type !== 'string' || type !== type.toLowerCase() || !('database' in node)) return false;
  return isJsonObject(node.data) || /^(table|database)-|^bootstrap-/.test(type);
}

function rowOf(node: JsonNode | undefined, what: string): WireRow {
  if (!isJsonObject(node)) throw new DecodeError(`Maxwell message has no "${what}" object`);
  const row: WireRow = {};
  for (const name in node) setOwn(row, name, { value: toWireValue(node[name]), hint: HINT });
  return row;
}

export function decodeMaxwell(node: JsonNode, position: SourcePosition): DecodedEvent[] {
  if (!isJsonObject(node)) throw new DecodeError('Maxwell message is not a JSON object');
  const type = node.type;
  if (type === 'bootstrap-start' || type === 'bootstrap-complete') {
    return [{ kind: 'skip', reason: `Maxwell ${type}`, position }];
  }
  if (typeof type === 'string' && /^(table|database)-/.test(type)) {
    const def = isJsonObject(node.def) ? node.def : {};
    const schema = typeof node.database === 'string' ? node.database : def.database;
    const name = typeof node.table === 'string' ? node.table : def.table;
    if (typeof schema !== 'string' || typeof name !== 'string') {
      return [{ kind: 'skip', reason: `Maxwell ${type} without a table`, position }];
    }
    const sql = typeof node.sql === 'string' ? node.sql : '';
    return [{ kind: 'ddl', table: { schema, table: name }, sql, position, format: 'maxwell' }];
  }
  if (typeof node.database !== 'string' || typeof node.table !== 'string') {
    throw new DecodeError('Maxwell message has no database/table');
  }
  const table: TableRef = { schema: node.database, table: node.table };
  // Maxwell's ts is in seconds.
  const ts = jsonNumber(node.ts);
  const pos: SourcePosition = ts !== undefined ? { ...position, eventTimeMs: ts * 1000 } : position;
  const base = { table, position: pos, format: 'maxwell' as const };
  switch (type) {
    case 'insert':
      return [{ ...base, kind: 'insert', after: rowOf(node.data, 'data') }];
    case 'bootstrap-insert':
      return [{ ...base, kind: 'insert', after: rowOf(node.data, 'data'), snapshot: true }];
    case 'update': {
      const after = rowOf(node.data, 'data');
      // `old` holds the previous values of the changed columns only.
      const before = isJsonObject(node.old) ? { ...after, ...rowOf(node.old, 'old') } : undefined;
      return [{ ...base, kind: 'update', after, ...(before ? { before } : {}) }];
    }
    case 'delete':
      return [{ ...base, kind: 'delete', before: rowOf(node.data, 'data') }];
    default:
      throw new DecodeError(`Maxwell message has unknown type ${JSON.stringify(type ?? null)}`);
  }
}
