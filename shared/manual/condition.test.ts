import { describe, expect, it } from 'vitest';
import { quoteIdentifier } from '../db/identifiers';
import { ConditionRejectedError, compileCondition } from './condition';
import { exampleColumns, hostileConditions, legitimateConditions } from './condition-corpus';

const compile = (where: string) => compileCondition(where, exampleColumns, quoteIdentifier);

describe('compileCondition', () => {
  it('has a corpus of at least 20 legitimate and 40 hostile conditions', () => {
    expect(legitimateConditions.length).toBeGreaterThanOrEqual(20);
    expect(hostileConditions.length).toBeGreaterThanOrEqual(40);
  });

  it.each(legitimateConditions)('accepts %s', (where, sql, params) => {
    expect(compile(where)).toEqual({ sql, params });
  });

  it.each(hostileConditions)('rejects %s', (where, reason) => {
    let caught: unknown;
    try {
      compile(where);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConditionRejectedError);
    expect((caught as ConditionRejectedError).reason).toContain(reason);
    expect([400, 422]).toContain((caught as ConditionRejectedError).statusCode);
  });

  it('never lets the input text through: every literal becomes a parameter', () => {
    const { sql, params } = compile("name = 'x'' OR ''1''=''1' AND id IN (1, 2)");
    expect(sql).toBe('((`name` = ?) AND (`id` IN (CAST(? AS DECIMAL(1,0)), CAST(? AS DECIMAL(1,0)))))');
    expect(sql).not.toMatch(/OR|'/);
    expect(params).toEqual(["x' OR '1'='1", '1', '2']);
  });

  it('quotes identifiers through the one helper', () => {
    const { sql } = compileCondition('weird = 1', ['we`ird'.replace('`', ''), 'weird'], (n) => `[${n}]`);
    expect(sql).toBe('([weird] = CAST(? AS DECIMAL(1,0)))');
  });
});
