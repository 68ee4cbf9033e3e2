// The MySQL-only build: a fraction of the all-dialect bundle, and the only grammar we read.
import { Parser } from 'node-sql-parser/build/mysql';
import type { SqlValue, Statement } from '../types';

/**
 * The manual-sync condition is untrusted text. It is parsed with a real SQL parser, checked against
 * an allowlist (columns of the table, literals, comparisons, IN lists, BETWEEN, IS NULL, LIKE,
 * AND/OR/NOT, parentheses) and rebuilt from the tree with `?` parameters and quoted identifiers.
 * The text itself never reaches a server. Everything else is refused with the reason.
 *
 * A small lexer reads the text as MySQL would (default sql_mode: backslash escapes on, `"` quotes a
 * string): it refuses comments, `;` and backslashes outside string literals, and gives each literal's
 * exact value: string values unescaped as MySQL does, numbers as their source digits (the parser's own
 * values are floats). The tree walk then takes the lexer's literals in order and checks each against the
 * tree's; any disagreement refuses the condition. Numbers must be plain decimals: exponents, hex and bit
 * literals are refused.
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

/** A literal as MySQL reads it from the text: a string's value, a number's exact digits. */
type Lexed = { kind: 'string'; quote: "'" | '"'; value: string } | { kind: 'number'; text: string };

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

const sticky = (re: RegExp, text: string, at: number): string => {
  re.lastIndex = at;
  return re.exec(text)?.[0] ?? '';
};

/**
 * Reads the text as MySQL's lexer does, so that string boundaries, comments and `;` are judged where
 * the server would see them (a `;` inside a string is data; outside one it is a second statement).
 * Returns the string and number literals in source order; the tree walk consumes them one by one.
 */
function lexLiterals(where: string): Lexed[] {
  const literals: Lexed[] = [];
  let prev = ''; // the previous token, to give a number the sign the parser folded into it
  let i = 0;
  while (i < where.length) {
    const c = where[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
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
      i += text.length;
      continue;
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
      prev = 'word';
      i += word.length;
      continue;
    }
    prev = c;
    i++;
  }
  return literals;
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
    /** The text's literals in source order; the walk visits the tree's literals in the same order. */
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

  /** A number travels as its exact source text, cast to a DECIMAL just wide enough to hold it. */
  private number(node: Node): string {
    const { text } = this.take('number');
    // The parser's value is a float (or its rounded text): close enough to prove it is the same literal.
    const a = Number(node.value);
    const b = Number(text);
    if (!(a === b || Math.abs(a - b) <= Math.abs(b) * 1e-12)) this.ambiguous();
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
    if (!real) reject(`unknown column "${name}"`);
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
        const name = node.name as { name?: { value?: string }[] } | string | undefined;
        const fn = typeof name === 'string' ? name : (name?.name?.map((p) => p.value).join('.') ?? '?');
        return `function ${fn.toUpperCase()} is not allowed`;
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
        return 'INTERVAL is not allowed';
      case 'column_ref':
        return 'a bare column is not a condition: compare it with something';
      default:
        return `${node.type ?? 'this expression'} is not allowed`;
    }
  }

  /** An operand of a comparison: a column or a literal. */
  private operand(node: Node): { sql: string; isColumn: boolean } {
    if (node.collate) reject('COLLATE is not allowed');
    if (node.type === 'column_ref') return { sql: this.column(node), isColumn: true };
    if (
      node.type === 'binary_expr' &&
      ['+', '-', '*', '/', '%', 'DIV', '||', '&', '|', '^', '<<', '>>'].includes(String(node.operator))
    ) {
      reject(`arithmetic ("${String(node.operator)}") is not allowed`);
    }
    if (node.type === 'expr_list' || node.type === 'binary_expr' || node.type === 'unary_expr')
      reject(this.describe(node));
    if ((node as { ast?: unknown }).ast) reject('subqueries are not allowed');
    return { sql: this.literal(node), isColumn: false };
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
    return reject(`operator ${op} is not allowed`);
  }

  private requireColumn(node: Node, op: string): string {
    if (node.type !== 'column_ref') {
      const literal = /string|number|bigint|bool|null/.test(String(node.type));
      reject(literal ? `${op} needs a column on its left` : this.describe(node));
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
  const literals = lexLiterals(where);
  let ast: unknown;
  try {
    ast = parser.astify(`SELECT * FROM ${PLACEHOLDER_TABLE} WHERE ${where}`, { database: 'MySQL' });
  } catch (err) {
    const near = /but "(.{0,20})/.exec((err as Error).message)?.[1];
    return reject(`not a valid condition${near ? ` near "${near.replace(/".*$/, '')}"` : ''}`, 400);
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
