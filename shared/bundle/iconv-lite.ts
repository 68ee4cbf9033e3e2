/**
 * Stands in for `iconv-lite` in the Lambda bundles (serverless/esbuild.cjs aliases it here): mysql2 asks
 * it only for charsets Node's Buffer lacks, and our sessions send and receive utf8mb4, so it is all but
 * unused, while the real package is ~480 KB of code tables, a fifth of a bundle. Decoding goes through
 * the runtime's WHATWG TextDecoder (full ICU on Lambda); encoding to anything but UTF-8 is refused
 * with a clear error instead of sending garbled text. iconv-lite.test.ts checks it against the real one.
 */

/** mysql2's encoding names (lib/constants/charset_encodings.js) → WHATWG labels, where they differ. */
const LABELS: Record<string, string> = {
  // mysql2's name for utf8mb3 (information_schema's charset): CESU-8 and UTF-8 agree on the Basic
  // Multilingual Plane, and utf8mb3 holds nothing beyond it.
  cesu8: 'utf-8',
  cp932: 'shift_jis',
  sjis: 'shift_jis',
  eucjp: 'euc-jp',
  eucjpms: 'euc-jp',
  euckr: 'euc-kr',
  koi8r: 'koi8-r',
  koi8u: 'koi8-u',
  gb2312: 'gbk',
  greek: 'iso-8859-7',
  hebrew: 'iso-8859-8',
  latin2: 'iso-8859-2',
  latin7: 'iso-8859-13',
  tis620: 'windows-874',
  cp866: 'ibm866',
  macroman: 'macintosh',
  ucs2: 'utf-16be',
  utf16: 'utf-16be',
  'utf16-le': 'utf-16le',
};

export interface Decoder {
  write(bytes: Uint8Array): string;
  end(): string | undefined;
}

export interface Encoder {
  write(text: string): Buffer;
  end(): Buffer | undefined;
}

const unsupported = (encoding: string, what: string) =>
  new Error(`cannot ${what} text in charset ${encoding}: cdc-mirror's sessions use utf8mb4`);

/** windows-1252's 0x80–0x9F (Node 20's TextDecoder reads that label as ISO-8859-1; '\ufffd' unassigned). */
const CP1252_HIGH = '€\ufffd‚ƒ„…†‡ˆ‰Š‹Œ\ufffdŽ\ufffd\ufffd‘’“”•–—˜™š›œ\ufffdžŸ';

type TextDecoderLike = { decode(bytes?: Uint8Array, options?: { stream?: boolean }): string };

function textDecoder(encoding: string): TextDecoderLike {
  const label = LABELS[encoding.toLowerCase()] ?? encoding;
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(label);
  } catch {
    throw unsupported(encoding, 'decode');
  }
  if (decoder.encoding !== 'windows-1252') return decoder;
  // A single-byte charset: no state to stream.
  return {
    decode: (bytes?: Uint8Array) =>
      bytes === undefined
        ? ''
        : Buffer.from(bytes)
            .toString('latin1')
            .replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80] as string),
  };
}

export function getDecoder(encoding: string): Decoder {
  const decoder = textDecoder(encoding);
  return {
    write: (bytes) => decoder.decode(bytes, { stream: true }),
    end: () => decoder.decode() || undefined,
  };
}

export function getEncoder(encoding: string): Encoder {
  if (!/^utf-?8$/i.test(encoding)) throw unsupported(encoding, 'encode');
  return { write: (text) => Buffer.from(text, 'utf8'), end: () => undefined };
}

export function decode(bytes: Uint8Array, encoding: string): string {
  return textDecoder(encoding).decode(bytes);
}

export function encode(text: string, encoding: string): Buffer {
  return getEncoder(encoding).write(text);
}

export function encodingExists(encoding: string): boolean {
  try {
    textDecoder(encoding);
    return true;
  } catch {
    return false;
  }
}
