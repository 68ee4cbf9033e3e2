import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './jobs';

describe('job cursors', () => {
  it('keep bytes as bytes, text as text and NULL as NULL', () => {
    const cursor = {
      id: Buffer.from([0, 0xff, 0x10]),
      name: 'x "y" {"$hex":"00"}',
      n: null,
      big: '18446744073709551615',
    };
    const text = encodeCursor(cursor);
    expect(decodeCursor(text)).toEqual(cursor);
    expect(Buffer.isBuffer(decodeCursor(text)?.id)).toBe(true);
    expect(encodeCursor(null)).toBeNull();
    expect(decodeCursor(null)).toBeNull();
  });

  it('read cursors an earlier release stored ({"hex": …})', () => {
    expect(decodeCursor('{"id":{"hex":"00ff"},"v":"a"}')).toEqual({ id: Buffer.from([0, 0xff]), v: 'a' });
  });
});
