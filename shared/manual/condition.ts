// The MySQL-only build: a fraction of the all-dialect bundle, and the only grammar we read.
import { Parser } from 'node-sql-parser/build/mysql';
import type { SqlValue, Statement } from '../types';

/**
 * The manual-sync condition is untrusted text. It is parsed with a real SQL parser, checked against
 * an allowlist (columns of the table, literals, comparisons, IN lists, BETWEEN, IS NULL, LIKE,
 * AND/OR/NOT, parentheses, and the current date or time: NOW(), CURDATE() and friends, optionally
 * `± INTERVAL n unit`) and rebuilt from the tree with `?` parameters and quoted identifiers.
 * The text itself never reaches a server: function names and units are written by this module from
 * its own allow-lists, an interval's n travels as a parameter. Everything else is refused with the reason.
 *
 * A small lexer reads the text as MySQL would (default sql_mode: backslash escapes on, `"` quotes a
 * string): it refuses comments, `;` and backslashes outside string literals, and gives each literal's
 * exact value: string values unescaped as MySQL does, numbers as their source digits (the parser's own
 * values are floats). The tree walk then takes the lexer's literals in order and checks each against the
 * tree's; any disagreement refuses the condition. Numbers must be plain decimals: exponents, hex and bit
 * literals are refused. The lexer also notes the date functions and interval units it sees, which the
 * walk checks the same way, so that MySQL and the parser agree on those too.
 */
export class ConditionRejectedError extends Error {
  override name = 'ConditionRejectedError';
  constructor(
    readonly reason: string,
    readonly statusCode: 400 | 422 = 422,
  ) {
    super(`condition rejected: ${reason}`);
  }
}

const MAX_LENGTH = 4000;
const COMPARISONS = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);
const LOGICAL = new Set(['AND', 'OR']);
const ARITHMETIC = new Set(['+', '-', '*', '/', '%', 'DIV', 'MOD', '||', '&', '|', '^', '<<', '>>', '~']);
const LITERAL_TYPES = new Set([
  'number',
  'bigint',
  'single_quote_string',
  'double_quote_string',
  'bool',
  'null',
]);
const PLACEHOLDER_TABLE = '__cdc_mirror_condition__';
/** The widest DECIMAL every supported server casts to: 65 digits, 30 of them after the point (MySQL). */
const MAX_PRECISION = 65;
const MAX_SCALE = 30;

/**
 * The date functions a condition may use, by the name MySQL reads. `sql` is what this module writes
 * for it (never the input's spelling); `bare` says MySQL also reads the name alone, without `()`, as
 * the function (CURRENT_TIMESTAMP and CURRENT_DATE are reserved words).
 */
const TEMPORAL_FUNCTIONS: ReadonlyMap<string, { sql: string; shown: string; bare: boolean }> = new Map([
  ['NOW', { sql: 'NOW()', shown: 'NOW()', bare: false }],
  ['CURRENT_TIMESTAMP', { sql: 'CURRENT_TIMESTAMP', shown: 'CURRENT_TIMESTAMP', bare: true }],
  ['CURDATE', { sql: 'CURDATE()', shown: 'CURDATE()', bare: false }],
  ['CURRENT_DATE', { sql: 'CURRENT_DATE', shown: 'CURRENT_DATE', bare: true }],
  ['UTC_TIMESTAMP', { sql: 'UTC_TIMESTAMP()', shown: 'UTC_TIMESTAMP()', bare: false }],
]);
const FUNCTIONS_SHOWN = [...TEMPORAL_FUNCTIONS.values()].map((f) => f.shown).join(', ');
/** Units whose n is one plain number. Compound units (DAY_SECOND, …) read n as a string like '1 02:03'. */
const INTERVAL_UNITS = [
  'MICROSECOND',
  'SECOND',
  'MINUTE',
  'HOUR',
  'DAY',
  'WEEK',
  'MONTH',
  'QUARTER',
  'YEAR',
] as const;
/**
 * An interval's n: digits only, at most 9 of them. A larger value could only overflow a date (MySQL gives
 * NULL) and, past 2^63, CAST(? AS SIGNED) would wrap it to a negative number, turning `-` into `+`.
 */
const MAX_INTERVAL_DIGITS = 9;
const SHAPE = 'a date function ± INTERVAL n unit, e.g. NOW() - INTERVAL 1 DAY';

/**
 * What a condition may hold, for people: shown by the web console and the README. Built from the same
 * constants the compiler checks against; the unit tests compile every example.
 */
export const CONDITION_GRAMMAR: {
  readonly allowed: readonly string[];
  readonly refused: readonly string[];
  readonly examples: readonly string[];
} = {
  allowed: [
    "The table's columns, by name (any letter case; a plain name may be in `backticks`).",
    "String literals in '…' or \"…\", read as MySQL reads them (\\' and '' escapes work; \\% and \\_ stay literal in LIKE).",
    `Plain decimal numbers, kept exactly (at most ${MAX_PRECISION} digits, ${MAX_SCALE} after the point); TRUE and FALSE.`,
    'Comparisons = <> != < <= > >= with a column on at least one side; column [NOT] IN (literal, …); ' +
      "column [NOT] BETWEEN a AND b; column IS [NOT] NULL; column [NOT] LIKE 'pattern'.",
    'AND, OR, NOT and parentheses.',
    `The current date or time: ${FUNCTIONS_SHOWN} (CURRENT_TIMESTAMP() and CURRENT_DATE() also work), ` +
      'without arguments. Sessions run with time_zone +00:00, so on both servers NOW() and CURRENT_TIMESTAMP ' +
      'are UTC, the same as UTC_TIMESTAMP(), and CURDATE() is the UTC date.',
    `Date arithmetic only as ${SHAPE}, possibly chained (NOW() - INTERVAL 1 DAY + INTERVAL 2 HOUR); ` +
      `n a whole number without sign, 0 to ${'9'.repeat(MAX_INTERVAL_DIGITS)}; unit one of ${INTERVAL_UNITS.join(', ')}.`,
  ],
  refused: [
    'Other functions, arithmetic on columns or numbers, compound units (DAY_SECOND, …), NOW(6) and other precisions.',
    'Subqueries, variables, CASE, CAST, COLLATE, REGEXP, other tables, hex and bit literals, exponents.',
    'Comments, ";" and second statements.',
  ],
  examples: [
    'id IN (100, 101, 102) OR id < 10',
    "code = 'ABC-1' AND status IS NOT NULL",
    "name LIKE 'promo%'",
    'price BETWEEN 1.50 AND 9.99',
    'updated_at > NOW() - INTERVAL 1 DAY',
    'created_at >= CURDATE() - INTERVAL 7 DAY',
    'updated_at BETWEEN UTC_TIMESTAMP() - INTERVAL 2 HOUR AND UTC_TIMESTAMP()',
  ],
};

const reject = (reason: string, status: 400 | 422 = 422): never => {
  throw new ConditionRejectedError(reason, status);
};

/** Checks on the whole text: what no literal may hold either. */
function screenText(where: string): void {
  if (where.trim() === '') reject('the condition is empty', 400);
  if (where.length > MAX_LENGTH) reject(`the condition is longer than ${MAX_LENGTH} characters`, 400);
  // Lone surrogates: text that is not valid Unicode cannot be what the user meant.
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(where)) {
    reject('the condition is not valid Unicode', 400);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for.
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u0085\u00A0\u2028\u2029\uFEFF]/.test(where)) {
    reject('control or invisible characters are not allowed', 400);
  }
}

/**
 * A token as MySQL reads it from the text: a string's value, a number's exact digits, a date function's
 * name (and whether `(` follows it), the unit word after `INTERVAL <number>`.
 */
type Lexed =
  | { kind: 'string'; quote: "'" | '"'; value: string }
  | { kind: 'number'; text: string }
  | { kind: 'function'; name: string; call: boolean }
  | { kind: 'unit'; name: string };

/** MySQL's escapes (default sql_mode, no NO_BACKSLASH_ESCAPES); any other `\x` is `x`. */
const ESCAPES: Record<string, string> = {
  '0': '\u0000',
  b: '\b',
  n: '\n',
  r: '\r',
  t: '\t',
  Z: '\u001A',
  // MySQL keeps the backslash before % and _ so that LIKE patterns can match them literally.
  '%': '\\%',
  _: '\\_',
};

/** The value of a string literal's body: backslash escapes and doubled quotes resolved as MySQL does. */
export function unescapeMySqlString(body: string, quote: "'" | '"'): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    const next = body[i + 1];
    if (ch === '\\' && next !== undefined) {
      out += ESCAPES[next] ?? next;
      i++;
    } else if (ch === quote && next === quote) {
      out += quote;
      i++;
    } else {
      out += ch;
    }
  }
  return out;
}

const LOOKALIKE_QUOTES = /[\u2018\u2019\u201A\u201B\u201C\u201D\u02BC\uFF07\uFF02]/;
const WORD = /[0-9A-Za-z_$\u0080-\uFFFF]+/y;
const NUMBER = /\d+(?:\.\d*)?(?:[eE][+-]?\d+)?/y;
const SPACES = /[ \t\n\r]*/y;

const sticky = (re: RegExp, text: string, at: number): string => {
  re.lastIndex = at;
  return re.exec(text)?.[0] ?? '';
};

/**
 * Reads the text as MySQL's lexer does, so that string boundaries, comments and `;` are judged where
 * the server would see them (a `;` inside a string is data; outside one it is a second statement).
 * Returns the string and number literals, the date functions and the interval units in source order;
 * the tree walk consumes them one by one.
 */
function lexLiterals(where: string): { literals: Lexed[]; sawInterval: boolean } {
  const literals: Lexed[] = [];
  let sawInterval = false;
  let prev = ''; // the previous token, to give a number the sign the parser folded into it
  // Where an INTERVAL stands: just after the word ('keyword'), or after the word and its number ('number').
  let interval: 'none' | 'keyword' | 'number' = 'none';
  let i = 0;
  while (i < where.length) {
    const c = where[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const wasInterval = interval;
    interval = 'none';
    if (c === "'" || c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= where.length) return reject('not a valid condition: a string is not closed', 400);
        if (where[j] === '\\') j += 2;
        else if (where[j] === c && where[j + 1] === c) j += 2;
        else if (where[j] === c) break;
        else j++;
      }
      literals.push({ kind: 'string', quote: c, value: unescapeMySqlString(where.slice(i + 1, j), c) });
      prev = 'literal';
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const end = where.indexOf('`', i + 1);
      if (end < 0) reject('not a valid condition: a quoted name is not closed', 400);
      if (!/^[A-Za-z0-9_$]+$/.test(where.slice(i + 1, end)) || where[end + 1] === '`') {
        reject('backticks are not allowed except around a plain column name');
      }
      prev = 'name';
      i = end + 1;
      continue;
    }
    if (where.startsWith('/*!', i)) reject('executable comments ("/*!") are not allowed');
    if (c === '#' || /^(--|\/\*|\*\/)/.test(where.slice(i, i + 2))) reject('comments are not allowed');
    if (c === ';') reject('";" is not allowed: one condition, no further statements');
    if (c === '\\') reject('backslashes are not allowed outside string literals');
    if (LOOKALIKE_QUOTES.test(c)) reject('unusual quote characters are not allowed');
    const word = sticky(WORD, where, i);
    if (/^\d+$/.test(word)) {
      const text = sticky(NUMBER, where, i);
      if (/[eE]/.test(text)) reject(`number "${text}" is not a plain decimal (no exponents)`);
      literals.push({ kind: 'number', text: prev === '-' ? `-${text}` : text });
      prev = 'literal';
      if (wasInterval === 'keyword') interval = 'number';
      i += text.length;
      continue;
    }
    if (wasInterval === 'keyword' && (c === '-' || c === '+')) {
      reject(`INTERVAL takes a whole number without a sign: put the direction before it, as in ${SHAPE}`);
    }
    if (word) {
      const after = where[i + word.length];
      if (/^0x[0-9a-f]+$|^0b[01]+$/i.test(word) || (/^[xb]$/i.test(word) && after === "'")) {
        reject('hex and bit literals are not allowed');
      }
      // MySQL reads 1e3 and 1e+3 as numbers; the parser would take the first for a column name.
      if (/^\d+e\d+$/i.test(word) || (/^\d+e$/i.test(word) && /^[+-]\d/.test(where.slice(i + word.length)))) {
        reject(`number "${word}" is not a plain decimal (no exponents)`);
      }
      const upper = word.toUpperCase();
      if (wasInterval === 'number') literals.push({ kind: 'unit', name: upper });
      if (upper === 'INTERVAL') {
        interval = 'keyword';
        sawInterval = true;
      }
      const fn = TEMPORAL_FUNCTIONS.get(upper);
      if (fn) {
        // MySQL reads `NOW (` as a call of a stored function named NOW, and bare UTC_TIMESTAMP as the
        // built-in (which the parser cannot read): ask for the one spelling both read the same way.
        const end = i + word.length;
        const call = where[end] === '(';
        if (!call && where[end + sticky(SPACES, where, end).length] === '(') {
          reject(`write ${fn.shown.replace('()', '')}() with no space before "("`);
        }
        if (call || fn.bare) literals.push({ kind: 'function', name: upper, call });
        else if (upper === 'UTC_TIMESTAMP') reject('write UTC_TIMESTAMP() with its parentheses');
      }
      prev = 'word';
      i += word.length;
      continue;
    }
    prev = c;
    i++;
  }
  return { literals, sawInterval };
}

type Node = { type?: string; [k: string]: unknown };

interface Built {
  sql: string;
  params: SqlValue[];
}

class ConditionCompiler {
  private readonly params: SqlValue[] = [];
  private readonly columns: Map<string, string>;
  private consumed = 0;

  constructor(
    columns: readonly string[],
    private readonly quote: (name: string) => string,
    /** The text's literals, date functions and units in source order; the walk visits the tree's in the same order. */
    private readonly literals: readonly Lexed[],
  ) {
    this.columns = new Map(columns.map((c) => [c.toLowerCase(), c]));
  }

  compile(node: unknown): Built {
    const sql = this.boolean(node as Node);
    if (this.consumed !== this.literals.length) this.ambiguous();
    return { sql, params: this.params };
  }

  /** The lexer and the parser read the text differently: neither reading can be trusted. */
  private ambiguous(): never {
    return reject('the condition could not be read unambiguously');
  }

  /** The next literal of the text, which must be the one the tree holds at this point. */
  private take<K extends Lexed['kind']>(kind: K): Extract<Lexed, { kind: K }> {
    const lexed = this.literals[this.consumed++];
    if (lexed?.kind !== kind) this.ambiguous();
    return lexed as Extract<Lexed, { kind: K }>;
  }

  /** The text's next number, which must be the tree's `node`: returns its exact source text. */
  private takeNumber(node: Node): string {
    const { text } = this.take('number');
    // The parser's value is a float (or its rounded text): close enough to prove it is the same literal.
    const a = Number(node.value);
    const b = Number(text);
    if (!(a === b || Math.abs(a - b) <= Math.abs(b) * 1e-12)) this.ambiguous();
    return text;
  }

  /** A number travels as its exact source text, cast to a DECIMAL just wide enough to hold it. */
  private number(node: Node): string {
    const text = this.takeNumber(node);
    const m = /^-?(\d+)(?:\.(\d+))?$/.exec(text);
    if (!m) return reject(`number "${text}" is not a plain decimal`);
    const scale = m[2]?.length ?? 0;
    const precision = Math.max(1, (m[1] as string).replace(/^0+/, '').length) + scale;
    if (precision > MAX_PRECISION || scale > MAX_SCALE) {
      reject(
        `number "${text}" has more digits than can be kept exactly (at most ${MAX_PRECISION}, ${MAX_SCALE} after the point)`,
      );
    }
    this.params.push(text);
    // A bare string parameter would be compared with a DECIMAL column as a double on MySQL (and in
    // MariaDB's BETWEEN): 1.00000000000000000001 would then equal 1. The cast keeps the comparison exact.
    return `CAST(? AS DECIMAL(${precision},${scale}))`;
  }

  private string(node: Node, quote: "'" | '"'): string {
    const lexed = this.take('string');
    // node-sql-parser leaves most escapes in its value (and resolves a few): resolving the rest must
    // give the lexer's value, or the two did not read the same literal.
    if (lexed.quote !== quote || unescapeMySqlString(String(node.value), quote) !== lexed.value) {
      this.ambiguous();
    }
    return lexed.value;
  }

  private column(node: Node): string {
    if (node.table !== null && node.table !== undefined) {
      reject(`column references with a table ("${String(node.table)}.") are not allowed`);
    }
    const raw = node.column;
    const name = typeof raw === 'string' ? raw : (raw as { expr?: { value?: unknown } })?.expr?.value;
    if (typeof name !== 'string') return reject('unsupported column reference');
    if (node.collate) reject('COLLATE is not allowed');
    const real = this.columns.get(name.toLowerCase());
    if (!real) {
      const fn = TEMPORAL_FUNCTIONS.get(name.toUpperCase());
      reject(`unknown column "${name}"${fn ? ` (for the function, write ${fn.shown})` : ''}`);
    }
    return this.quote(real as string);
  }

  /** Binds a literal as a parameter; returns the SQL that stands for it. */
  private literal(node: Node): string {
    // Default deny: a literal carries a type and a value, nothing more (no COLLATE suffix, no charset).
    const extra = Object.keys(node).filter(
      (k) => !['type', 'value', 'parentheses'].includes(k) && node[k] != null,
    );
    if (extra.length && LITERAL_TYPES.has(String(node.type)))
      reject(
        JSON.stringify(node).includes('collate')
          ? 'COLLATE is not allowed'
          : `${extra.join(', ')} is not allowed`,
      );
    switch (node.type) {
      case 'number':
      case 'bigint':
        return this.number(node);
      case 'single_quote_string':
        this.params.push(this.string(node, "'"));
        return '?';
      case 'double_quote_string':
        this.params.push(this.string(node, '"'));
        return '?';
      case 'bool':
        this.params.push(node.value ? '1' : '0');
        return '?';
      case 'null':
        return reject('NULL can only be tested with IS NULL or IS NOT NULL');
      case 'hex_string':
      case 'full_hex_string':
      case 'bit_string':
        return reject('hex and bit literals are not allowed');
      case 'natural_string':
      case 'var_string':
        return reject('character set introducers are not allowed');
      default:
        return reject(this.describe(node));
    }
  }

  private describe(node: Node): string {
    switch (node.type) {
      case 'function':
      case 'aggr_func': {
        const name = node.name as
          | { name?: { value?: string }[]; schema?: { value?: string } | null }
          | string
          | undefined;
        const parts =
          typeof name === 'string'
            ? [name]
            : [name?.schema?.value, ...(name?.name?.map((p) => p.value) ?? ['?'])].filter((p) => p != null);
        const fn = parts.join('.').toUpperCase();
        const temporal = TEMPORAL_FUNCTIONS.get(fn);
        if (temporal && node.type === 'function') {
          return `${temporal.shown} is not a condition: compare a column with it (e.g. updated_at > ${temporal.shown})`;
        }
        return `function ${fn} is not allowed: the only functions are ${FUNCTIONS_SHOWN}`;
      }
      case 'select':
        return 'subqueries are not allowed';
      case 'var':
        return 'variables are not allowed';
      case 'case':
        return 'CASE is not allowed';
      case 'cast':
        return 'CAST is not allowed';
      case 'interval':
        return `INTERVAL is not allowed except as ${SHAPE}`;
      case 'column_ref':
        return 'a bare column is not a condition: compare it with something';
      default:
        return `${node.type ?? 'this expression'} is not allowed`;
    }
  }

  /** An operand of a comparison: a column, a literal or a date expression. */
  private operand(node: Node): { sql: string; isColumn: boolean } {
    if (node.collate) reject('COLLATE is not allowed');
    if (node.type === 'column_ref') return { sql: this.column(node), isColumn: true };
    if (node.type === 'function' || (node.type === 'binary_expr' && ARITHMETIC.has(String(node.operator)))) {
      return { sql: this.temporal(node), isColumn: false };
    }
    if (node.type === 'unary_expr' && ARITHMETIC.has(String(node.operator))) {
      const on = node.expr as Node;
      if (on.type === 'number' || on.type === 'bigint') {
        reject(
          `a space between a sign and its number is not allowed (write ${String(node.operator)}5, not ${String(node.operator)} 5)`,
        );
      }
      reject(`arithmetic ("${String(node.operator)}") is not allowed except as ${SHAPE}`);
    }
    if (node.type === 'expr_list' || node.type === 'binary_expr' || node.type === 'unary_expr')
      reject(this.describe(node));
    if ((node as { ast?: unknown }).ast) reject('subqueries are not allowed');
    return { sql: this.literal(node), isColumn: false };
  }

  /**
   * A date function, alone or `± INTERVAL n unit` (left-associative, so a chain is a left-leaning tree).
   * Written from this module's own names; only n comes from the text, as a parameter.
   */
  private temporal(node: Node): string {
    if (node.collate) reject('COLLATE is not allowed');
    if (node.type === 'function') return this.temporalFunction(node);
    const op = String(node.operator);
    const left = node.left as Node;
    const right = node.right as Node;
    if (node.type !== 'binary_expr' || (op !== '+' && op !== '-')) {
      return reject(`arithmetic ("${op}") is not allowed except as ${SHAPE}`);
    }
    if (left.type === 'interval' && right.type === 'function') {
      return reject(`write the date function first: ${SHAPE}`);
    }
    const leftIsDate =
      left.type === 'function' ||
      (left.type === 'binary_expr' && (left.operator === '+' || left.operator === '-'));
    if (!leftIsDate || right.type !== 'interval') {
      // `NOW() - INTERVAL 1 DAY * 2` parses as NOW() - (INTERVAL 1 DAY * 2): name the operator at fault.
      const culprit = right.type === 'binary_expr' ? String(right.operator) : op;
      return reject(`arithmetic ("${culprit}") is not allowed except as ${SHAPE}`);
    }
    const base = this.temporal(left);
    return `(${base} ${op} ${this.interval(right)})`;
  }

  private temporalFunction(node: Node): string {
    const name = node.name as { name?: { type?: string; value?: unknown }[]; schema?: unknown };
    const parts = name?.name ?? [];
    const part = parts[0];
    const fn =
      parts.length === 1 && !name.schema && typeof part?.value === 'string' ? part.value.toUpperCase() : '';
    const known = TEMPORAL_FUNCTIONS.get(fn);
    if (!known) return reject(this.describe(node));
    // A quoted name is a stored function's to MySQL (`NOW`() looks for one in the current database).
    if (part?.type !== 'default' && part?.type !== 'origin') {
      reject(`quoted function names are not allowed: write ${known.shown}`);
    }
    const called = part?.type === 'default';
    const args = node.args as { type?: string; value?: unknown[] } | undefined;
    if (called ? args?.type !== 'expr_list' || args.value?.length !== 0 : args != null) {
      reject(
        `${known.shown.replace('()', '')}() takes no arguments (fractional-second precision such as NOW(6) is not supported)`,
      );
    }
    if (node.over != null) reject('window functions (OVER) are not allowed');
    const extra = Object.keys(node).filter(
      (k) => !['type', 'name', 'args', 'over', 'parentheses'].includes(k) && node[k] != null,
    );
    if (extra.length) reject(`${extra.join(', ')} is not allowed`);
    const lexed = this.take('function');
    if (lexed.name !== fn || lexed.call !== called) this.ambiguous();
    return known.sql;
  }

  /** `INTERVAL n unit`: n bound as an integer parameter, the unit written from the allow-list. */
  private interval(node: Node): string {
    if (node.collate) reject('COLLATE is not allowed');
    // MySQL refuses `NOW() - (INTERVAL 1 DAY)`: INTERVAL is part of the + or -, not a value of its own.
    if (node.parentheses) reject(`INTERVAL may not be in parentheses: ${SHAPE}`);
    const extra = Object.keys(node).filter(
      (k) => !['type', 'expr', 'unit', 'parentheses'].includes(k) && node[k] != null,
    );
    if (extra.length) reject(`${extra.join(', ')} is not allowed`);
    const said = String(node.unit).toUpperCase();
    const unit = INTERVAL_UNITS.find((u) => u === said);
    if (!unit) {
      return reject(`interval unit ${said} is not allowed: the units are ${INTERVAL_UNITS.join(', ')}`);
    }
    const n = node.expr as Node;
    const whole = (but = '') =>
      `INTERVAL takes a whole number from 0 to ${'9'.repeat(MAX_INTERVAL_DIGITS)}${but}, as in NOW() - INTERVAL 1 DAY`;
    if ((n as { ast?: unknown }).ast || n.type === 'select') reject('subqueries are not allowed');
    if (n.type === 'single_quote_string' || n.type === 'double_quote_string')
      reject(whole(' (not a string)'));
    if (n.type !== 'number' && n.type !== 'bigint') return reject(whole());
    if (n.parentheses) reject(whole(' (without parentheses)'));
    const text = this.takeNumber(n);
    const digits = text.replace(/^0+(?=\d)/, '');
    if (!/^\d+$/.test(text) || digits.length > MAX_INTERVAL_DIGITS) reject(whole());
    const lexed = this.take('unit');
    if (lexed.name !== unit) this.ambiguous();
    this.params.push(digits);
    return `INTERVAL CAST(? AS SIGNED) ${unit}`;
  }

  private boolean(node: Node): string {
    if (node.type === 'function') {
      const name = node.name as { name?: { value?: string }[] };
      const fn = name?.name
        ?.map((p) => p.value)
        .join('.')
        .toUpperCase();
      const args = (node.args as { value?: Node[] } | undefined)?.value;
      if (fn === 'NOT' && args?.length === 1) return `(NOT ${this.boolean(args[0] as Node)})`;
      return reject(this.describe(node));
    }
    if (node.type === 'unary_expr' && String(node.operator).toUpperCase() === 'NOT') {
      return `(NOT ${this.boolean(node.expr as Node)})`;
    }
    if (node.type !== 'binary_expr') return reject(this.describe(node));
    const op = String(node.operator).toUpperCase();
    const left = node.left as Node;
    const right = node.right as Node;
    if (LOGICAL.has(op)) return `(${this.boolean(left)} ${op} ${this.boolean(right)})`;
    if (COMPARISONS.has(op)) {
      if (right.type === 'null' || left.type === 'null')
        reject('NULL can only be tested with IS NULL or IS NOT NULL');
      const l = this.operand(left);
      const r = this.operand(right);
      if (!l.isColumn && !r.isColumn) reject('each comparison needs a column on one side');
      return `(${l.sql} ${op === '!=' ? '<>' : op} ${r.sql})`;
    }
    if (op === 'IN' || op === 'NOT IN') {
      const col = this.requireColumn(left, op);
      if (right.type !== 'expr_list' || !Array.isArray(right.value))
        return reject(`${op} needs a list of literals`);
      const items = right.value as Node[];
      if (items.length === 0) reject(`${op} needs at least one value`);
      if (items.length > 10_000) reject(`${op} lists are limited to 10000 values`);
      const marks = items.map((item) => {
        if (item.type === 'column_ref' || item.type === 'binary_expr' || item.type === 'function') {
          reject(`${op} lists may hold literals only`);
        }
        if ((item as { ast?: unknown }).ast || item.type === 'select') reject('subqueries are not allowed');
        return this.literal(item);
      });
      return `(${col} ${op} (${marks.join(', ')}))`;
    }
    if (op === 'BETWEEN' || op === 'NOT BETWEEN') {
      const col = this.requireColumn(left, op);
      const bounds = (right as { value?: Node[] }).value;
      if (right.type !== 'expr_list' || !Array.isArray(bounds) || bounds.length !== 2) {
        return reject(`${op} needs two bounds`);
      }
      const lo = this.operand(bounds[0] as Node).sql;
      const hi = this.operand(bounds[1] as Node).sql;
      return `(${col} ${op} ${lo} AND ${hi})`;
    }
    if (op === 'IS' || op === 'IS NOT') {
      const col = this.requireColumn(left, op);
      if (right.type === 'null') return `(${col} ${op} NULL)`;
      return reject(`${op} may only test NULL`);
    }
    if (op === 'LIKE' || op === 'NOT LIKE') {
      const col = this.requireColumn(left, op);
      if (right.type !== 'single_quote_string' && right.type !== 'double_quote_string') {
        return reject(`${op} needs a string pattern`);
      }
      return `(${col} ${op} ${this.literal(right)})`;
    }
    if (ARITHMETIC.has(op)) {
      return reject(
        'a calculation is not a condition: compare a column with it (e.g. updated_at > NOW() - INTERVAL 1 DAY)',
      );
    }
    return reject(`operator ${op} is not allowed`);
  }

  private requireColumn(node: Node, op: string): string {
    if (node.type !== 'column_ref') {
      const literal = /string|number|bigint|bool|null/.test(String(node.type));
      const date =
        (node.type === 'function' && !this.describe(node).startsWith('function ')) ||
        (node.type === 'binary_expr' && (node.operator === '+' || node.operator === '-'));
      reject(literal || date ? `${op} needs a column on its left` : this.describe(node));
    }
    return this.column(node);
  }
}

const parser = new Parser();

/**
 * Compiles an untrusted condition against `columns` (the table's real column names; matched
 * case-insensitively). Returns SQL with `?` placeholders, identifiers quoted by `quoteIdentifier`.
 */
export function compileCondition(
  where: string,
  columns: readonly string[],
  quoteIdentifier: (name: string) => string,
): Statement {
  if (typeof where !== 'string') reject('the condition must be a string', 400);
  screenText(where);
  const { literals, sawInterval } = lexLiterals(where);
  let ast: unknown;
  try {
    ast = parser.astify(`SELECT * FROM ${PLACEHOLDER_TABLE} WHERE ${where}`, { database: 'MySQL' });
  } catch (err) {
    const near = /but "(.{0,20})/.exec((err as Error).message)?.[1];
    const hint = sawInterval
      ? ` (an interval is INTERVAL n unit, unit one of ${INTERVAL_UNITS.join(', ')})`
      : '';
    return reject(`not a valid condition${near ? ` near "${near.replace(/".*$/, '')}"` : ''}${hint}`, 400);
  }
  const statements = Array.isArray(ast) ? ast : [ast];
  if (statements.length !== 1) reject('multiple statements are not allowed');
  const select = statements[0] as Node;
  if (select.type !== 'select') reject('only a condition is allowed');
  const from = select.from as { table?: string; db?: string | null }[] | null;
  if (from?.length !== 1 || from[0]?.table !== PLACEHOLDER_TABLE || from[0]?.db) {
    reject('other tables are not allowed');
  }
  if (select._next || select.union) reject('UNION is not allowed');
  for (const clause of [
    'groupby',
    'having',
    'orderby',
    'limit',
    'into',
    'with',
    'window',
    'locking_read',
    'collate',
  ] as const) {
    const v = select[clause];
    const present = Array.isArray(v)
      ? v.length > 0
      : v && typeof v === 'object'
        ? Object.values(v).some((x) => x !== null && !(Array.isArray(x) && x.length === 0))
        : Boolean(v);
    if (present) reject(`${clause.toUpperCase()} is not allowed in a condition`);
  }
  if (!select.where) reject('the condition is empty', 400);
  return new ConditionCompiler(columns, quoteIdentifier, literals).compile(select.where);
}
