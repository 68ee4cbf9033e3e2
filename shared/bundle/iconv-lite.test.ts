import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import * as shim from './iconv-lite';

/** Text in each charset mysql2 might decode, with the real iconv-lite's encoding of it as the input. */
const SAMPLES: [string, string][] = [
  ['cp1252', 'café – “quoted” €'],
  ['cp1250', 'Žluťoučký kůň'],
  ['cp1251', 'Привет, мир'],
  ['cp1256', 'مرحبا'],
  ['gbk', '配置项 审批模板'],
  ['gb18030', '配置项 𠀀'],
  ['big5', '設定 審批'],
  ['sjis', '設定テーブル'],
  ['cp932', '設定テーブル'],
  ['eucjp', '設定テーブル'],
  ['euckr', '설정 테이블'],
  ['koi8r', 'Привет'],
  ['latin2', 'Zażółć gęślą jaźń'],
  ['greek', 'Καλημέρα'],
  ['ucs2', 'plain and Ω'],
  ['utf16', 'utf16 😀'],
  ['utf16-le', 'le 😀'],
  ['cesu8', 'information_schema: 配置 é'],
];

describe('iconv-lite stand-in (bundles only)', () => {
  it.each(SAMPLES)('decodes %s as iconv-lite does', (encoding, text) => {
    const bytes = iconv.encode(text, encoding === 'ucs2' || encoding === 'utf16' ? 'utf16-be' : encoding);
    const decoder = shim.getDecoder(encoding);
    const half = Math.floor(bytes.length / 2);
    // Split mid-character on purpose: the decoder streams like iconv-lite's.
    const streamed =
      decoder.write(bytes.subarray(0, half)) + decoder.write(bytes.subarray(half)) + (decoder.end() ?? '');
    expect(streamed).toBe(text);
    expect(shim.decode(bytes, encoding)).toBe(text);
  });

  it('refuses what it cannot do, naming the charset, instead of garbling text', () => {
    expect(() => shim.getDecoder('utf32')).toThrow(/charset utf32/);
    expect(() => shim.getEncoder('gbk')).toThrow(/cannot encode text in charset gbk/);
    expect(shim.encode('é', 'utf8')).toEqual(Buffer.from('é'));
    expect(shim.encodingExists('gbk')).toBe(true);
    expect(shim.encodingExists('swe7')).toBe(false);
  });
});
