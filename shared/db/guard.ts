import type { SyncConfig } from '../config/schema';
import { logger } from '../observability';
import { getDatabase } from './connection';

export class OnlineTargetError extends Error {
  override name = 'OnlineTargetError';
}

const verified = new Map<string, Promise<void>>();

/**
 * The never-write-online guard at connect time: the target's server identity (server_uuid, or
 * hostname:port:server_id where the server has no uuid) must differ from every online database's.
 * Config validation already compared host:port; this also catches a secret or DNS name that points
 * at production. An online database that cannot be reached cannot be the target's server either way,
 * so it is logged and passed over. Checked once per target per container.
 */
export function assertOfflineTarget(target: string, config: SyncConfig): Promise<void> {
  let p = verified.get(target);
  if (!p) {
    p = (async () => {
      const db = await getDatabase(target, config);
      if (db.role !== 'offline') throw new OnlineTargetError(`"${target}" is not an offline database`);
      for (const [name, cfg] of Object.entries(config.databases)) {
        if (cfg.role !== 'online') continue;
        let identity: string;
        try {
          identity = (await getDatabase(name, config)).identity;
        } catch (err) {
          logger.warn('online database unreachable for the identity check', {
            online: name,
            error: (err as Error).message,
          });
          continue;
        }
        if (identity === db.identity) {
          throw new OnlineTargetError(
            `offline database "${target}" is the same server as online database "${name}": refusing to write`,
          );
        }
      }
    })();
    p.catch(() => verified.delete(target));
    verified.set(target, p);
  }
  return p;
}
