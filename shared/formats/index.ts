import type { DecodedEvent, SourceFormat, SourcePosition } from '../types';
import { decodeCanal, looksLikeCanal } from './canal';
import { decodeDebezium, decodeDebeziumEnvelope, looksLikeDebezium } from './debezium';
import { DecodeError } from './errors';
import { isJsonObject, type JsonNode, knownEnvelope, parseJsonLossless, splitEnvelope } from './json';
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

/**
 * One Kafka record value (bytes as they arrived, or text) → the changes it carries. A null value is a
 * tombstone. A Connect envelope whose schema was seen before is recognised from its bytes: only the
 * payload is decoded and parsed; the schema's hints are cached.
 */
export function decodeRecord(
  value: Buffer | string | null,
  position: SourcePosition,
  format: 'auto' | SourceFormat,
): DecodedEvent[] {
  if (value === null || value.length === 0) return [{ kind: 'skip', reason: 'tombstone', position }];
  const envelopes = format === 'auto' || format === 'debezium';
  if (envelopes && typeof value !== 'string') {
    const known = knownEnvelope(value);
    // The prefix is valid UTF-8 text and ends at an ASCII character: the payload alone decides validity.
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
