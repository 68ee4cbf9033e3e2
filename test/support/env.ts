import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { exactTypeCast, SESSION_SQL_MODE } from '../../shared/db/connection';

export const onlineUrl = (): string => inject('onlineUrl');
export const offlineUrl = (): string => inject('offlineUrl');

let counter = 0;
/** A schema name no other test file uses, so files can share the servers. */
export function uniqueSchema(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}

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

/** Writes a config file in a temp dir, points SYNC_CONFIG at it, returns its path. */
export function useConfig(doc: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-cfg-'));
  const path = join(dir, 'sync.config.yml');
  writeFileSync(path, stringify(doc));
  process.env.SYNC_CONFIG = path;
  return path;
}
