import { describe, expect, it } from 'vitest';
import { dialectFor } from './dialect';

/** One row per server kind: every decision that differs by server lives in its Dialect. */
describe('dialectFor', () => {
  it.each([
    [
      '10.11.19-MariaDB-0+deb12u1',
      {
        kind: 'mariadb',
        supportsRowAlias: false,
        readOnlySession: 'SET SESSION TRANSACTION READ ONLY',
        startReadOnlyTransaction: 'START TRANSACTION READ ONLY',
        timeout: 'SET SESSION max_statement_time = 2.500, innodb_lock_wait_timeout = 3',
        changesPerTransaction: Number.POSITIVE_INFINITY,
      },
    ],
    [
      '8.0.36',
      {
        kind: 'mysql',
        supportsRowAlias: true,
        readOnlySession: 'SET SESSION TRANSACTION READ ONLY',
        startReadOnlyTransaction: 'START TRANSACTION READ ONLY',
        timeout: 'SET SESSION max_execution_time = 2500, innodb_lock_wait_timeout = 3',
        changesPerTransaction: Number.POSITIVE_INFINITY,
      },
    ],
    [
      '5.7.44-log',
      {
        kind: 'mysql',
        supportsRowAlias: false,
        readOnlySession: 'SET SESSION TRANSACTION READ ONLY',
        startReadOnlyTransaction: 'START TRANSACTION READ ONLY',
        timeout: 'SET SESSION max_execution_time = 2500, innodb_lock_wait_timeout = 3',
        changesPerTransaction: Number.POSITIVE_INFINITY,
      },
    ],
    [
      '8.0.11-TiDB-v7.5.1',
      {
        kind: 'tidb',
        supportsRowAlias: false,
        readOnlySession: null,
        startReadOnlyTransaction: 'START TRANSACTION',
        timeout: 'SET SESSION max_execution_time = 2500, innodb_lock_wait_timeout = 3',
        changesPerTransaction: 2000,
      },
    ],
  ])('%s', (version, expected) => {
    const { timeout, ...rest } = expected;
    const d = dialectFor(version);
    expect(d).toMatchObject(rest);
    expect(d.statementTimeout(2_500)).toBe(timeout);
  });
});
