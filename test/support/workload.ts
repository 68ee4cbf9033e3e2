import type { Connection } from 'mysql2/promise';
import { encodeCanal, encodeDebezium, encodeMaxwell } from '../../dev/encode';
import { introspectTable } from '../../shared/schema/introspect';
import type { ColumnInfo, SqlValue } from '../../shared/types';
import { readOnlyQuerier } from './raw-connection';

type Row = Record<string, SqlValue>;

/** A small seeded PRNG (mulberry32): the same seed gives the same workload. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const WORKLOAD_TABLES = {
  kv: `(id INT NOT NULL PRIMARY KEY, uk VARCHAR(16) NOT NULL, n BIGINT UNSIGNED, note VARCHAR(64), UNIQUE KEY uk_kv (uk)) DEFAULT CHARSET=utf8mb4`,
  mixed: `(a INT NOT NULL, b VARCHAR(8) NOT NULL, d DECIMAL(30,10), t DATETIME(6), bin VARBINARY(16), js JSON,
    bits BIT(12), tm TIME(3), f DOUBLE, e ENUM('x','y','z'), PRIMARY KEY (a, b)) DEFAULT CHARSET=utf8mb4`,
};

export type WireFormat = 'debezium' | 'debezium-noschema' | 'canal' | 'maxwell';

/**
 * Runs a random workload on the online server one statement at a time and captures each row change
 * as the message a CDC tool would put on Kafka, in commit order: the before image is read just
 * before the statement, the after image just after. Single-threaded, so the order is the binlog's.
 */
export class CapturingWorkload {
  readonly messages: string[] = [];
  private columns = new Map<string, ColumnInfo[]>();
  private nextId = 1;

  constructor(
    private readonly online: Connection,
    readonly schema: string,
    private readonly random: () => number,
    private readonly formats: WireFormat[] = ['debezium'],
  ) {}

  async setup(): Promise<void> {
    await this.online.query(`CREATE DATABASE IF NOT EXISTS \`${this.schema}\` CHARACTER SET utf8mb4`);
    for (const [name, ddl] of Object.entries(WORKLOAD_TABLES)) {
      await this.online.query(`CREATE TABLE \`${this.schema}\`.${name} ${ddl}`);
      this.columns.set(
        name,
        (await introspectTable(readOnlyQuerier(this.online), { schema: this.schema, table: name })).columns,
      );
    }
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  private int(max: number): number {
    return Math.floor(this.random() * max);
  }

  private async rows(table: string, where: string, params: SqlValue[]): Promise<Row[]> {
    const [rows] = await this.online.query(
      `SELECT * FROM \`${this.schema}\`.${table} WHERE ${where}`,
      params,
    );
    return rows as Row[];
  }

  /**
   * False when the change messages come from the binlog instead (dev/capture.ts pushes them into
   * `messages`): the workload then only changes rows.
   */
  emitMessages = true;

  private emit(table: string, op: 'c' | 'u' | 'd', before: Row | undefined, after: Row | undefined): void {
    if (!this.emitMessages) return;
    const columns = this.columns.get(table) as ColumnInfo[];
    const format = this.pick(this.formats);
    const db = this.schema;
    const pkNames = table === 'kv' ? ['id'] : ['a', 'b'];
    if (format === 'debezium' || format === 'debezium-noschema') {
      this.messages.push(
        encodeDebezium({
          op,
          db,
          table,
          columns,
          ...(before ? { before } : {}),
          ...(after ? { after } : {}),
          withSchema: format === 'debezium',
        }),
      );
      return;
    }
    const row = (op === 'd' ? before : after) as Row;
    const old: Row = {};
    if (op === 'u' && before) {
      for (const [k, v] of Object.entries(before)) {
        const a = row[k];
        const same = Buffer.isBuffer(v) && Buffer.isBuffer(a) ? v.equals(a) : v === a;
        if (!same) old[k] = v;
      }
    }
    if (format === 'canal') {
      const type = op === 'c' ? 'INSERT' : op === 'u' ? 'UPDATE' : 'DELETE';
      this.messages.push(
        encodeCanal({
          type,
          db,
          table,
          columns,
          pkNames,
          rows: [row],
          ...(op === 'u' ? { old: [old] } : {}),
        }),
      );
    } else {
      const type = op === 'c' ? 'insert' : op === 'u' ? 'update' : 'delete';
      this.messages.push(
        encodeMaxwell({ type, db, table, columns, data: row, ...(op === 'u' ? { old } : {}) }),
      );
    }
  }

  /** Runs one statement that changes at most one row, capturing its change. */
  private async change(
    table: string,
    key: string,
    keyParams: SqlValue[],
    sql: string,
    params: SqlValue[],
    newKey?: SqlValue[],
  ) {
    const [before] = await this.rows(table, key, keyParams);
    try {
      await this.online.query(sql, params);
    } catch (err) {
      // A random statement may break a unique key online too: then nothing happened, nothing to capture.
      if ((err as { errno?: number }).errno === 1062) return;
      throw err;
    }
    const [after] = await this.rows(table, key, newKey ?? keyParams);
    if (!before && after) this.emit(table, 'c', undefined, after);
    else if (before && !after && !newKey) this.emit(table, 'd', before, undefined);
    else if (before && after) {
      if (newKey) {
        // A primary-key change: Debezium sends a delete of the old key, then a create of the new.
        this.emit(table, 'd', before, undefined);
        this.emit(table, 'c', undefined, after);
      } else this.emit(table, 'u', before, after);
    }
  }

  private randomMixedValues(): SqlValue[] {
    const bytes = Buffer.from(Array.from({ length: this.int(8) }, () => this.int(256)));
    return [
      `${this.int(2) ? '-' : ''}${this.int(1e9)}.${String(this.int(1e10)).padStart(10, '0')}`,
      `20${10 + this.int(20)}-0${1 + this.int(9)}-1${this.int(10)} 0${this.int(10)}:1${this.int(10)}:2${this.int(10)}.${String(this.int(1e6)).padStart(6, '0')}`,
      bytes,
      JSON.stringify({ k: this.int(1000), s: this.pick(['a', 'é', '😀', '"q"', '\\']) }),
      // BIT takes bytes: a string would be read as characters.
      Buffer.from([this.int(16), this.int(256)]),
      `${this.int(2) ? '-' : ''}${this.int(838)}:${String(this.int(60)).padStart(2, '0')}:${String(this.int(60)).padStart(2, '0')}.${this.int(1000)}`,
      String(this.random() * 1e6 - 5e5),
      this.pick(['x', 'y', 'z']),
    ];
  }

  async step(): Promise<void> {
    const s = this.schema;
    const r = this.random();
    const kvId = () => String(1 + this.int(Math.max(1, this.nextId)));
    if (r < 0.25) {
      const id = String(this.nextId++);
      await this.change('kv', 'id = ?', [id], `INSERT INTO \`${s}\`.kv VALUES (?, ?, ?, ?)`, [
        id,
        `u${this.int(60)}`,
        this.pick(['18446744073709551615', String(this.int(1e6)), null]),
        this.pick(['note', 'émoji 😀', "it's", null]),
      ]);
    } else if (r < 0.4) {
      const id = kvId();
      await this.change('kv', 'id = ?', [id], `UPDATE \`${s}\`.kv SET n = ?, note = ? WHERE id = ?`, [
        String(this.int(1e9)),
        `v${this.int(100)}`,
        id,
      ]);
    } else if (r < 0.5) {
      // Swap two rows' unique values through a temporary value, as an application would.
      const [a, b] = [kvId(), kvId()];
      const [ra] = await this.rows('kv', 'id = ?', [a]);
      const [rb] = await this.rows('kv', 'id = ?', [b]);
      if (!ra || !rb || a === b) return;
      const tmp = `t${this.nextId}x${this.int(1e6)}`;
      await this.change('kv', 'id = ?', [a], `UPDATE \`${s}\`.kv SET uk = ? WHERE id = ?`, [tmp, a]);
      await this.change('kv', 'id = ?', [b], `UPDATE \`${s}\`.kv SET uk = ? WHERE id = ?`, [
        ra.uk as string,
        b,
      ]);
      await this.change('kv', 'id = ?', [a], `UPDATE \`${s}\`.kv SET uk = ? WHERE id = ?`, [
        rb.uk as string,
        a,
      ]);
    } else if (r < 0.6) {
      const id = kvId();
      await this.change('kv', 'id = ?', [id], `DELETE FROM \`${s}\`.kv WHERE id = ?`, [id]);
    } else if (r < 0.67) {
      const id = kvId();
      const to = String(this.nextId++);
      await this.change('kv', 'id = ?', [id], `UPDATE \`${s}\`.kv SET id = ? WHERE id = ?`, [to, id], [to]);
    } else if (r < 0.82) {
      const a = String(this.int(40));
      const b = this.pick(['k1', 'k2', 'K3']);
      const [exists] = await this.rows('mixed', 'a = ? AND b = ?', [a, b]);
      const values = this.randomMixedValues();
      if (exists) {
        await this.change(
          'mixed',
          'a = ? AND b = ?',
          [a, b],
          `UPDATE \`${s}\`.mixed SET d = ?, t = ?, bin = ?, js = ?, bits = ?, tm = ?, f = ?, e = ? WHERE a = ? AND b = ?`,
          [...values, a, b],
        );
      } else {
        await this.change(
          'mixed',
          'a = ? AND b = ?',
          [a, b],
          `INSERT INTO \`${s}\`.mixed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [a, b, ...values],
        );
      }
    } else if (r < 0.9) {
      const a = String(this.int(40));
      const b = this.pick(['k1', 'k2', 'K3']);
      await this.change(
        'mixed',
        'a = ? AND b = ?',
        [a, b],
        `DELETE FROM \`${s}\`.mixed WHERE a = ? AND b = ?`,
        [a, b],
      );
    } else {
      const a = String(this.int(40));
      const b = this.pick(['k1', 'k2', 'K3']);
      const nb = this.pick(['k4', 'k5']);
      await this.change(
        'mixed',
        'a = ? AND b = ?',
        [a, b],
        `UPDATE \`${s}\`.mixed SET b = ? WHERE a = ? AND b = ?`,
        [nb, a, b],
        [a, nb],
      );
    }
  }
}

const text = (cols: string[]) =>
  cols
    .map((c) =>
      c.startsWith('HEX:') ? `IFNULL(HEX(${c.slice(4)}), 'N')` : `IFNULL(CAST(${c} AS CHAR), 'N')`,
    )
    .join(', ');
const ROW_TEXT = {
  kv: text(['id', 'HEX:uk', 'n', 'HEX:note']),
  mixed: text(['a', 'HEX:b', 'd', 't', 'HEX:bin', 'HEX:js', 'HEX:bits', 'tm', 'f', 'e']),
};

/** Per-table checksums: CHECKSUM TABLE plus an order-independent hash of every row's exact bytes. */
export async function tableChecksums(conn: Connection, schema: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const table of Object.keys(WORKLOAD_TABLES)) {
    const [[sum]] = (await conn.query(`CHECKSUM TABLE \`${schema}\`.${table} EXTENDED`)) as unknown as [
      [{ Checksum: string }],
    ];
    const [[rows]] = (await conn.query(
      `SELECT COUNT(*) AS n, COALESCE(SUM(CRC32(CONCAT_WS('|', ${ROW_TEXT[table as keyof typeof ROW_TEXT]}))), 0) AS h FROM \`${schema}\`.${table}`,
    )) as unknown as [[{ n: string; h: string }]];
    out[table] = { checksum: sum.Checksum, rows: rows.n, rowHash: rows.h };
  }
  return out;
}
