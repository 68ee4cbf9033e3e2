import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TableWriter } from '../shared/cdc/table-writer';
import type { OnlineDatabase, Querier } from '../shared/db/connection';
import type { OfflineTarget } from '../shared/db/guard';

/**
 * Online writes are unrepresentable: the only write handle is an OfflineTarget, which only the guard
 * creates; online handles have no write method, and the writer cannot take one. The type checks
 * below are compiled by `npm run typecheck` (each @ts-expect-error fails the build if the call it
 * marks ever becomes legal); the source checks keep the one door to a writable pool in guard.ts.
 */
const root = join(__dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

const read = (file: string) => readFileSync(join(root, file), 'utf8');
const code = [...sources('shared'), ...sources('functions')].filter((f) => !f.endsWith('.test.ts'));

describe('architecture', () => {
  it('only the guard opens a writable pool', () => {
    const callers = code
      .filter((f) => /openWritablePool\(/.test(read(f)))
      .map((f) => relative(root, join(root, f)));
    expect(callers.sort()).toEqual(['shared/db/connection.ts', 'shared/db/guard.ts']);
  });

  it('only shared/db talks to mysql2; functions are thin and hold no SQL', () => {
    const mysql = code.filter((f) => /from 'mysql2/.test(read(f)));
    expect(mysql.every((f) => f.startsWith(join('shared', 'db')))).toBe(true);
    for (const f of sources('functions')) {
      expect(read(f)).not.toMatch(/mysql2|\b(SELECT|INSERT|UPDATE|DELETE|CREATE)\s/);
    }
  });

  it('online handles cannot be written through, by type', () => {
    // Never called: compiled only, so each line must stay a type error.
    const _compileOnly = (online: OnlineDatabase, offline: OfflineTarget, writer: typeof TableWriter) => {
      // @ts-expect-error an online database has no execute()
      online.execute({ sql: 'INSERT INTO t VALUES (1)', params: [] });
      // @ts-expect-error an online database has no write session
      online.session(
        () => 1,
        async () => undefined,
      );
      online.readTransaction(1, async (q) => {
        // @ts-expect-error a read transaction hands out reads only
        q.execute({ sql: 'DELETE FROM t', params: [] });
      });
      // @ts-expect-error the writer's querier can write, which an online database cannot
      const writerQuerier: ConstructorParameters<typeof writer>[0] = online;
      // @ts-expect-error an OfflineTarget is made by getWriteTarget alone
      new (offline.constructor as typeof OfflineTarget)(undefined as never);
      const q: Querier | undefined = undefined;
      return [q, writerQuerier];
    };
    expect(typeof _compileOnly).toBe('function');
  });
});
