import { isLosslessNumber, LosslessNumber, parse as losslessParse, stringify } from 'lossless-json';
import type { WireValue } from '../types';

/**
 * A parsed JSON tree in which every number keeps its exact source text: a JS number where that number
 * prints back as the very text sent (`String(n)`: `42`, `0.5`), else a LosslessNumber (`1.0`, `-0`,
 * `18446744073709551615`).
 */
export type JsonNode =
  | null
  | boolean
  | string
  | number
  | LosslessNumber
  | JsonNode[]
  | { [k: string]: JsonNode };

/** Duplicate keys: the last wins, as in JSON.parse (lossless-json would throw). */
const LAST_KEY_WINS = { onDuplicateKey: ({ newValue }: { newValue: unknown }) => newValue };

/**
 * Parses a Kafka value keeping every numeral's source text (`1.0`, `-0`, `1e400` stay as sent).
 * V8's JSON.parse does the parsing: one pass over the text first wraps each number token that a double
 * would not print back as sent in a string behind a NUL marker (no JSON string can start with a raw
 * NUL), and the parsed tree's marked strings become LosslessNumbers. The others, most numbers of a
 * change message, are left to JSON.parse (short integers are recognised without even a slice). That measured 3-4x faster than
 * a JS parser (lossless-json) and than a source-text reviver (Node 22), and behaves the same on Node 20
 * and 22. Texts it cannot mark safely (a malformed number, an escaped NUL anywhere) go to lossless-json,
 * which decides them (and throws SyntaxError on what is not JSON). formats.test.ts checks both against
 * Node's source-text reviver.
 */
export function parseJsonLossless(text: string): JsonNode {
  const marked = markNumbers(text);
  if (marked === undefined) return exactNumbers(losslessParse(text, null, LAST_KEY_WINS) as JsonNode);
  const tree = JSON.parse(marked) as unknown;
  return (marked === text ? tree : unmark(tree)) as JsonNode;
}

const NUMBER_TOKEN = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Is `c` a character that can continue a number token? (digits, `.`, `e`, `E`, `+`, `-`) */
const numberChar = (c: number) =>
  (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;

/** A short integer (at most 15 digits, no leading zero, not `-0`): a double prints it back as sent. */
function shortInteger(text: string, from: number, to: number): boolean {
  const start = text.charCodeAt(from) === 45 ? from + 1 : from;
  const digits = to - start;
  if (digits < 1 || digits > 15) return false;
  return text.charCodeAt(start) !== 48 || (digits === 1 && start === from);
}

/** Does a JS number print back as exactly this token (`0.5` does; `1.0`, `-0`, `1e5` do not)? */
const printsBack = (token: string) => String(Number(token)) === token;

/**
 * `text` with every number token a double would not print back as sent turned into
 * `"\u0000<token>"` (the text itself when there is none), or undefined when that is not safe.
 */
function markNumbers(text: string): string | undefined {
  if (text.includes('\\u0000')) return undefined;
  let out = '';
  let from = 0;
  const n = text.length;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      const end = endOfString(text, i);
      if (end < 0) return undefined;
      i = end;
    } else if ((c >= 48 && c <= 57) || c === 45) {
      let j = i + 1;
      let digitsOnly = true;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 48 && d <= 57) continue;
        if (!numberChar(d)) break;
        digitsOnly = false;
      }
      if (!(digitsOnly && shortInteger(text, i, j))) {
        const token = text.slice(i, j);
        if (!NUMBER_TOKEN.test(token)) return undefined;
        if (printsBack(token)) {
          i = j;
          continue;
        }
        out += `${text.slice(from, i)}"\\u0000${token}"`;
        from = j;
      }
      i = j;
    } else i++;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** lossless-json's tree in the same shape: numbers that print back as sent are plain numbers. */
function exactNumbers(node: JsonNode): JsonNode {
  if (isLosslessNumber(node)) {
    const v = node.value;
    return printsBack(v) ? Number(v) : node;
  }
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = exactNumbers(node[i] as JsonNode);
  } else if (typeof node === 'object' && node !== null) {
    for (const key in node) node[key] = exactNumbers(node[key] as JsonNode);
  }
  return node;
}

/** The parsed tree with each marked string (see markNumbers) as the LosslessNumber it stood for. */
function unmark(node: unknown): unknown {
  if (typeof node === 'string') return node.charCodeAt(0) === 0 ? new LosslessNumber(node.slice(1)) : node;
  if (typeof node !== 'object' || node === null) return node;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = unmark(node[i]);
    return node;
  }
  const obj = node as Record<string, unknown>;
  for (const key in obj) {
    const v = obj[key];
    // Own properties only (JSON.parse makes no others); a "__proto__" key is an own data property here.
    if (typeof v === 'object' ? v !== null : typeof v === 'string' && v.charCodeAt(0) === 0)
      obj[key] = unmark(v);
  }
  return obj;
}

/**
 * `target[key] = value` as an own property whatever the key: a plain assignment of `__proto__` (a legal
 * column name) would replace the object's prototype and the value would be lost.
 */
export function setOwn<R extends Record<string, unknown>>(target: R, key: string, value: R[string]): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else (target as Record<string, unknown>)[key] = value;
}

export function isJsonObject(node: unknown): node is { [k: string]: JsonNode } {
  return typeof node === 'object' && node !== null && !Array.isArray(node) && !isLosslessNumber(node);
}

/**
 * A JSON number as a JS number, for envelope metadata only (timestamps, scales, type codes), never for
 * row values; undefined when the node is not a number or does not fit a double.
 */
export function jsonNumber(node: JsonNode | undefined): number | undefined {
  if (typeof node === 'number') return node;
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
  if (typeof node === 'number') return { kind: 'number', text: String(node) };
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
 * The raw texts of a Kafka Connect envelope's two members, `{"schema": …, "payload": …}`, found
 * without parsing them: the schema (most of a Debezium message, the same for every message of a
 * table) can then be parsed once and cached, and only the payload parsed per message. Anything that
 * is not exactly such an object answers undefined, and the caller parses the whole text as usual.
 * A compact envelope's schema prefix is remembered, so later messages are recognised by their bytes
 * (knownEnvelope) before they are even decoded.
 */
export function splitEnvelope(text: string): { schema: string; payload: string } | undefined {
  const members = scanEnvelope(text);
  const prefix = members && `{"schema":${members.schema},"payload":`;
  if (members && prefix && text.startsWith(prefix)) remember(prefix, members.schema);
  return members;
}

/**
 * A remembered `{"schema":<text>,"payload":` prefix: its bytes, and the same bytes as the base64 text a
 * Kafka event carries (the whole 3-byte groups: base64 of aligned bytes does not depend on what follows).
 */
interface KnownPrefix {
  schema: string;
  bytes: Buffer;
  base64: string;
  /** The prefix's last bytes (0–2) that share a base64 group with the payload, one character per byte. */
  restText: string;
}

/** The last matched first. */
const knownPrefixes: KnownPrefix[] = [];

function remember(prefix: string, schema: string): void {
  if (knownPrefixes.some((k) => k.schema === schema)) return;
  if (knownPrefixes.length >= 64) knownPrefixes.pop();
  const bytes = Buffer.from(prefix);
  const aligned = bytes.length - (bytes.length % 3);
  knownPrefixes.unshift({
    schema,
    bytes,
    base64: bytes.subarray(0, aligned).toString('base64'),
    restText: bytes.subarray(aligned).toString('latin1'),
  });
}

function found<P extends Buffer | string>(i: number, payload: P): { schema: string; payload: P } {
  const known = knownPrefixes[i] as KnownPrefix;
  if (i > 0) knownPrefixes.unshift(...knownPrefixes.splice(i, 1));
  return { schema: known.schema, payload };
}

/**
 * A message that starts with a schema prefix seen before (a byte comparison: no decoding, no scan)
 * → that schema's text and the payload's bytes. The payload is not checked to be one value here:
 * a caller whose payload does not parse decodes the whole message as usual.
 */
export function knownEnvelope(value: Buffer): { schema: string; payload: Buffer } | undefined {
  if (value[value.length - 1] !== 0x7d) return undefined;
  for (let i = 0; i < knownPrefixes.length; i++) {
    const n = (knownPrefixes[i] as KnownPrefix).bytes.length;
    if (value.length > n && value.compare((knownPrefixes[i] as KnownPrefix).bytes, 0, n, 0, n) === 0)
      return found(i, value.subarray(n, value.length - 1));
  }
  return undefined;
}

/**
 * The same, on a value still in base64 as Lambda delivers it: only the payload's part is decoded (the
 * schema, most of the message, is compared as text and never decoded). An ASCII payload, the common
 * case, comes back as text; other payloads come back as bytes, for the caller's strict UTF-8 decoder.
 */
export function knownEnvelopeBase64(
  base64: string,
): { schema: string; payload: Buffer | string } | undefined {
  for (let i = 0; i < knownPrefixes.length; i++) {
    const known = knownPrefixes[i] as KnownPrefix;
    const cut = known.base64.length;
    // A string slice compared with === is a memory comparison; startsWith is several times slower here.
    if (base64.length <= cut || base64.slice(0, cut) !== known.base64) continue;
    // atob: one character per byte, with no Buffer to allocate (several times faster than Buffer.from here).
    let tail: string;
    try {
      tail = atob(base64.slice(cut));
    } catch {
      return undefined;
    }
    const n = known.restText.length;
    if (tail.length <= n || tail.charCodeAt(tail.length - 1) !== 0x7d || !tail.startsWith(known.restText))
      return undefined;
    const payload = tail.slice(n, -1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: all of ASCII is meant.
    return found(i, /^[\u0000-\u007f]*$/.test(payload) ? payload : Buffer.from(payload, 'latin1'));
  }
  return undefined;
}

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
