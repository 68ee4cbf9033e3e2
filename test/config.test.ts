import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseMysqlUrl } from '../shared/config/endpoint';
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

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected the config to be rejected');
}

function errorOf(doc: unknown): string {
  return thrown(() => parseConfig(doc)).message;
}

function withOfflineUrl(url: string): unknown {
  return withChange((d) => {
    d.databases.shop_offline = { role: 'offline', url } as never;
  });
}

/** Every way an error reaches a log: none may show the secret. */
function expectNoSecret(err: unknown, secrets: string[]): void {
  for (const printed of [
    (err as Error).message,
    String(err),
    JSON.stringify(err),
    inspect(err, { depth: 10 }),
  ]) {
    for (const secret of secrets) expect(printed).not.toContain(secret);
  }
}

function writeRawConfig(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cdc-mirror-cfg-')), 'sync.config.yml');
  writeFileSync(path, text);
  return path;
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

  // The online database is mysql://reader:pw@127.0.0.1:3306: every other spelling of a loopback address
  // on that port reaches the same server.
  it.each([
    '127.1',
    '0.0.0.0',
    '2130706433',
    '0x7f000001',
    '127.000.000.001',
    '0177.0.0.1',
    '127.0.0.2',
    '127.255.255.254',
    '[::1]',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    '[0:0:0:0:0:0:0:1]',
    '[::]',
    'LOCALHOST',
    'localhost.',
    'localhost',
    'db.localhost',
  ])('refuses an offline database on the online server spelled %s', (host) => {
    expect(errorOf(withOfflineUrl(`mysql://w:pw@${host}:3306/x`))).toContain(
      'databases.shop_offline.url: offline database "shop_offline" points at the same server as online database "shop_online"',
    );
  });

  it.each([
    ['the default port', 'mysql://reader:pw@10.0.0.5:3306', 'mysql://w:pw@10.0.0.5/x'],
    ['a short IPv4 form', 'mysql://reader:pw@10.0.0.5:3306', 'mysql://w:pw@10.5:3306'],
    ['a hex IPv4 form', 'mysql://reader:pw@10.0.0.5:3306', 'mysql://w:pw@0x0a000005:3306'],
    ['IPv4-mapped IPv6', 'mysql://reader:pw@10.0.0.5:3306', 'mysql://w:pw@[::ffff:10.0.0.5]:3306'],
    [
      'an expanded IPv6 form',
      'mysql://reader:pw@[2001:db8::7]:3306',
      'mysql://w:pw@[2001:DB8:0:0:0:0:0:7]:3306',
    ],
    [
      'a name in another case with a trailing dot',
      'mysql://r:pw@db.example.com',
      'mysql://w:pw@DB.Example.COM.',
    ],
    [
      'an online loopback name against an offline address',
      'mysql://r:pw@localhost:3306',
      'mysql://w:pw@[::1]',
    ],
  ])('refuses the same server through %s', (_what, onlineUrl, offlineUrl) => {
    const doc = withChange((d) => {
      d.databases.shop_online.url = onlineUrl;
      d.databases.shop_offline = { role: 'offline', url: offlineUrl } as never;
    });
    expect(errorOf(doc)).toContain('databases.shop_offline.url: offline database "shop_offline" points at');
  });

  it.each([
    'mysql://w:pw@127.0.0.1:3307/x',
    'mysql://w:pw@[::1]:3307/x',
    'mysql://w:pw@localhost:3307/x',
    'mysql://w:pw@10.0.0.6:3306/x',
    'mysql://w:pw@[2001:db8::1]:3306/x',
    'mysql://w:pw@db-test.example.com:3306/x',
    'mysql://w:pw@127.0.0.1.example.com:3306/x',
  ])('accepts a distinct offline server %s', (url) => {
    expect(parseConfig(withOfflineUrl(url)).databases.shop_offline?.url).toBe(url);
  });

  // Passwords all contain S3cr3t; a raw / ? or # in one, a bad port or a missing host made
  // Node's TypeError print the whole URL.
  it.each([
    ['a raw / in the password', 'mysql://app:S3cr3t/x@host:3306', 'percent-encode'],
    ['a password cut short into host:port', 'mysql://app:12345/S3cr3t@host:3306', 'percent-encode'],
    ['a raw # in the password', 'mysql://app:S3cr3t#x@host:3306', 'percent-encode'],
    ['a raw ? in the password', 'mysql://app:S3cr3t?x@host:3306', 'percent-encode'],
    ['port 99999', 'mysql://app:S3cr3t@host:99999', 'port must be 1-65535'],
    ['port 0', 'mysql://app:S3cr3t@host:0', 'port must be 1-65535'],
    ['no host', 'mysql://app:S3cr3t@', 'no host'],
    ['no @host at all', 'mysql://app:S3cr3t', 'no @host'],
    ['a bad %-escape', 'mysql://app:S3cr3t%zz@host:3306', '%-escape'],
    ['another scheme', 'postgres://app:S3cr3t@host:5432', 'expected mysql://'],
  ])('refuses a malformed URL (%s) naming the key, without the password', (_what, url, why) => {
    const err = thrown(() => parseConfig(withOfflineUrl(url)));
    expect(err.message).toContain('databases.shop_offline.url: not a valid mysql:// URL (');
    expect(err.message).toContain(why);
    expectNoSecret(err, ['S3cr', '12345']);
    // A runtime caller of parseMysqlUrl gets the same care.
    expectNoSecret(
      thrown(() => parseMysqlUrl(url)),
      ['S3cr', '12345'],
    );
  });

  it('shows a malformed URL redacted to scheme and user', () => {
    expect(errorOf(withOfflineUrl('mysql://app:S3cr3t/x@host:3306'))).toContain('(mysql://app:***@…)');
  });

  it('refuses a malformed URL in a file without the password', () => {
    const path = writeRawConfig(
      [
        'databases:',
        '  shop_online: { role: online, url: "mysql://reader:S3cr3t@host:99999" }',
        '  shop_offline: { role: offline, secretId: x }',
      ].join('\n'),
    );
    const err = thrown(() => loadConfigFile(path));
    expect(err.message).toContain('databases.shop_online.url: not a valid mysql:// URL');
    expectNoSecret(err, ['S3cr']);
  });

  it.each([
    [
      'an unclosed flow map',
      'databases:\n  a: { role: online, url: "mysql://reader:S3cr3t@h"\n  b: 1\n',
      'line 3',
    ],
    ['a nested mapping on one line', 'databases:\n  a:\n    url: mysql://reader:S3cr3t@h: x\n', 'line 3'],
    ['a bad escape', 'databases:\n  a:\n    url: "mysql://reader:S3cr3t\\q@h"\n', 'line 3'],
    ['an unresolved alias', 'databases:\n  a:\n    url: *S3cr3t\n', 'not valid YAML'],
  ])('says where the YAML is broken (%s) without quoting it', (_what, text, where) => {
    const err = thrown(() => loadConfigFile(writeRawConfig(text)));
    expect(err.message).toContain('is not valid YAML');
    expect(err.message).toContain(where);
    expectNoSecret(err, ['S3cr']);
  });
});
