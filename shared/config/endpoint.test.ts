import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  endpointKey,
  hostKey,
  LOOPBACK,
  parseMysqlUrl,
  redactUrl,
  resolveEndpointAddresses,
} from './endpoint';

describe('endpoint', () => {
  it.each([
    ['127.1', LOOPBACK],
    ['0x7f000001', LOOPBACK],
    ['[::ffff:127.0.0.1]', LOOPBACK],
    ['::', LOOPBACK],
    ['ip6-localhost', LOOPBACK],
    ['10.5', '10.0.0.5'],
    ['0x0a000005', '10.0.0.5'],
    ['::ffff:a00:5', '10.0.0.5'],
    ['[2001:DB8:0:0:0:0:0:7]', '2001:db8::7'],
    ['DB.Example.COM.', 'db.example.com'],
    ['host.1', 'host.1'],
    // Not a host a URL could carry (secrets can): kept as is, not handed to the URL parser.
    ['evil@127.0.0.1', 'evil@127.0.0.1'],
  ])('hostKey(%s) is %s', (host, key) => {
    expect(hostKey(host)).toBe(key);
  });

  it('brackets an IPv6 key so the port stays apart', () => {
    expect(endpointKey({ host: '2001:db8::7', port: 3306 })).toBe('[2001:db8::7]:3306');
    expect(endpointKey({ host: 'localhost', port: 3307 })).toBe('loopback:3307');
  });

  it('parses a URL, taking the brackets off an IPv6 host and defaulting the port', () => {
    expect(parseMysqlUrl('mysql://a%40b:p%2Fw@[::1]/shop%20db')).toEqual({
      host: '::1',
      port: 3306,
      user: 'a@b',
      password: 'p/w',
      database: 'shop db',
    });
  });

  it('throws a ConfigError holding no part of the password', () => {
    const err = (() => {
      try {
        parseMysqlUrl('mysql://app:S3cr3t/x@host:3306');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(inspect(err)).not.toContain('S3cr');
    expect(JSON.stringify(err)).not.toContain('S3cr');
    expect(err).not.toHaveProperty('input');
    expect(err).not.toHaveProperty('cause');
  });

  it.each([
    ['mysql://app:S3cr3t@host:3306/db', 'mysql://app:***@host:3306/db'],
    ['mysql://app@host', 'mysql://app@host'],
    ['mysql://app:S3cr3t@host/db?password=S3cr3t', 'mysql://app:***@host/db?…'],
    ['mysql://app:S3cr3t/x@host:3306', 'mysql://app:***@…'],
    ['mysql://app:12345/S3cr3t@host', 'mysql://app:***@…'],
    ['mysql://app:S3cr3t', 'mysql://…'],
  ])('redactUrl(%s) is %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });

  it('resolves a name through the system resolver, folding loopback answers', async () => {
    expect(await resolveEndpointAddresses('localhost')).toEqual([LOOPBACK]);
  });

  it('returns an address literal without asking DNS', async () => {
    expect(await resolveEndpointAddresses('127.1')).toEqual([LOOPBACK]);
    expect(await resolveEndpointAddresses('[::ffff:10.0.0.5]')).toEqual(['10.0.0.5']);
    expect(await resolveEndpointAddresses('2001:DB8::0:7')).toEqual(['2001:db8::7']);
  });
});
