import { describe, expect, it } from 'vitest';
import { decodeDebezium } from './debezium';
import { decodeRecord } from './index';
import { parseJsonLossless, splitEnvelope } from './json';

const schema = {
  type: 'struct',
  fields: [
    {
      type: 'struct',
      field: 'after',
      fields: [
        { type: 'int64', field: 'id' },
        { type: 'string', field: 'name', name: 'x "quoted" {brace} [bracket] \\ back' },
        {
          type: 'bytes',
          field: 'price',
          name: 'org.apache.kafka.connect.data.Decimal',
          parameters: { scale: '2' },
        },
      ],
    },
  ],
};
const payload = {
  op: 'c',
  source: { db: 'shop', table: 't', ts_ms: 1_732_000_000_000 },
  before: null,
  after: { id: '__BIG__', name: 'a "b" } ] \\', price: 'AeJA' },
};
/** JSON text with a 20-digit id no double holds. */
const json = (v: unknown) => JSON.stringify(v).replace('"__BIG__"', '12345678901234567890');
const at = { topic: 't', partition: 0, offset: '1', index: 0 };

describe('splitEnvelope', () => {
  it.each([
    ['schema first', `{"schema":${json(schema)},"payload":${json(payload)}}`],
    ['payload first, with spaces', ` { "payload" : ${json(payload)} ,\n "schema" :${json(schema)} } `],
    ['a tombstone payload', `{"schema":${json(schema)},"payload":null}`],
  ])('finds both members: %s, and decoding equals the whole parse', (_what, text) => {
    const env = splitEnvelope(text);
    expect(env).toBeDefined();
    expect(parseJsonLossless(env?.schema as string)).toEqual(parseJsonLossless(json(schema)));
    const decoded = decodeRecord(text, at, 'auto');
    expect(decoded).toEqual(decodeDebezium(parseJsonLossless(text), at));
    if (!text.includes('null}')) expect(JSON.stringify(decoded)).toContain('12345678901234567890');
  });

  it.each([
    ['an extra member', `{"schema":{},"payload":{},"x":1}`],
    ['an escaped key', `{"sch\\u0065ma":{},"payload":{}}`],
    ['a repeated key', `{"schema":{},"schema":{},"payload":{}}`],
    ['trailing text', `{"schema":{},"payload":{}} x`],
    ['an unclosed schema', `{"schema":{"a":"}","payload":{}}`],
    ['an array', '[{"schema":{},"payload":{}}]'],
    ['a bare payload', json(payload)],
  ])('leaves %s to the whole parse', (_what, text) => {
    expect(splitEnvelope(text)).toBeUndefined();
  });

  it.each([
    ['text', (t: string) => t],
    ['bytes', (t: string) => Buffer.from(t)],
    ['base64', (t: string) => ({ base64: Buffer.from(t).toString('base64') })],
  ])(
    'a known schema followed by more than a payload still decodes as the whole parse does (%s)',
    (_as, as) => {
      const known = `{"schema":${json(schema)},"payload":${json(payload)}}`;
      decodeRecord(as(known), at, 'auto');
      const extra = `{"schema":${json(schema)},"payload":${json(payload)},"extra":{"a":1}}`;
      expect(decodeRecord(as(extra), at, 'auto')).toEqual(decodeDebezium(parseJsonLossless(extra), at));
      const broken = `{"schema":${json(schema)},"payload":${json(payload).slice(0, -1)}}`;
      expect(() => decodeRecord(as(broken), at, 'auto')).toThrow(/not valid JSON/);
    },
  );

  it.each([0, 1, 2])(
    'recognises a known schema in base64 whatever its length mod 3 (%i), and only that schema',
    (pad) => {
      const padded = { ...schema, name: 'x'.repeat(pad) };
      const text = `{"schema":${json(padded)},"payload":${json(payload)}}`;
      const expected = decodeDebezium(parseJsonLossless(text), at);
      expect(decodeRecord(text, at, 'auto')).toEqual(expected);
      const b64 = (t: string) => ({ base64: Buffer.from(t).toString('base64') });
      expect(decodeRecord(b64(text), at, 'auto')).toEqual(expected);
      // The same schema text but one byte off in the payload's first group, and a different schema.
      const other = `{"schema":${json(padded)},"payload":${json({ ...payload, op: 'd', before: payload.after })}}`;
      expect(decodeRecord(b64(other), at, 'auto')).toEqual(decodeDebezium(parseJsonLossless(other), at));
      const changed = text.replace('"int64"', '"int32"');
      expect(decodeRecord(b64(changed), at, 'auto')).toEqual(decodeDebezium(parseJsonLossless(changed), at));
      const broken = Buffer.from(text);
      broken[broken.length - 3] = 0xc3;
      expect(() => decodeRecord({ base64: broken.toString('base64') }, at, 'auto')).toThrow(
        /not valid UTF-8/,
      );
    },
  );

  it('decodes a non-ASCII payload after a known schema in base64 (accents, CJK, emoji)', () => {
    const text = `{"schema":${json(schema)},"payload":${json({ ...payload, after: { ...payload.after, name: 'café 東京 😀' } })}}`;
    const b64 = { base64: Buffer.from(text).toString('base64') };
    decodeRecord(b64, at, 'auto'); // the first one teaches the prefix
    const [event] = decodeRecord(b64, at, 'auto');
    expect(event).toMatchObject({ after: { name: { value: { kind: 'string', text: 'café 東京 😀' } } } });
    expect(decodeRecord(b64, at, 'auto')).toEqual(decodeDebezium(parseJsonLossless(text), at));
  });

  it('recognises a known schema by its bytes, and still refuses invalid UTF-8 in the payload', () => {
    const text = `{"schema":${json(schema)},"payload":${json(payload)}}`;
    expect(decodeRecord(Buffer.from(text), at, 'auto')).toEqual(decodeDebezium(parseJsonLossless(text), at));
    // Known now: the same bytes with one payload byte broken.
    const bytes = Buffer.from(text);
    bytes[bytes.length - 5] = 0xff;
    expect(() => decodeRecord(bytes, at, 'auto')).toThrow(/not valid UTF-8/);
    // A topic configured as Canal never takes the envelope path.
    expect(() => decodeRecord(Buffer.from(text), at, 'canal')).toThrow(/Canal message/);
  });

  it('caches nothing wrong: the same schema text with another payload decodes that payload', () => {
    const other = { ...payload, after: { id: 2, name: 'x', price: 'AA==' } };
    const first = decodeRecord(`{"schema":${json(schema)},"payload":${json(payload)}}`, at, 'auto');
    const second = decodeRecord(`{"schema":${json(schema)},"payload":${json(other)}}`, at, 'debezium');
    expect(first).not.toEqual(second);
    expect(second).toEqual(
      decodeDebezium(parseJsonLossless(`{"schema":${json(schema)},"payload":${json(other)}}`), at),
    );
  });
});
