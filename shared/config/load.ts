import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type * as z from 'zod/mini';
import { ConfigError } from './endpoint';
import { configSchema, type SyncConfig } from './schema';

export { ConfigError };

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
  // The copy bundled into the functions is JSON (written at `serverless package`): no YAML parser in Lambda.
  return parseConfig(path.endsWith('.json') ? parseJsonText(text, path) : parseYamlText(text, path), path);
}

function parseJsonText(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // The parser's message quotes the text, which may hold a password.
    throw new ConfigError(`${path} is not valid JSON`);
  }
}

/**
 * The parser's messages quote the offending source line (and some the offending text), which may hold
 * a password: only its code and position are kept, and it is not attached as `cause`. Warnings are
 * not printed for the same reason; zod judges the values they concern.
 */
function parseYamlText(text: string, path: string): unknown {
  const bad = (what: string) => new ConfigError(`${path} is not valid YAML: ${what}`);
  // Loaded only for YAML files (local runs, packaging): the bundles leave it out (serverless/esbuild.cjs).
  const { parseDocument } = require('yaml') as typeof import('yaml');
  const doc = parseDocument(text);
  const [first] = doc.errors;
  if (first) {
    const at = first.linePos?.[0];
    throw bad(`${first.code}${at ? ` at line ${at.line}, column ${at.col}` : ''}`);
  }
  try {
    return doc.toJS();
  } catch (err) {
    // Alias errors (unresolved, too many) name the alias, which is source text.
    throw bad(
      err instanceof ReferenceError ? 'an alias is unresolved or expands too far' : (err as Error).name,
    );
  }
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
