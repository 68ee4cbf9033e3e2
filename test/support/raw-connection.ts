import mysql from 'mysql2/promise';
import { exactTypeCast, SESSION_SQL_MODE } from '../../shared/db/connection';

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
