import { Parser } from 'node-sql-parser';
import type { SqlValue, Statement } from '../types';

/**
 * The manual-sync condition is untrusted text. It is parsed with a real SQL parser, checked against
 * an allowlist (columns of the table, literals, comparisons, IN lists, BETWEEN, IS NULL, LIKE,
 * AND/OR/NOT, parentheses) and rebuilt from the tree with `?` parameters and quoted identifiers.
 * The text itself never reaches a server. Everything else is refused with the reason.
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

const reject = (reason: string, status: 400 | 422 = 422): never => {
  throw new ConditionRejectedError(reason, status);
};

/** Cheap checks on the raw text, before the parser sees it: what could smuggle a second statement or hide text. */
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
  if (where.includes(';')) reject('";" is not allowed: one condition, no further statements');
  if (/--|#|\/\*|\*\//.test(where)) reject('comments are not allowed');
  if (where.includes('\\'))
    reject('backslashes are not allowed (write a quote inside a string as two quotes)');
  // Backticks only around a plain column name; look-alike quotes never.
  if (
    /[\u2018\u2019\u201A\u201B\u201C\u201D\u02BC\uFF07\uFF02`]/.test(where.replace(/`[A-Za-z0-9_$]+`/g, ''))
  ) {
    reject('unusual quote characters are not allowed');
  }
}

type Node = { type?: string; [k: string]: unknown };

interface Built {
  sql: string;
  params: SqlValue[];
}

class ConditionCompiler {
  private readonly params: SqlValue[] = [];
  private readonly columns: Map<string, string>;

  constructor(
    columns: readonly string[],
    private readonly quote: (name: string) => string,
  ) {
    this.columns = new Map(columns.map((c) => [c.toLowerCase(), c]));
  }

  compile(node: unknown): Built {
    const sql = this.boolean(node as Node);
    return { sql, params: this.params };
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

  private literal(node: Node): SqlValue {
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
      case 'number': {
        const v = node.value;
        const text = String(v);
        if (!/^-?\d+(\.\d+)?$/.test(text)) reject(`number "${text}" is not a plain decimal`);
        if (typeof v === 'number' && !Number.isSafeInteger(v) && text.replace(/\D/g, '').length > 15) {
          reject(`number "${text}" has more digits than can be kept exactly`);
        }
        return text;
      }
      case 'bigint': {
        const text = String(node.value);
        if (!/^-?\d+(\.\d+)?$/.test(text)) reject(`number "${text}" is not a plain decimal`);
        return text;
      }
      case 'single_quote_string':
        return String(node.value).replaceAll("''", "'");
      case 'double_quote_string':
        return String(node.value).replaceAll('""', '"');
      case 'bool':
        return node.value ? '1' : '0';
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
    this.params.push(this.literal(node));
    return { sql: '?', isColumn: false };
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
        this.params.push(this.literal(item));
        return '?';
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
      this.params.push(this.literal(right));
      return `(${col} ${op} ?)`;
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
  return new ConditionCompiler(columns, quoteIdentifier).compile(select.where);
}
