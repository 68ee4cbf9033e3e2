import { describe, expect, it } from 'vitest';
import { quoteIdentifier } from '../db/identifiers';
import { CONDITION_GRAMMAR, ConditionRejectedError, compileCondition } from './condition';
import { exampleColumns, hostileConditions, legitimateConditions } from './condition-corpus';

const compile = (where: string) => compileCondition(where, exampleColumns, quoteIdentifier);

const reasonFor = (where: string, columns: readonly string[] = exampleColumns): ConditionRejectedError => {
  try {
    compileCondition(where, columns, quoteIdentifier);
  } catch (err) {
    if (err instanceof ConditionRejectedError) return err;
    throw err;
  }
  throw new Error(`accepted: ${where}`);
};

describe('compileCondition', () => {
  it('has a corpus of at least 20 legitimate and 40 hostile conditions', () => {
    expect(legitimateConditions.length).toBeGreaterThanOrEqual(20);
    expect(hostileConditions.length).toBeGreaterThanOrEqual(40);
  });

  it.each(legitimateConditions)('accepts %s', (where, sql, params) => {
    expect(compile(where)).toEqual({ sql, params });
  });

  it.each(hostileConditions)('rejects %s', (where, reason) => {
    const caught = reasonFor(where);
    expect(caught).toBeInstanceOf(ConditionRejectedError);
    expect(caught.reason).toContain(reason);
    expect([400, 422]).toContain(caught.statusCode);
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

  // Everything outside quoted names and `?` is the compiler's own vocabulary, whatever the input said.
  const VOCABULARY = new Set(
    (
      'AND OR NOT IN BETWEEN IS NULL LIKE CAST AS DECIMAL SIGNED INTERVAL NOW CURDATE CURRENT_TIMESTAMP ' +
      'CURRENT_DATE UTC_TIMESTAMP MICROSECOND SECOND MINUTE HOUR DAY WEEK MONTH QUARTER YEAR'
    ).split(' '),
  );
  it.each(legitimateConditions)('rebuilds %s from its own vocabulary only', (where) => {
    const { sql } = compile(where);
    const rest = sql.replace(/`[^`]*`/g, ' ').replace(/DECIMAL\(\d+,\d+\)/g, 'DECIMAL');
    expect(rest).toMatch(/^[\sA-Z_()?,=<>!+-]*$/);
    for (const word of rest.match(/[A-Z_]+/g) ?? []) expect(VOCABULARY, `${word} in ${sql}`).toContain(word);
  });
});

describe('dates and intervals', () => {
  // [how it may be written, what is written back]
  const functions: [string, string][] = [
    ['NOW()', 'NOW()'],
    ['now()', 'NOW()'],
    ['CURRENT_TIMESTAMP', 'CURRENT_TIMESTAMP'],
    ['current_timestamp()', 'CURRENT_TIMESTAMP'],
    ['CURDATE()', 'CURDATE()'],
    ['CURRENT_DATE', 'CURRENT_DATE'],
    ['CURRENT_DATE()', 'CURRENT_DATE'],
    ['UTC_TIMESTAMP()', 'UTC_TIMESTAMP()'],
    ['Utc_Timestamp( )', 'UTC_TIMESTAMP()'],
  ];
  const units = ['MICROSECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR'];

  it.each(functions)('%s alone', (fn, sql) => {
    expect(compile(`updated_at >= ${fn}`)).toEqual({ sql: `(\`updated_at\` >= ${sql})`, params: [] });
  });

  const arithmetic = functions.flatMap(([fn, sql]) =>
    units.flatMap((unit, i) =>
      (['-', '+'] as const).map((op) => {
        const spelled = i % 2 ? unit.toLowerCase() : unit;
        return [
          `${fn} ${op} INTERVAL ${i + 1} ${spelled}`,
          `(${sql} ${op} INTERVAL CAST(? AS SIGNED) ${unit})`,
          `${i + 1}`,
        ];
      }),
    ),
  );
  it.each(arithmetic)('%s', (expr, sql, n) => {
    expect(compile(`created_at < ${expr}`)).toEqual({ sql: `(\`created_at\` < ${sql})`, params: [n] });
  });

  it('chains left to right, each n a parameter in source order', () => {
    expect(
      compile('updated_at > NOW() - INTERVAL 1 YEAR + INTERVAL 2 MONTH - INTERVAL 3 DAY AND id = 4'),
    ).toEqual({
      sql:
        '((`updated_at` > (((NOW() - INTERVAL CAST(? AS SIGNED) YEAR) + INTERVAL CAST(? AS SIGNED) MONTH)' +
        ' - INTERVAL CAST(? AS SIGNED) DAY)) AND (`id` = CAST(? AS DECIMAL(1,0))))',
      params: ['1', '2', '3', '4'],
    });
  });

  it('a column named like a function is still a column; with parentheses it is the function', () => {
    const columns = ['now', 'curdate', 'updated_at'];
    expect(compileCondition('now > NOW() - INTERVAL 1 DAY', columns, quoteIdentifier)).toEqual({
      sql: '(`now` > (NOW() - INTERVAL CAST(? AS SIGNED) DAY))',
      params: ['1'],
    });
    expect(
      compileCondition('updated_at = `curdate` OR curdate = CURDATE()', columns, quoteIdentifier).sql,
    ).toBe('((`updated_at` = `curdate`) OR (`curdate` = CURDATE()))');
  });

  it('names what is allowed when it refuses', () => {
    expect(reasonFor('updated_at > SLEEP(1)').reason).toBe(
      'function SLEEP is not allowed: the only functions are NOW(), CURRENT_TIMESTAMP, CURDATE(), CURRENT_DATE, UTC_TIMESTAMP()',
    );
    expect(reasonFor('updated_at > NOW() - INTERVAL 1 DAY_HOUR').reason).toBe(
      'interval unit DAY_HOUR is not allowed: the units are MICROSECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR',
    );
    expect(reasonFor('updated_at > created_at - INTERVAL 1 DAY').reason).toBe(
      'arithmetic ("-") is not allowed except as a date function ± INTERVAL n unit, e.g. NOW() - INTERVAL 1 DAY',
    );
    expect(reasonFor('updated_at > NOW() - INTERVAL 1234567890 SECOND').reason).toBe(
      'INTERVAL takes a whole number from 0 to 999999999, as in NOW() - INTERVAL 1 DAY',
    );
    expect(reasonFor('updated_at > NOW(3)').reason).toMatch(/^NOW\(\) takes no arguments/);
    // A parse error next to an INTERVAL says what an interval is.
    const parse = reasonFor('updated_at > NOW() - INTERVAL 1 DAYS');
    expect(parse.statusCode).toBe(400);
    expect(parse.reason).toContain('unit one of MICROSECOND, SECOND');
    expect(reasonFor("name = 'interval' AND id = = 1").reason).not.toContain('unit one of');
  });
});

describe('CONDITION_GRAMMAR', () => {
  it.each(CONDITION_GRAMMAR.examples)('example %s compiles', (example) => {
    expect(() => compile(example)).not.toThrow();
  });

  it('names every function, every unit, the limits and the time zone', () => {
    const text = CONDITION_GRAMMAR.allowed.join('\n');
    for (const word of ['NOW()', 'CURRENT_TIMESTAMP', 'CURDATE()', 'CURRENT_DATE', 'UTC_TIMESTAMP()']) {
      expect(text).toContain(word);
    }
    expect(text).toContain('MICROSECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR');
    expect(text).toContain('0 to 999999999');
    expect(text).toContain('time_zone +00:00');
    expect(text).toContain('UTC');
    expect(CONDITION_GRAMMAR.refused.join('\n')).toMatch(/Other functions/);
  });

  it('what it says is refused is refused', () => {
    for (const where of [
      'updated_at > DATE_SUB(NOW(), INTERVAL 1 DAY)',
      'id = id + 1',
      "updated_at > NOW() - INTERVAL '1 1' DAY_HOUR",
      'updated_at > NOW(6)',
      'id IN (SELECT 1)',
      'id = @x',
      'CASE WHEN id = 1 THEN 1 END = 1',
      "CAST(id AS CHAR) = '1'",
      "name = 'a' COLLATE utf8mb4_bin",
      "name REGEXP 'a'",
      't.id = 1',
      'id = 0x1',
      'id = 1e3',
      'id = 1 -- x',
      'id = 1; SELECT 1',
    ]) {
      expect(() => compile(where), where).toThrow(ConditionRejectedError);
    }
  });
});
