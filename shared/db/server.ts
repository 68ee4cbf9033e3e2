import type { ServerInfo } from '../types';

/** Which server speaks, from its VERSION() text, and which SQL forms it accepts. */
export function detectServer(version: string): ServerInfo {
  if (/-TiDB-/i.test(version)) return { kind: 'tidb', version, supportsRowAlias: false };
  if (/mariadb/i.test(version)) return { kind: 'mariadb', version, supportsRowAlias: false };
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/, 3).map((p) => Number.parseInt(p, 10) || 0);
  // `INSERT ... AS new ON DUPLICATE KEY UPDATE c = new.c` arrived in 8.0.19; VALUES(c) is deprecated from 8.0.20.
  const rowAlias = major > 8 || (major === 8 && (minor > 0 || patch >= 19));
  return { kind: 'mysql', version, supportsRowAlias: rowAlias };
}
