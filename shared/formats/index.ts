import type { DecodedEvent, SourceFormat, SourcePosition } from '../types';
import { decodeCanal, looksLikeCanal } from './canal';
import { decodeDebezium, decodeDebeziumEnvelope, looksLikeDebezium } from './debezium';
import { DecodeError } from './errors';
import {
  isJsonObject,
  type JsonNode,
  knownEnvelope,
  knownEnvelopeBase64,
  parseJsonLossless,
  splitEnvelope,
} from './json';
import { decodeMaxwell, looksLikeMaxwell } from './maxwell';

export { DecodeError, ValueError } from './errors';

export function detectFormat(node: JsonNode): SourceFormat {
  if (isJsonObject(node)) {
    if (looksLikeDebezium(node)) return 'debezium';
    if (looksLikeCanal(node)) return 'canal';
    if (looksLikeMaxwell(node)) return 'maxwell';
  }
  throw new DecodeError('message is not Debezium, Canal or Maxwell JSON');
}

// Invalid UTF-8 must be an error, not silently replaced characters.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new DecodeError('message is not valid UTF-8');
  }
}

function parsePayload(text: string): JsonNode | undefined {
  try {
    return parseJsonLossless(text);
  } catch {
    // Not one value after all (the whole text may still be valid JSON): the ordinary path decides.
    return undefined;
  }
}

function decodeEnvelope(schema: string, payload: JsonNode, position: SourcePosition): DecodedEvent[] {
  try {
    return decodeDebeziumEnvelope(schema, payload, position);
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`message schema is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** A record value: base64 as Lambda delivers it, bytes, or text. */
export type RecordValue = { base64: string } | Buffer | string;

/**
 * One Kafka record value → the changes it carries. A null value is a tombstone. A Connect envelope
 * whose schema was seen before is recognised without decoding it (from the base64 text or the bytes):
 * only the payload is decoded and parsed; the schema's hints are cached.
 */
export function decodeRecord(
  input: RecordValue | null,
  position: SourcePosition,
  format: 'auto' | SourceFormat,
): DecodedEvent[] {
  const envelopes = format === 'auto' || format === 'debezium';
  if (input !== null && typeof input === 'object' && !Buffer.isBuffer(input)) {
    const known = envelopes ? knownEnvelopeBase64(input.base64) : undefined;
    // The prefix is valid UTF-8 text and ends at an ASCII character: the payload alone decides validity.
    const text = known && (typeof known.payload === 'string' ? known.payload : decodeUtf8(known.payload));
    const payload = text === undefined ? undefined : parsePayload(text);
    if (known && payload !== undefined) return decodeEnvelope(known.schema, payload, position);
  }
  const value =
    input !== null && typeof input === 'object' && !Buffer.isBuffer(input)
      ? Buffer.from(input.base64, 'base64')
      : input;
  if (value === null || value.length === 0) return [{ kind: 'skip', reason: 'tombstone', position }];
  if (envelopes && typeof value !== 'string') {
    const known = knownEnvelope(value);
    const payload = known && parsePayload(decodeUtf8(known.payload));
    if (known && payload !== undefined) return decodeEnvelope(known.schema, payload, position);
  }
  const valueText = typeof value === 'string' ? value : decodeUtf8(value);
  const envelope = envelopes ? splitEnvelope(valueText) : undefined;
  const payload = envelope && parsePayload(envelope.payload);
  if (envelope && payload !== undefined) return decodeEnvelope(envelope.schema, payload, position);
  let node: JsonNode;
  try {
    node = parseJsonLossless(valueText);
  } catch (err) {
    throw new DecodeError(`message is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const chosen = format === 'auto' ? detectFormat(node) : format;
  switch (chosen) {
    case 'debezium':
      return decodeDebezium(node, position);
    case 'canal':
      return decodeCanal(node, position);
    case 'maxwell':
      return decodeMaxwell(node, position);
  }
}
