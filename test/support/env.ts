import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { stringify } from 'yaml';

export { rawConnection } from './raw-connection';

export const onlineUrl = (): string => inject('onlineUrl');
export const offlineUrl = (): string => inject('offlineUrl');

let counter = 0;
/** A schema name no other test file uses, so files can share the servers. */
export function uniqueSchema(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}

/** Writes a config file in a temp dir, points SYNC_CONFIG at it, returns its path. */
export function useConfig(doc: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-cfg-'));
  const path = join(dir, 'sync.config.yml');
  writeFileSync(path, stringify(doc));
  process.env.SYNC_CONFIG = path;
  return path;
}
