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
