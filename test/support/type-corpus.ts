/**
 * A table with every MySQL column type the product promises to carry exactly, and rows that poke
 * at each type's edges. Rows are written on the online server as SQL literals, the way a user's
 * application would, then read back and delivered in each wire format.
 */
export const TYPE_TABLE_COLUMNS = `
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  d DECIMAL(65,30), d2 DECIMAL(10,2) UNSIGNED, f FLOAT, dbl DOUBLE,
  b1 BIT(1), b64 BIT(64), b5 BIT(5),
  dt DATE, dtm0 DATETIME, dtm3 DATETIME(3), dtm6 DATETIME(6), ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  tm6 TIME(6), tm0 TIME, yr YEAR,
  c CHAR(10), vc VARCHAR(255), tx TEXT,
  bin BINARY(4), vb VARBINARY(64), bl BLOB,
  js JSON, en ENUM('small','medium','large'), st SET('a','b','c'),
  geo GEOMETRY, pt POINT,
  uk VARCHAR(32) NULL, UNIQUE KEY uk_uk (uk)
`;

/** Column list for INSERT statements below, in table order. */
const COLS =
  'id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, d, d2, f, dbl, b1, b64, b5, dt, dtm0, dtm3, dtm6, ts6, tm6, tm0, yr, c, vc, tx, bin, vb, bl, js, en, st, geo, pt, uk';

/** VALUES tuples (SQL literals, as an application would write them). */
export const TYPE_ROWS: { id: string; values: string }[] = [
  {
    id: '1',
    values: `1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
      -9223372036854775808, 18446744073709551615,
      '-12345678901234567890123456789012345.123456789012345678901234567890', 99999999.99,
      3.40282e38, 1.7976931348623157e308,
      b'1', b'1111111111111111111111111111111111111111111111111111111111111111', b'10101',
      '1000-01-01', '9999-12-31 23:59:59', '2024-02-29 12:34:56.789', '1970-01-01 00:00:00.000001',
      '2038-01-19 03:14:07.999999', '-838:59:59.000000', '838:59:59', 2155,
      'abc', 'emoji 😀 and "quotes" \\'single\\' back\\\\slash', 'line1\\nline2\\ttab',
      X'00010200', X'00FF00275C', X'0000000000',
      '{"a": [1, 2.5, "x"], "big": 12345678901234567890, "nested": {"k": null}}', 'large', 'a,c',
      ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))'), ST_GeomFromText('POINT(1.5 -2.25)'), 'u1'`,
  },
  {
    id: '2',
    values: `2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      '0.000000000000000000000000000001', 0.00, -1.5, 0.1,
      b'0', b'0', b'0',
      '0000-00-00', '0000-00-00 00:00:00', '2000-01-01 00:00:00.000', '2000-01-01 00:00:00.500000',
      '1970-01-01 00:00:01.000000', '-00:00:00.000001', '00:00:00', 1901,
      '', '', '',
      X'00000000', X'', X'',
      '[]', 'small', '',
      ST_GeomFromText('LINESTRING(0 0,1 1,2 1)'), ST_GeomFromText('POINT(0 0)'), 'u2'`,
  },
  {
    id: '18446744073709551615',
    values: `18446744073709551615, 127, NULL, NULL, NULL, NULL, NULL, 2147483647, NULL, 9223372036854775807, 9223372036854775808,
      '99999999999999999999999999999999999.999999999999999999999999999999', NULL, NULL, -2.2250738585072014e-308,
      NULL, b'1000000000000000000000000000000000000000000000000000000000000001', NULL,
      NULL, NULL, NULL, '2024-06-30 23:59:59.999999', NULL, '123:45:06.5', '-01:02:03', NULL,
      NULL, 'NUL \\0 inside', NULL,
      NULL, X'5C00275C22', X'FFFEFDFC00',
      NULL, NULL, NULL,
      NULL, NULL, NULL`,
  },
];

export function insertTypeRowsSql(table: string): string {
  return TYPE_ROWS.map((r) => `INSERT INTO ${table} (${COLS}) VALUES (${r.values});`).join('\n');
}

/**
 * Renders every column as text that is equal only when the stored values are: numbers and temporal
 * values as the server's exact text (FLOAT widened to DOUBLE first, which is exact), everything
 * byte-like (strings, binary, BIT, JSON, geometry) as HEX of its bytes.
 */
function exactExpression(col: string): string {
  if (col === 'f') return `CAST(CAST(f AS DOUBLE) AS CHAR) AS f`;
  if (/^(id|ti|tiu|si|siu|mi|miu|i|iu|bi|biu|d|d2|dbl|dt|dtm0|dtm3|dtm6|ts6|tm6|tm0|yr)$/.test(col)) {
    return `CAST(${col} AS CHAR) AS ${col}`;
  }
  return `HEX(${col}) AS ${col}`;
}
export const EXACT_COLUMNS_SQL = COLS.split(', ').map(exactExpression).join(', ');
