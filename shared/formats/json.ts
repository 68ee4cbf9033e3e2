import {
  isLosslessNumber,
  LosslessNumber,
  parse as losslessParse,
  stringify as losslessStringify,
} from 'lossless-json';
import type { WireValue } from '../types';

/** A parsed JSON tree whose numbers are either safe JS numbers or LosslessNumber (exact source digits). */
export type JsonNode =
  | null
  | boolean
  | string
  | number
  | LosslessNumber
  | JsonNode[]
  | { [k: string]: JsonNode };

/**
 * A numeral of 16+ digits (a run of digits and dots) may not survive a double: only then is the
 * slower lossless parser needed. Any other numeral has at most 15 significant digits, which a double
 * holds exactly, and String(n) gives the same digits back.
 */
const MAYBE_LOSSY = /\d[\d.]{15,}/;

export function parseJsonLossless(text: string): JsonNode {
  if (!MAYBE_LOSSY.test(text)) return JSON.parse(text) as JsonNode;
  return losslessParse(text, null, (digits) => {
    // Keep safe numerals as plain numbers so the common case stays cheap downstream.
    const n = Number(digits);
    return /^-?\d{1,15}$/.test(digits) ? n : new LosslessNumber(digits);
  }) as JsonNode;
}

export function isJsonObject(node: unknown): node is { [k: string]: JsonNode } {
  return typeof node === 'object' && node !== null && !Array.isArray(node) && !isLosslessNumber(node);
}

export function numberText(node: number | LosslessNumber): string {
  return typeof node === 'number' ? String(node) : node.value;
}

/** Serialises a subtree back to JSON text with every number's digits kept. */
export function stringifyLossless(node: JsonNode): string {
  return losslessStringify(node) as string;
}

export function toWireValue(node: JsonNode | undefined): WireValue {
  if (node === null || node === undefined) return { kind: 'null' };
  if (typeof node === 'string') return { kind: 'string', text: node };
  if (typeof node === 'boolean') return { kind: 'boolean', value: node };
  if (typeof node === 'number' || isLosslessNumber(node)) return { kind: 'number', text: numberText(node) };
  return { kind: 'json', text: stringifyLossless(node) };
}
