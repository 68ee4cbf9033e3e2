import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type SyncConfig } from './schema';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_CONFIG_PATH = 'sync.config.yml';

function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const key = i.path.length
        ? i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')
        : '(root)';
      return `${key.replace(/^\./, '')}: ${i.message}`;
    })
    .join('; ');
}

/** Validates an already-parsed document. Throws ConfigError naming every bad key. */
export function parseConfig(doc: unknown, source = 'config'): SyncConfig {
  const result = configSchema.safeParse(doc);
  if (!result.success) throw new ConfigError(`${source} is invalid: ${describeIssues(result.error.issues)}`);
  return result.data;
}

export function loadConfigFile(path: string): SyncConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(doc, path);
}

let cached: { path: string; config: SyncConfig } | undefined;

/**
 * The config for this container: read once (cold start) from SYNC_CONFIG or ./sync.config.yml.
 * A changed SYNC_CONFIG (tests, local runs) reloads.
 */
export function getConfig(): SyncConfig {
  const path = resolve(process.env.SYNC_CONFIG ?? DEFAULT_CONFIG_PATH);
  if (cached?.path !== path) cached = { path, config: loadConfigFile(path) };
  return cached.config;
}
