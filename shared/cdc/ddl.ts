// The MySQL-only build (the all-dialect one is ten times larger); MariaDB DDL is read with the same grammar.
import type { Parser } from 'node-sql-parser/build/mysql';
import type { TableRef } from '../types';

/**
 * Which DDL messages may run on the offline database (`applyDdl: true`). The statement is parsed with
 * the SQL parser and judged on its tree: one table-level statement (CREATE/ALTER/DROP/RENAME/TRUNCATE
 * TABLE, CREATE/DROP INDEX) on the routed table, in its own schema. Never data statements, users,
 * plugins, or storage engines and options that reach other servers or files (FEDERATED, CONNECT,
 * SPIDER, CONNECTION=, DATA/INDEX DIRECTORY, MERGE UNION=). Anything else is refused with the reason
 * and dead-lettered.
 */

export class DdlRefusedError extends Error {
  override name = 'DdlRefusedError';
}

/** Engines that keep their rows in this server's own files. */
const LOCAL_ENGINES = new Set(['innodb', 'myisam', 'aria', 'memory', 'heap', 'rocksdb', 'csv', 'archive']);

let parser: Parser | undefined;

/** The SQL parser, loaded on the first DDL: most batches carry none, and it is a tenth of a cold start. */
function sqlParser(): Parser {
  if (!parser) {
    const { Parser: SqlParser } =
      require('node-sql-parser/build/mysql') as typeof import('node-sql-parser/build/mysql');
    parser = new SqlParser();
  }
  return parser;
}

type Node = Record<string, unknown>;
interface Ref {
  db: string | null;
  table: string;
}

/** The text with string literals, quoted identifiers and comments blanked: what the server reads as keywords. */
function keywordText(sql: string): string {
  return sql.replace(
    /'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`|\/\*[\s\S]*?\*\/|(?:--\s|#)[^\n]*/g,
    ' ',
  );
}

function parse(sql: string): Node[] {
  try {
    const ast = sqlParser().astify(sql, { database: 'MySQL' });
    return (Array.isArray(ast) ? ast : [ast]) as unknown as Node[];
  } catch (err) {
    throw new DdlRefusedError(
      `DDL not understood by the SQL parser, not run: ${String((err as Error)?.message ?? err).slice(0, 120)}`,
    );
  }
}

const refsOf = (v: unknown): Ref[] => {
  if (!v) return [];
  if (Array.isArray(v)) return v.flatMap(refsOf);
  const n = v as Node;
  if (typeof n.table === 'string') return [{ db: typeof n.db === 'string' ? n.db : null, table: n.table }];
  return [];
};

function tablesOf(stmt: Node): Ref[] {
  const refs = [
    ...refsOf(stmt.table),
    ...refsOf(stmt.name),
    ...refsOf((stmt.like as Node | undefined)?.table),
  ];
  for (const e of (stmt.expr as Node[] | undefined) ?? []) {
    // ALTER TABLE t RENAME TO u names the new table as a bare string.
    if (e.resource === 'table' && typeof e.table === 'string') refs.push({ db: null, table: e.table });
  }
  return refs;
}

const ALLOWED = new Set([
  'create table',
  'create index',
  'alter',
  'drop table',
  'drop index',
  'rename',
  'truncate table',
]);

/**
 * Throws DdlRefusedError unless `sql` is one table-level statement on `table` (the online table the
 * message is about), naming no schema but `sourceSchema` or `targetSchema`.
 */
export function checkDdl(sql: string, table: TableRef, sourceSchema: string, targetSchema: string): void {
  // Executable comments run on the server but are comments to the parser: never judge those.
  if (/\/\*[!M+]/.test(sql))
    throw new DdlRefusedError('DDL with executable comments (/*! ... */) is not run');
  const statements = parse(sql);
  if (statements.length !== 1) throw new DdlRefusedError('one DDL statement per message, not run');
  const stmt = statements[0] as Node;
  const kind =
    stmt.type === 'alter' || stmt.type === 'rename'
      ? String(stmt.type)
      : `${stmt.type} ${String(stmt.keyword)}`;
  if (!ALLOWED.has(kind.toLowerCase())) {
    throw new DdlRefusedError(`only table-level DDL is run; "${kind.toUpperCase()}" is not`);
  }
  const text = keywordText(sql);
  for (const m of text.matchAll(/\bENGINE\s*=?\s*([A-Za-z_][A-Za-z0-9_]*)/gi)) {
    const engine = (m[1] as string).toLowerCase();
    if (!LOCAL_ENGINES.has(engine))
      throw new DdlRefusedError(`storage engine ${engine.toUpperCase()} is not allowed`);
  }
  const option = /\b(CONNECTION\s*=|DATA\s+DIRECTORY|INDEX\s+DIRECTORY|UNION\s*=)/i.exec(text);
  if (option) throw new DdlRefusedError(`table option ${(option[1] as string).toUpperCase()} is not allowed`);
  if (/\bSELECT\b/i.test(text)) throw new DdlRefusedError('DDL that reads data (SELECT) is not run');
  const refs = tablesOf(stmt);
  if (refs.length === 0) throw new DdlRefusedError('DDL names no table, not run');
  const schemas = new Set([sourceSchema.toLowerCase(), targetSchema.toLowerCase()]);
  const foreign = refs.find((r) => r.db !== null && !schemas.has(r.db.toLowerCase()));
  if (foreign) throw new DdlRefusedError(`DDL names schema "${foreign.db}", not the routed one`);
  if (sourceSchema !== targetSchema && refs.some((r) => r.db?.toLowerCase() === sourceSchema.toLowerCase())) {
    throw new DdlRefusedError(
      `DDL names the online schema "${sourceSchema}" while it maps to "${targetSchema}": not run`,
    );
  }
  const same = (r: Ref) => r.table.toLowerCase() === table.table.toLowerCase();
  // RENAME moves the routed table (or brings another in its place); everything else touches only it.
  const renames = kind === 'rename' || refs.length > 1;
  if (renames ? !refs.some(same) : !refs.every(same)) {
    throw new DdlRefusedError(`DDL touches a table other than ${table.table}, not run`);
  }
}
