import { isLosslessNumber, type LosslessNumber, parse as losslessParse, stringify } from 'lossless-json';
import type { WireValue } from '../types';

/** A parsed JSON tree in which every number is a LosslessNumber: its exact source text. */
export type JsonNode = null | boolean | string | LosslessNumber | JsonNode[] | { [k: string]: JsonNode };

/** Duplicate keys: the last wins, as in JSON.parse (lossless-json would throw). */
const LAST_KEY_WINS = { onDuplicateKey: ({ newValue }: { newValue: unknown }) => newValue };

/**
 * Parses a Kafka value keeping every numeral's source text (`1.0`, `-0`, `1e400` stay as sent).
 * lossless-json on every runtime: on Node 22, JSON.parse with a source-text reviver measured 1.7-2x
 * slower on a 3 KB Debezium message, and one parser means one behaviour on Node 20 and 22.
 * formats.test.ts checks this parser against that reviver, input by input.
 */
export function parseJsonLossless(text: string): JsonNode {
  return losslessParse(text, null, LAST_KEY_WINS) as JsonNode;
}

export function isJsonObject(node: unknown): node is { [k: string]: JsonNode } {
  return typeof node === 'object' && node !== null && !Array.isArray(node) && !isLosslessNumber(node);
}

/**
 * A JSON number as a JS number, for envelope metadata only (timestamps, scales, type codes), never for
 * row values; undefined when the node is not a number or does not fit a double.
 */
export function jsonNumber(node: JsonNode | undefined): number | undefined {
  if (!isLosslessNumber(node)) return undefined;
  const n = Number(node.value);
  return Number.isFinite(n) ? n : undefined;
}

/** Serialises a subtree back to JSON text with every number's source text kept. */
export function stringifyLossless(node: JsonNode): string {
  return stringify(node) as string;
}

export function toWireValue(node: JsonNode | undefined): WireValue {
  if (node === null || node === undefined) return { kind: 'null' };
  if (typeof node === 'string') return { kind: 'string', text: node };
  if (typeof node === 'boolean') return { kind: 'boolean', value: node };
  if (isLosslessNumber(node)) return { kind: 'number', text: node.value };
  return { kind: 'json', text: stringifyLossless(node) };
}

/** Index just past the string literal that opens at `i` (text[i] === '"'), or -1. */
function endOfString(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return -1;
    let backslashes = 0;
    for (let k = q - 1; text.charCodeAt(k) === 92; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

const STRUCTURAL = /["{}[\]]/g;
const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** Index just past the JSON value that starts at `i`, or -1 when it is not well delimited. */
function endOfValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return endOfString(text, i);
  if (c !== '{' && c !== '[') {
    let j = i;
    while (j < text.length && !',}] \t\n\r'.includes(text[j] as string)) j++;
    return j > i ? j : -1;
  }
  let depth = 0;
  STRUCTURAL.lastIndex = i;
  for (let m = STRUCTURAL.exec(text); m; m = STRUCTURAL.exec(text)) {
    const ch = m[0];
    if (ch === '"') {
      const end = endOfString(text, m.index);
      if (end < 0) return -1;
      STRUCTURAL.lastIndex = end;
    } else if (ch === '{' || ch === '[') depth++;
    else if (--depth === 0) return m.index + 1;
  }
  return -1;
}

/**
 * The raw texts of a Kafka Connect envelope's two members (the payload's text may run past its value
 * when a known schema prefix matched: a caller whose payload does not parse parses the whole text), `{"schema": …, "payload": …}`, found
 * without parsing them: the schema (most of a Debezium message, the same for every message of a
 * table) can then be parsed once and cached, and only the payload parsed per message. Anything that
 * is not exactly such an object answers undefined, and the caller parses the whole text as usual.
 */
export function splitEnvelope(text: string): { schema: string; payload: string } | undefined {
  // The connector writes the same compact schema text before every payload of a table: a prefix
  // comparison (native, no scan) recognises it; anything else is scanned once and remembered.
  for (const [prefix, schema] of knownPrefixes) {
    // Not checked to be one value here: the caller parses it, and falls back to the whole text if it is not.
    if (text.startsWith(prefix) && text.endsWith('}'))
      return { schema, payload: text.slice(prefix.length, -1) };
  }
  const found = scanEnvelope(text);
  if (found && text.startsWith(`{"schema":${found.schema},"payload":`)) {
    if (knownPrefixes.size >= 64) knownPrefixes.delete(knownPrefixes.keys().next().value as string);
    knownPrefixes.set(`{"schema":${found.schema},"payload":`, found.schema);
  }
  return found;
}

/** `{"schema":<text>,"payload":` → the schema text, for the schemas seen last. */
const knownPrefixes = new Map<string, string>();

function scanEnvelope(text: string): { schema: string; payload: string } | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return undefined;
  const members: Record<string, string> = {};
  i = skipSpace(text, i + 1);
  for (;;) {
    if (text[i] !== '"') return undefined;
    const keyEnd = endOfString(text, i);
    if (keyEnd < 0) return undefined;
    const key = text.slice(i + 1, keyEnd - 1);
    if ((key !== 'schema' && key !== 'payload') || key in members) return undefined;
    i = skipSpace(text, keyEnd);
    if (text[i] !== ':') return undefined;
    const start = skipSpace(text, i + 1);
    const end = endOfValue(text, start);
    if (end < 0) return undefined;
    members[key] = text.slice(start, end);
    i = skipSpace(text, end);
    if (text[i] === ',') {
      i = skipSpace(text, i + 1);
      continue;
    }
    if (text[i] !== '}' || skipSpace(text, i + 1) !== text.length) return undefined;
    break;
  }
  const { schema, payload } = members;
  return schema !== undefined && payload !== undefined ? { schema, payload } : undefined;
}
