/**
 * Geometry values travel as MySQL's internal format: a 4-byte little-endian SRID, then WKB.
 * Debezium sends `{wkb, srid}`; Maxwell sends WKT, which is turned into WKB here.
 */
import { ValueError } from './errors';

export function internalGeometry(srid: number, wkb: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(srid >>> 0);
  return Buffer.concat([head, wkb]);
}

const TYPES: Record<string, number> = {
  POINT: 1,
  LINESTRING: 2,
  POLYGON: 3,
  MULTIPOINT: 4,
  MULTILINESTRING: 5,
  MULTIPOLYGON: 6,
  GEOMETRYCOLLECTION: 7,
};

class WktReader {
  private i = 0;
  constructor(private readonly s: string) {}

  private skip(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i] as string)) this.i++;
  }
  private expect(ch: string): void {
    this.skip();
    if (this.s[this.i] !== ch) throw new ValueError(`WKT: expected "${ch}" at ${this.i}`);
    this.i++;
  }
  private peek(): string | undefined {
    this.skip();
    return this.s[this.i];
  }
  private word(): string {
    this.skip();
    const m = /^[A-Za-z]+/.exec(this.s.slice(this.i));
    if (!m) throw new ValueError(`WKT: expected a geometry type at ${this.i}`);
    this.i += m[0].length;
    return m[0].toUpperCase();
  }
  private num(): number {
    this.skip();
    const m = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(this.s.slice(this.i));
    if (!m) throw new ValueError(`WKT: expected a number at ${this.i}`);
    this.i += m[0].length;
    return Number(m[0]);
  }
  private point(): Buffer {
    const b = Buffer.alloc(16);
    b.writeDoubleLE(this.num(), 0);
    b.writeDoubleLE(this.num(), 8);
    return b;
  }
  /** `(a, b, c)` of items read by `item`, with the count in front as WKB wants. */
  private list(item: () => Buffer): Buffer {
    this.expect('(');
    const parts = [item()];
    while (this.peek() === ',') {
      this.i++;
      parts.push(item());
    }
    this.expect(')');
    const count = Buffer.alloc(4);
    count.writeUInt32LE(parts.length);
    return Buffer.concat([count, ...parts]);
  }
  private header(type: string): Buffer {
    const code = TYPES[type];
    if (!code) throw new ValueError(`WKT: unknown geometry type ${type}`);
    const b = Buffer.alloc(5);
    b.writeUInt8(1, 0);
    b.writeUInt32LE(code, 1);
    return b;
  }
  geometry(): Buffer {
    const type = this.word();
    const head = this.header(type);
    const ring = () => this.list(() => this.point());
    switch (type) {
      case 'POINT': {
        this.expect('(');
        const p = this.point();
        this.expect(')');
        return Buffer.concat([head, p]);
      }
      case 'LINESTRING':
        return Buffer.concat([head, ring()]);
      case 'POLYGON':
        return Buffer.concat([head, this.list(ring)]);
      case 'MULTIPOINT':
        return Buffer.concat([
          head,
          this.list(() => {
            const bare = this.peek() !== '(';
            if (!bare) this.expect('(');
            const p = Buffer.concat([this.header('POINT'), this.point()]);
            if (!bare) this.expect(')');
            return p;
          }),
        ]);
      case 'MULTILINESTRING':
        return Buffer.concat([head, this.list(() => Buffer.concat([this.header('LINESTRING'), ring()]))]);
      case 'MULTIPOLYGON':
        return Buffer.concat([
          head,
          this.list(() => Buffer.concat([this.header('POLYGON'), this.list(ring)])),
        ]);
      default:
        return Buffer.concat([head, this.list(() => this.geometry())]);
    }
  }
}

export function wktToWkb(wkt: string): Buffer {
  return new WktReader(wkt).geometry();
}

/** WKB → WKT, for test producers that must speak like Maxwell. Numbers in shortest round-trip form. */
export function wkbToWkt(wkb: Buffer): string {
  let o = 0;
  const u32 = () => {
    const v = wkb.readUInt32LE(o);
    o += 4;
    return v;
  };
  const f64 = () => {
    const v = wkb.readDoubleLE(o);
    o += 8;
    return v;
  };
  const pt = () => `${f64()} ${f64()}`;
  const seq = (item: () => string) => {
    const n = u32();
    return `(${Array.from({ length: n }, item).join(',')})`;
  };
  const geom = (): string => {
    o += 1; // byte order: always little-endian from MySQL/MariaDB
    const type = u32();
    const name = Object.keys(TYPES).find((k) => TYPES[k] === type) ?? 'GEOMETRY';
    const ring = () => seq(pt);
    switch (type) {
      case 1:
        return `POINT(${pt()})`;
      case 2:
        return `LINESTRING${ring()}`;
      case 3:
        return `POLYGON${seq(ring)}`;
      case 4:
        return `MULTIPOINT${seq(() => geom().replace(/^POINT/, ''))}`;
      case 5:
        return `MULTILINESTRING${seq(() => geom().replace(/^LINESTRING/, ''))}`;
      case 6:
        return `MULTIPOLYGON${seq(() => geom().replace(/^POLYGON/, ''))}`;
      default:
        return `${name}${seq(geom)}`;
    }
  };
  return geom();
}
