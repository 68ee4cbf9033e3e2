import { describe, expect, it } from 'vitest';
import { detectServer } from '../db/server';
import { TIDB_CHANGES_PER_TRANSACTION, transactionSlices } from './apply';

const tidb = detectServer('8.0.11-TiDB-v7.5.1');
const mariadb = detectServer('10.11.19-MariaDB');
const mysql8 = detectServer('8.0.36');

describe('transactionSlices', () => {
  it('slices a large batch into several transactions on TiDB only', () => {
    const items = Array.from({ length: TIDB_CHANGES_PER_TRANSACTION * 2 + 1 }, (_, i) => i);
    expect(transactionSlices(items, tidb).map((s) => s.length)).toEqual([
      TIDB_CHANGES_PER_TRANSACTION,
      TIDB_CHANGES_PER_TRANSACTION,
      1,
    ]);
    expect(transactionSlices(items, tidb).flat()).toEqual(items);
    expect(transactionSlices(items, mariadb)).toEqual([items]);
    expect(transactionSlices(items, mysql8)).toEqual([items]);
  });
});
