import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatListenAddress, isLoopbackHost, nearest, parseCidr, parseListenAddress, redactSecret } from './values.js';

describe('listen addresses', () => {
  it.each([
    ['', null],
    [':993', { host: '', port: 993 }],
    ['0.0.0.0:25', { host: '0.0.0.0', port: 25 }],
    ['localhost:8081', { host: 'localhost', port: 8081 }],
    ['[::1]:993', { host: '::1', port: 993 }],
    ['[::]:1', { host: '::', port: 1 }],
    [':65535', { host: '', port: 65535 }],
  ])('%j parses', (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
  });

  it.each([':', ':0', ':65536', '::1:993', '[::1]', '[::1]:', '[127.0.0.1]:25', 'mail:25', '1.2.3:25', ':+25', ': 25', ':0993x'])(
    '%j is refused',
    (text) => {
      expect(parseListenAddress(text)).toBeUndefined();
    },
  );

  it('format and parse are inverse for every valid address', () => {
    const host = fc.oneof(fc.constant(''), fc.constant('localhost'), fc.ipV4(), fc.ipV6());
    fc.assert(
      fc.property(host, fc.integer({ min: 1, max: 65535 }), (h, port) => {
        const address = { host: h, port };
        expect(parseListenAddress(formatListenAddress(address))).toEqual(address);
      }),
    );
    expect(formatListenAddress(null)).toBe('');
  });

  it('tells loopback hosts apart', () => {
    for (const host of ['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost']) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of ['', '0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', 'fe80::1']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});

describe('CIDR', () => {
  it('reads networks and bare addresses', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 4 });
    expect(parseCidr('fd00::/8')).toEqual({ address: 'fd00::', prefix: 8, family: 6 });
    expect(parseCidr('192.0.2.1')).toEqual({ address: '192.0.2.1', prefix: 32, family: 4 });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 6 });
  });

  it.each(['10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/-1', 'example.com/8', 'fe80::1%eth0', '10.0.0.0/8/8'])(
    '%j is refused',
    (text) => {
      expect(parseCidr(text)).toBeUndefined();
    },
  );
});

describe('suggestions and secrets', () => {
  it('suggests only close candidates', () => {
    expect(nearest('imapz', ['imap', 'pop3'])).toBe('imap');
    expect(nearest('kye', ['key', 'cert'])).toBe('key');
    expect(nearest('s3', ['fs', 'postgres'])).toBeUndefined();
  });

  it('hides passwords in connection strings', () => {
    expect(redactSecret('postgres://bulwark:s3cret@db:5432/x')).toBe('postgres://bulwark:***@db:5432/x');
    expect(redactSecret('postgres://db/x')).toBe('postgres://db/x');
  });
});
