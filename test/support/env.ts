import { inject } from 'vitest';

export { useConfig } from './config-file';
export { rawConnection } from './raw-connection';

export const onlineUrl = (): string => inject('onlineUrl');
export const offlineUrl = (): string => inject('offlineUrl');

let counter = 0;
/** A schema name no other test file uses, so files can share the servers. */
export function uniqueSchema(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}
