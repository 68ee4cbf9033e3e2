import type { DecodedEvent, SourceFormat, SourcePosition } from '../types';
import { decodeCanal, looksLikeCanal } from './canal';
import { decodeDebezium, looksLikeDebezium } from './debezium';
import { DecodeError } from './errors';
import { isJsonObject, type JsonNode, parseJsonLossless } from './json';
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
