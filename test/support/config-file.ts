import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Writes a config file in a temp dir, points SYNC_CONFIG at it, returns its path. */
export function useConfig(doc: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'cdc-mirror-cfg-'));
  const path = join(dir, 'sync.config.yml');
  writeFileSync(path, stringify(doc));
  process.env.SYNC_CONFIG = path;
  return path;
}
