import type { DecodedEvent, SourceFormat, SourcePosition } from '../types';
import { decodeCanal, looksLikeCanal } from './canal';
import { decodeDebezium, decodeDebeziumEnvelope, looksLikeDebezium } from './debezium';
import { DecodeError } from './errors';
import { isJsonObject, type JsonNode, parseJsonLossless, splitEnvelope } from './json';
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

/** One Kafka record value → the changes it carries. A null value is a tombstone. */
export function decodeRecord(
  valueText: string | null,
  position: SourcePosition,
  format: 'auto' | SourceFormat,
): DecodedEvent[] {
  if (valueText === null || valueText === '') return [{ kind: 'skip', reason: 'tombstone', position }];
  // A Connect envelope: the schema text is recognised (cached), only the payload is parsed.
  const envelope = format === 'auto' || format === 'debezium' ? splitEnvelope(valueText) : undefined;
  let payload: JsonNode | undefined;
  try {
    payload = envelope ? parseJsonLossless(envelope.payload) : undefined;
  } catch {
    // Not one value after all (the whole text may still be valid JSON): the ordinary path decides.
    payload = undefined;
  }
  if (envelope && payload !== undefined) {
    try {
      return decodeDebeziumEnvelope(envelope.schema, payload, position);
    } catch (err) {
      if (err instanceof DecodeError) throw err;
      throw new DecodeError(`message schema is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
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
