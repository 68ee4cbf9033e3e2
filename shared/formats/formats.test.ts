import { setFlagsFromString } from 'node:v8';
import { LosslessNumber } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnInfo, SourceFormat, WireField } from '../types';
import { DecodeError, decodeRecord, detectFormat, ValueError } from './index';
import { type JsonNode, parseJsonLossless, stringifyLossless } from './json';
import { coerceValue } from './values';

const pos = { topic: 't', partition: 0, offset: '7', index: 0 };

describe('decodeRecord', () => {
  it.each([
    ['not JSON', '{"op":', /not valid JSON/],
    ['JSON of no known format', '{"hello":"world"}', /not Debezium, Canal or Maxwell/],
    ['a JSON array', '[1,2]', /not Debezium, Canal or Maxwell/],
    [
      'Debezium with an unknown op',
      '{"op":"x","source":{"db":"a","table":"b"},"after":{}}',
      /unknown op "x"/,
    ],
    ['Debezium without source table', '{"op":"c","source":{},"after":{"id":1}}', /source.db\/source.table/],
    ['Debezium create without after', '{"op":"c","source":{"db":"a","table":"b"}}', /no "after" row/],
    ['Canal without data', '{"type":"INSERT","isDdl":false,"database":"a","table":"b"}', /no data array/],
    [
      'Maxwell with an unknown type',
      '{"type":"upsert","database":"a","table":"b","data":{}}',
      /unknown type "upsert"/,
    ],
  ])('rejects %s with a clear DecodeError', (_what, text, message) => {
    expect(() => decodeRecord(text, pos, 'auto')).toThrow(DecodeError);
    expect(() => decodeRecord(text, pos, 'auto')).toThrow(message);
  });

  it('skips tombstones, TiCDC watermarks and Maxwell bootstrap markers', () => {
    expect(decodeRecord(null, pos, 'auto')).toEqual([{ kind: 'skip', reason: 'tombstone', position: pos }]);
    expect(decodeRecord('{"schema":{},"payload":null}', pos, 'debezium')[0]?.kind).toBe('skip');
    expect(
      decodeRecord('{"type":"TIDB_WATERMARK","isDdl":false,"_tidb":{"watermarkTs":1}}', pos, 'auto')[0]?.kind,
    ).toBe('skip');
    expect(
      decodeRecord('{"type":"bootstrap-start","database":"a","table":"b","data":{}}', pos, 'auto')[0]?.kind,
    ).toBe('skip');
  });

  it('detects each format', () => {
    expect(detectFormat(parseJsonLossless('{"op":"c","source":{},"after":{}}'))).toBe('debezium');
    expect(detectFormat(parseJsonLossless('{"data":[],"type":"INSERT","isDdl":false}'))).toBe('canal');
    expect(detectFormat(parseJsonLossless('{"type":"insert","database":"a","table":"b","data":{}}'))).toBe(
      'maxwell',
    );
  });

  it('splits a multi-row Canal message, merges `old` into the before image, reads the TiCDC commit time', () => {
    const events = decodeRecord(
      JSON.stringify({
        type: 'UPDATE',
        isDdl: false,
        database: 'd',
        table: 't',
        data: [
          { id: '1', v: 'new' },
          { id: '2', v: 'b' },
        ],
        old: [{ v: 'old' }, { id: '1' }],
        _tidb: { commitTs: String((1_700_000_000_000n << 18n) + 5n) },
      }),
      pos,
      'auto',
    );
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      kind: 'update',
      position: { index: 0, eventTimeMs: 1_700_000_000_000 },
      before: { id: { value: { kind: 'string', text: '1' } }, v: { value: { kind: 'string', text: 'old' } } },
    });
    expect(events[1]).toMatchObject({ position: { index: 1 }, before: { id: { value: { text: '1' } } } });
  });

  it('keeps every digit of big numbers (Maxwell DECIMAL, BIGINT UNSIGNED)', () => {
    const [ev] = decodeRecord(
      '{"type":"insert","database":"a","table":"b","data":{"d":12345678901234567890.123456789012345678,"u":18446744073709551615,"s":1.5}}',
      pos,
      'auto',
    );
    expect(ev).toMatchObject({
      after: {
        d: { value: { kind: 'number', text: '12345678901234567890.123456789012345678' } },
        u: { value: { kind: 'number', text: '18446744073709551615' } },
        s: { value: { kind: 'number', text: '1.5' } },
      },
    });
  });
});

/**
 * The reference parser: V8's own JSON.parse, with each number replaced by its source text (the
 * reviver's third argument: Node >= 21, and Node 20 behind a V8 flag, turned on below for this file),
 * kept as a plain number where that number prints back as its source text.
 * parseJsonLossless must build the same tree on every input, and refuse the same inputs.
 */
function parseWithSourceText(text: string): JsonNode {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
    if (typeof value !== 'number') return value;
    if (context?.source === undefined)
      throw new Error('this runtime gives JSON.parse revivers no source text');
    return String(value) === context.source ? value : new LosslessNumber(context.source);
  }) as JsonNode;
}

function sourceTextSupported(): boolean {
  try {
    return parseWithSourceText('1.0') instanceof LosslessNumber;
  } catch {
    return false;
  }
}

let flagTurnedOn = false;
beforeAll(() => {
  if (sourceTextSupported()) return;
  setFlagsFromString('--harmony-json-parse-with-source');
  flagTurnedOn = true;
});
afterAll(() => {
  // The flag is process-wide: leave the worker as found for the next test file.
  if (flagTurnedOn) setFlagsFromString('--no-harmony-json-parse-with-source');
});

const NUMBER_TEXTS = [
  '1.0',
  '1.50',
  '0.0000001',
  '1e400',
  '-0',
  '18446744073709551615',
  '123456789012345678901234.5',
  '1E+2',
  '1e5',
  '9007199254740993',
  // These a double prints back as sent: they stay plain numbers, the same text either way.
  '0',
  '42',
  '-7',
  '0.5',
  '-0.25',
  '123456789012345',
  '1234567890123456',
  '100000000000000000000',
];

/** [JSON text, the same value serialised back: numbers as sent, whitespace dropped] */
const PARSE_CASES: [string, string][] = [
  ...NUMBER_TEXTS.map((n): [string, string] => [n, n]),
  ['[-1.5e-10,0,-0.0,1E400,2e-400]', '[-1.5e-10,0,-0.0,1E400,2e-400]'],
  ['{"a":1.0,"b":[1e400,0.10]}', '{"a":1.0,"b":[1e400,0.10]}'],
  [' \t\r\n{ "a" : [ 1 , 2.0 ] , "b" : { } } \n', '{"a":[1,2.0],"b":{}}'],
  ['{"a":1,"b":2,"a":3.0}', '{"a":3.0,"b":2}'],
  ['{"a":{"x":1},"a":[1.0]}', '{"a":[1.0]}'],
  ['{"b":1,"2":2,"1":3}', '{"1":3,"2":2,"b":1}'],
  ['{"__proto__":{"x":1.0},"y":1}', '{"__proto__":{"x":1.0},"y":1}'],
  ['"\\u00e9\\ud83d\\ude00\\ud800 \\/\\"\\\\\\b\\f\\n\\r\\t"', '"é😀\\ud800 /\\"\\\\\\b\\f\\n\\r\\t"'],
  ['[true,false,null,"",[],{}]', '[true,false,null,"",[],{}]'],
  // Digits inside strings, escaped quotes and backslashes before numbers: strings stay strings.
  ['{"s":"1.0 -2 3e5","t":"a\\"b\\\\","n":-0.50}', '{"s":"1.0 -2 3e5","t":"a\\"b\\\\","n":-0.50}'],
  // An escaped NUL (the fast parser's marker) anywhere: the text is parsed the careful way.
  ['{"a":"\\u00001","b":1.0}', '{"a":"\\u00001","b":1.0}'],
  ['["\\u0000",18446744073709551616]', '["\\u0000",18446744073709551616]'],
];

const INVALID_JSON = [
  '',
  ' ',
  '01',
  '1.',
  '.5',
  '+1',
  '-',
  '1e',
  '1e+',
  '0x10',
  'NaN',
  '-Infinity',
  '[1,]',
  '[,1]',
  '{"a":1,}',
  "{'a':1}",
  '{"a" 1}',
  '{"a":}',
  '{a:1}',
  '"tab\there"',
  '"\\x"',
  '"\\u12"',
  '"open',
  'tru',
  'nulls',
  '[1] 2',
  '\ufeff{}',
];

describe.each([
  ['parseJsonLossless (lossless-json)', parseJsonLossless],
  ['JSON.parse with source text', parseWithSourceText],
])('%s', (_name, parse) => {
  it('runs on this runtime', () => {
    expect(sourceTextSupported()).toBe(true);
  });

  it.each(PARSE_CASES)('keeps %s as %s', (text, expected) => {
    const tree = parse(text);
    expect(stringifyLossless(tree)).toBe(expected);
    expect(tree).toEqual(parseWithSourceText(text));
  });

  it.each(INVALID_JSON)('refuses %j', (text) => {
    expect(() => parse(text)).toThrow(SyntaxError);
  });

  it('keeps short numbers plain and the rest as their text', () => {
    expect(parse('[7,0.5,-3,1.0,9007199254740993]')).toEqual([
      7,
      0.5,
      -3,
      new LosslessNumber('1.0'),
      new LosslessNumber('9007199254740993'),
    ]);
  });

  it('keeps __proto__ as an own key, never as the prototype', () => {
    const tree = parse('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(tree)).toBe(Object.prototype);
    expect(Object.keys(tree)).toEqual(['__proto__']);
    expect((tree as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

/** One message per wire format carrying the numeral `n` as column `c`, and where it ends up. */
const DECODERS: [string, (n: string) => string][] = [
  [
    'Debezium with schema',
    (n) =>
      `{"schema":{"type":"struct","fields":[{"type":"struct","field":"after","fields":[{"type":"double","optional":true,"field":"c"}]}]},` +
      `"payload":{"op":"c","source":{"db":"a","table":"b","ts_ms":1700000000000},"before":null,"after":{"c":${n}},"ts_ms":1700000000005}}`,
  ],
  [
    'Debezium without schema',
    (n) =>
      `{"op":"c","source":{"db":"a","table":"b","ts_ms":1700000000000},"before":null,"after":{"c":${n}}}`,
  ],
  [
    'Canal',
    (n) =>
      `{"data":[{"c":${n}}],"database":"a","table":"b","es":1700000000000,"isDdl":false,"type":"INSERT",` +
      `"mysqlType":{"c":"decimal(30,20)"},"sqlType":{"c":3}}`,
  ],
  [
    'Maxwell',
    (n) => `{"database":"a","table":"b","type":"insert","ts":1700000000,"xid":1,"data":{"c":${n}}}`,
  ],
];

describe.each(DECODERS)('%s keeps every number as sent', (_format, message) => {
  it.each(NUMBER_TEXTS)('%s', (n) => {
    const [ev] = decodeRecord(message(n), pos, 'auto');
    expect(ev).toMatchObject({
      kind: 'insert',
      after: { c: { value: { kind: 'number', text: n } } },
      position: { eventTimeMs: 1_700_000_000_000 },
    });
  });
});

describe('number metadata read through jsonNumber', () => {
  it('keeps the Canal sqlType hint and the Debezium Connect type', () => {
    const [canal] = decodeRecord(DECODERS[2]?.[1]('1') ?? '', pos, 'auto');
    expect(canal).toMatchObject({ after: { c: { hint: { format: 'canal', sqlType: 3 } } } });
    const [dbz] = decodeRecord(DECODERS[0]?.[1]('1') ?? '', pos, 'auto');
    expect(dbz).toMatchObject({ after: { c: { hint: { format: 'debezium', connectType: 'double' } } } });
  });

  it('ignores a commit time that is not a finite number', () => {
    const [ev] = decodeRecord(
      '{"database":"a","table":"b","type":"insert","ts":1e400,"data":{"c":1}}',
      pos,
      'auto',
    );
    expect(ev?.position.eventTimeMs).toBeUndefined();
  });
});

it('Maxwell: an embedded JSON object keeps its number texts', () => {
  const [ev] = decodeRecord(
    '{"database":"a","table":"b","type":"insert","ts":1700000000,"data":{"j":{"a":1.0,"b":[1e400,0.10]},"k":[-0,1E+2]}}',
    pos,
    'maxwell',
  );
  expect(ev).toMatchObject({
    after: {
      j: { value: { kind: 'json', text: '{"a":1.0,"b":[1e400,0.10]}' } },
      k: { value: { kind: 'json', text: '[-0,1E+2]' } },
    },
  });
});

function col(dataType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo {
  return {
    name: 'c',
    dataType,
    columnType: dataType,
    unsigned: false,
    nullable: true,
    precision: null,
    scale: null,
    datetimePrecision: null,
    charset: null,
    collation: null,
    autoIncrement: false,
    generated: false,
    ...extra,
  };
}
const num = (text: string): WireField => ({ value: { kind: 'number', text } });
const str = (text: string, name?: string, parameters?: Record<string, string>): WireField => ({
  value: { kind: 'string', text },
  ...(name
    ? { hint: { format: 'debezium', connectType: 'string', name, ...(parameters ? { parameters } : {}) } }
    : {}),
});

describe('coerceValue', () => {
  it.each<[string, WireField, ColumnInfo, SourceFormat, string | Buffer | null]>([
    [
      'BIGINT UNSIGNED max from Debezium long mode',
      num('-1'),
      col('bigint', { unsigned: true }),
      'debezium',
      '18446744073709551615',
    ],
    ['BIGINT signed min', num('-9223372036854775808'), col('bigint'), 'debezium', '-9223372036854775808'],
    [
      'DECIMAL(65,30) from Connect Decimal bytes',
      str('gA==', 'org.apache.kafka.connect.data.Decimal', { scale: '30' }),
      col('decimal', { scale: 30 }),
      'debezium',
      '-0.000000000000000000000000000128',
    ],
    ['DECIMAL from string mode', str('12.50'), col('decimal', { scale: 2 }), 'debezium', '12.50'],
    ['DECIMAL without schema (base64)', str('BNI='), col('decimal', { scale: 2 }), 'debezium', '12.34'],
    ['DATE from epoch days', num('19782'), col('date'), 'debezium', '2024-02-29'],
    ['DATE before 1970', num('-719528'), col('date'), 'debezium', '0000-01-01'],
    [
      'DATETIME(3) from ms',
      num('1709210096789'),
      col('datetime', { datetimePrecision: 3 }),
      'debezium',
      '2024-02-29 12:34:56.789',
    ],
    [
      'DATETIME(6) from µs',
      num('1'),
      col('datetime', { datetimePrecision: 6 }),
      'debezium',
      '1970-01-01 00:00:00.000001',
    ],
    [
      'TIMESTAMP(6) from ZonedTimestamp',
      str('2038-01-19T03:14:07.999999Z', 'io.debezium.time.ZonedTimestamp'),
      col('timestamp', { datetimePrecision: 6 }),
      'debezium',
      '2038-01-19 03:14:07.999999',
    ],
    [
      'TIMESTAMP from an offset',
      str('2024-01-01T02:00:00+02:00'),
      col('timestamp', { datetimePrecision: 0 }),
      'debezium',
      '2024-01-01 00:00:00',
    ],
    [
      'negative TIME(6) from MicroTime',
      num('-3020399000000'),
      col('time', { datetimePrecision: 6 }),
      'debezium',
      '-838:59:59.000000',
    ],
    ['tiny negative TIME', num('-1'), col('time', { datetimePrecision: 6 }), 'debezium', '-00:00:00.000001'],
    [
      'BIT(64) from little-endian Bits',
      str('AQAAAAAAAIA=', 'io.debezium.data.Bits'),
      col('bit', { precision: 64 }),
      'debezium',
      Buffer.from('8000000000000001', 'hex'),
    ],
    [
      'BIT(1) from boolean',
      { value: { kind: 'boolean', value: true } },
      col('bit', { precision: 1 }),
      'debezium',
      Buffer.from([1]),
    ],
    [
      'BIT(12) from a Canal integer',
      str('4095'),
      col('bit', { precision: 12 }),
      'canal',
      Buffer.from('0fff', 'hex'),
    ],
    ['bytes with NUL from base64', str('AAEA'), col('varbinary'), 'debezium', Buffer.from([0, 1, 0])],
    ['bytes from Canal latin1', str('\u0000\u00ff'), col('blob'), 'canal', Buffer.from([0, 255])],
    ['zero date passes through', str('0000-00-00 00:00:00'), col('datetime'), 'canal', '0000-00-00 00:00:00'],
    ['Maxwell SET array', { value: { kind: 'json', text: '["a","c"]' } }, col('set'), 'maxwell', 'a,c'],
    [
      'Maxwell WKT point',
      str('POINT(1 2)'),
      col('point'),
      'maxwell',
      Buffer.from('000000000101000000000000000000f03f0000000000000040', 'hex'),
    ],
    [
      'Debezium geometry struct',
      { value: { kind: 'json', text: '{"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":4326}' } },
      col('geometry'),
      'debezium',
      Buffer.from('e61000000101000000000000000000f03f0000000000000040', 'hex'),
    ],
    ['NULL', { value: { kind: 'null' } }, col('int'), 'maxwell', null],
    ['DECIMAL 1.0 as sent', num('1.0'), col('decimal', { scale: 20 }), 'maxwell', '1.0'],
    ['DECIMAL 0.0000001 as sent', num('0.0000001'), col('decimal', { scale: 20 }), 'maxwell', '0.0000001'],
    ['DOUBLE -0 as sent', num('-0'), col('double'), 'maxwell', '-0'],
    [
      'VariableScaleDecimal',
      {
        value: { kind: 'json', text: '{"scale":2,"value":"BNI="}' },
        hint: { format: 'debezium', connectType: 'struct', name: 'io.debezium.data.VariableScaleDecimal' },
      },
      col('decimal'),
      'debezium',
      '12.34',
    ],
    [
      'Maxwell JSON object, numbers as sent',
      { value: { kind: 'json', text: '{"a":1.0,"b":[1e400,0.10]}' } },
      col('json'),
      'maxwell',
      '{"a":1.0,"b":[1e400,0.10]}',
    ],
  ])('%s', (_what, field, column, format, expected) => {
    expect(coerceValue(field, column, format)).toEqual(expected);
  });

  it.each<[string, WireField, ColumnInfo]>([
    ['text into an integer column', str('abc'), col('int')],
    ['a float into an integer column', num('1.5'), col('int')],
    ['garbage into a decimal column', str('12,5'), col('decimal', { scale: 1 })],
    ['non-base64 bytes', str('not base64!'), col('varbinary')],
    ['a negative BIT', num('-1'), col('bit', { precision: 8 })],
    [
      'a VariableScaleDecimal with a fractional scale',
      { value: { kind: 'json', text: '{"scale":1.5,"value":"BNI="}' } },
      col('decimal'),
    ],
  ])('rejects %s naming the column', (_what, field, column) => {
    expect(() => coerceValue(field, column, 'maxwell')).toThrow(/column c/);
  });
});

describe('YEAR travels as four digits', () => {
  it.each<[string, WireField, SourceFormat, string]>([
    ['Canal "0000"', str('0000'), 'canal', '0000'],
    ['Maxwell 0', num('0'), 'maxwell', '0000'],
    ['Debezium 0', num('0'), 'debezium', '0000'],
    ['Maxwell -0', num('-0'), 'maxwell', '0000'],
    ['Canal "1901"', str('1901'), 'canal', '1901'],
    ['Maxwell 2155', num('2155'), 'maxwell', '2155'],
    ['Debezium 2024', num('2024'), 'debezium', '2024'],
  ])('%s', (_what, field, format, expected) => {
    expect(coerceValue(field, col('year'), format)).toBe(expected);
  });

  it.each<[string, WireField]>([
    ['69', num('69')],
    ['1900', num('1900')],
    ['2156', num('2156')],
    ['-1', num('-1')],
    ['1e3', num('1e3')],
    ['2024.0', num('2024.0')],
  ])('refuses %s naming the column', (_what, field) => {
    expect(() => coerceValue(field, col('year', { name: 'made_in' }), 'maxwell')).toThrow(ValueError);
    expect(() => coerceValue(field, col('year', { name: 'made_in' }), 'maxwell')).toThrow(/column made_in/);
  });
});
