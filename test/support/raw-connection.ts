import mysql from 'mysql2/promise';
import { exactTypeCast, type Querier, type Row, SESSION_SQL_MODE } from '../../shared/db/connection';
import type { SqlValue } from '../../shared/types';

/** A plain connection for arranging and asserting, reading values exactly as the product does. */
export async function rawConnection(url: string): Promise<mysql.Connection> {
  const conn = await mysql.createConnection({
    uri: url,
    multipleStatements: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    timezone: 'Z',
    charset: 'utf8mb4_general_ci',
    typeCast: exactTypeCast,
  });
  await conn.query(`SET time_zone = '+00:00', sql_mode = '${SESSION_SQL_MODE}'`);
  return conn;
}

/** A read-only Querier over a plain connection, for introspecting the online side in tests and scripts. */
export function readOnlyQuerier(conn: mysql.Connection): Querier {
  return {
    select: async <T extends Row = Row>(sql: string, params: readonly SqlValue[] = []) =>
      (await conn.query(sql, [...params]))[0] as T[],
    execute: async () => {
      throw new Error('read only');
    },
  };
}
