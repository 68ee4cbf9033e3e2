import type { TableRef } from '../types';

/** The one identifier-quoting helper: backticks, with embedded backticks doubled. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\u0000')) throw new Error('invalid identifier');
  return `\`${name.replaceAll('`', '``')}\``;
}

export function quoteTable(ref: TableRef): string {
  return `${quoteIdentifier(ref.schema)}.${quoteIdentifier(ref.table)}`;
}

export function tableName(ref: TableRef): string {
  return `${ref.schema}.${ref.table}`;
}
