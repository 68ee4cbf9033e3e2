import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../shared/config/load';
import { useConfig } from './support/env';

const minimal = {
  databases: {
    shop_online: { role: 'online', url: 'mysql://reader:pw@127.0.0.1:3306' },
    shop_offline: { role: 'offline', secretId: 'arn:aws:secretsmanager:us-east-1:123:secret:shop-offline' },
  },
  cdc: [{ topics: ['dbserver1.shop.t_config'], target: 'shop_offline' }],
  manual: [{ source: 'shop_online', target: 'shop_offline' }],
};

function withChange(mutate: (doc: typeof minimal & Record<string, unknown>) => void): unknown {
  const doc = structuredClone(minimal) as typeof minimal & Record<string, unknown>;
  mutate(doc);
  return doc;
}

function errorOf(doc: unknown): string {
  try {
    parseConfig(doc);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('config', () => {
  it('accepts the minimal documented shape and fills defaults', () => {
    const cfg = parseConfig(minimal);
    expect(cfg.cdc[0]).toMatchObject({ format: 'auto', onConflict: 'overwrite', tables: ['*.*'] });
    expect(cfg.manual[0]).toMatchObject({ defaultLimit: 5000 });
    expect(cfg.api.auth.type).toBe('iam');
  });

  it('reads the file SYNC_CONFIG names', () => {
    const path = useConfig(minimal);
    expect(loadConfigFile(path).databases.shop_online?.role).toBe('online');
  });

  it.each([
    [
      'a cdc target that is online',
      withChange((d) => {
        d.cdc[0] = { topics: ['t'], target: 'shop_online' };
      }),
      'cdc[0].target: "shop_online" has role "online"',
    ],
    [
      'a manual target that is online',
      withChange((d) => {
        d.manual[0] = { source: 'shop_online', target: 'shop_online' };
      }),
      'manual[0].target: "shop_online" has role "online"',
    ],
    [
      'an unknown target',
      withChange((d) => {
        d.cdc[0] = { topics: ['t'], target: 'nope' };
      }),
      'cdc[0].target: unknown database "nope"',
    ],
    [
      'an unknown manual source',
      withChange((d) => {
        d.manual[0] = { source: 'ghost', target: 'shop_offline' };
      }),
      'manual[0].source: unknown database "ghost"',
    ],
    [
      'a bad role',
      withChange((d) => {
        (d.databases.shop_online as { role: string }).role = 'primary';
      }),
      'databases.shop_online.role',
    ],
    [
      'neither url nor secretId',
      withChange((d) => {
        d.databases.shop_offline = { role: 'offline' } as never;
      }),
      'databases.shop_offline.url: give exactly one of "url" or "secretId"',
    ],
    [
      'an offline database on the online host:port',
      withChange((d) => {
        d.databases.shop_offline = { role: 'offline', url: 'mysql://w:pw@localhost:3306/x' } as never;
      }),
      'databases.shop_offline.url: offline database "shop_offline" points at the same server as online database "shop_online"',
    ],
    [
      'an unknown key',
      withChange((d) => {
        (d.cdc[0] as Record<string, unknown>).onconflict = 'skip';
      }),
      'cdc[0]: Unrecognized key: "onconflict"',
    ],
    [
      'a bad conflict policy',
      withChange((d) => {
        (d.cdc[0] as Record<string, unknown>).onConflict = 'merge';
      }),
      'cdc[0].onConflict',
    ],
    [
      'a topic routed twice',
      withChange((d) => {
        d.cdc.push({ topics: ['dbserver1.shop.t_config'], target: 'shop_offline' });
      }),
      'cdc[1].topics[0]: topic "dbserver1.shop.t_config" is already routed by cdc[0]',
    ],
  ])('rejects %s, naming the key', (_what, doc, expected) => {
    expect(errorOf(doc)).toContain(expected);
  });

  it('says which file is unreadable or not YAML', () => {
    expect(() => loadConfigFile('/nonexistent/sync.config.yml')).toThrow(/cannot read config file/);
  });
});
