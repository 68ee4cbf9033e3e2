import type { DecodedEvent, SourcePosition, TableRef, TypeHint, WireRow } from '../types';
import { DecodeError } from './errors';
import { isJsonObject, type JsonNode, jsonNumber, parseJsonLossless, setOwn, toWireValue } from './json';

type Obj = { [k: string]: JsonNode };
type Hints = Map<string, Extract<TypeHint, { format: 'debezium' }>>;

/** Field hints from the Connect schema of the `after` (or `before`) struct, when the envelope has one. */
function hintsFrom(schema: JsonNode | undefined): Hints {
  const hints: Hints = new Map();
  if (!isJsonObject(schema) || !Array.isArray(schema.fields)) return hints;
  const row = schema.fields.find((f) => isJsonObject(f) && (f.field === 'after' || f.field === 'before'));
  if (!isJsonObject(row) || !Array.isArray(row.fields)) return hints;
  for (const f of row.fields) {
    if (!isJsonObject(f) || typeof f.field !== 'string') continue;
    const parameters: Record<string, string> = {};
    if (isJsonObject(f.parameters)) {
      for (const [k, v] of Object.entries(f.parameters)) if (typeof v === 'string') parameters[k] = v;
    }
    hints.set(f.field, {
      format: 'debezium',
      connectType: typeof f.type === 'string' ? f.type : 'unknown',
      ...(typeof f.name === 'string' ? { name: f.name } : {}),
      ...(Object.keys(parameters).length ? { parameters } : {}),
    });
  }
  return hints;
}

function rowOf(node: JsonNode | undefined, hints: Hints, what: string): WireRow {
  if (!isJsonObject(node)) throw new DecodeError(`Debezium message has no "${what}" row`);
  const row: WireRow = {};
  for (const name in node) {
    const hint = hints.get(name);
    const value = toWireValue(node[name]);
    setOwn(row, name, hint ? { value, hint } : { value });
  }
  return row;
}

function tableOf(payload: Obj): TableRef {
  const source = payload.source;
  if (isJsonObject(source) && typeof source.db === 'string' && typeof source.table === 'string') {
    return { schema: source.db, table: source.table };
  }
  throw new DecodeError('Debezium message has no source.db/source.table');
}

const eventTime = (payload: Obj): number | undefined => {
  const source = payload.source;
  const ts = isJsonObject(source) ? source.ts_ms : undefined;
  const t = jsonNumber(ts) ?? jsonNumber(payload.ts_ms);
  // A snapshot's ts_ms is 0 in old versions: no commit time to measure lag from.
  return t ? t : undefined;
};

/** True when the parsed message looks like Debezium: an envelope, or a bare change/schema-change payload. */
export function looksLikeDebezium(node: Obj): boolean {
  if ('payload' in node && 'schema' in node) return true;
  if (typeof node.op === 'string' && 'source' in node) return true;
  return (
    typeof node.ddl === 'string' &&
    ('databaseName' in node || 'historyRecord' in node || 'tableChanges' in node)
  );
}

export function decodeDebezium(node: JsonNode, position: SourcePosition): DecodedEvent[] {
  if (!isJsonObject(node)) throw new DecodeError('Debezium message is not a JSON object');
  const enveloped = 'payload' in node && 'schema' in node;
  const payload = enveloped ? node.payload : node;
  return decodePayload(payload, enveloped ? hintsFrom(node.schema) : new Map(), position);
}

/** Field hints per schema text: a topic's schema is the same for every message until its table changes. */
const hintCache = new Map<string, Hints>();
const HINT_CACHE_SIZE = 256;

/**
 * A Debezium envelope given as its two raw member texts (see splitEnvelope): the schema's hints come
 * from a cache keyed by the schema text, and only the payload is parsed.
 */
export function decodeDebeziumEnvelope(
  schemaText: string,
  payload: JsonNode,
  position: SourcePosition,
): DecodedEvent[] {
  let hints = hintCache.get(schemaText);
  if (!hints) {
    hints = hintsFrom(parseJsonLossless(schemaText));
    if (hintCache.size >= HINT_CACHE_SIZE) hintCache.delete(hintCache.keys().next().value as string);
    hintCache.set(schemaText, hints);
  }
  return decodePayload(payload, hints, position);
}

function decodePayload(
  payload: JsonNode | undefined,
  hints: Hints,
  position: SourcePosition,
): DecodedEvent[] {
  if (payload === null) return [{ kind: 'skip', reason: 'tombstone', position }];
  if (!isJsonObject(payload)) throw new DecodeError('Debezium payload is not an object');

  if (typeof payload.ddl === 'string') {
    // Schema change topic: the table is in tableChanges[].id ("db"."table") or the source block.
    const changes = Array.isArray(payload.tableChanges) ? payload.tableChanges : [];
    const tables: TableRef[] = [];
    for (const c of changes) {
      if (!isJsonObject(c) || typeof c.id !== 'string') continue;
      const parts = c.id.split('.').map((p) => p.replace(/^"|"$/g, ''));
      if (parts.length >= 2) tables.push({ schema: parts[0] as string, table: parts.slice(1).join('.') });
    }
    if (tables.length === 0) {
      const source = payload.source;
      if (isJsonObject(source) && typeof source.db === 'string' && typeof source.table === 'string') {
        tables.push({ schema: source.db, table: source.table });
      }
    }
    if (tables.length === 0) return [{ kind: 'skip', reason: 'schema change without a table', position }];
    return tables.map((table) => ({
      kind: 'ddl',
      table,
      sql: payload.ddl as string,
      position,
      format: 'debezium',
    }));
  }

  const op = payload.op;
  const table = tableOf(payload);
  const t = eventTime(payload);
  const pos: SourcePosition =
    t === undefined
      ? position
      : {
          topic: position.topic,
          partition: position.partition,
          offset: position.offset,
          index: position.index,
          eventTimeMs: t,
        };
  switch (op) {
    case 'c':
    case 'r': {
      const after = rowOf(payload.after, hints, 'after');
      return op === 'r'
        ? [{ kind: 'insert', table, position: pos, format: 'debezium', after, snapshot: true }]
        : [{ kind: 'insert', table, position: pos, format: 'debezium', after }];
    }
    case 'u': {
      const after = rowOf(payload.after, hints, 'after');
      return isJsonObject(payload.before)
        ? [
            {
              kind: 'update',
              table,
              position: pos,
              format: 'debezium',
              after,
              before: rowOf(payload.before, hints, 'before'),
            },
          ]
        : [{ kind: 'update', table, position: pos, format: 'debezium', after }];
    }
    case 'd':
      return [
        {
          kind: 'delete',
          table,
          position: pos,
          format: 'debezium',
          before: rowOf(payload.before, hints, 'before'),
        },
      ];
    case 't':
      return [{ kind: 'truncate', table, position: pos, format: 'debezium' }];
    default:
      throw new DecodeError(`Debezium message has unknown op ${JSON.stringify(op ?? null)}`);
  }
}
