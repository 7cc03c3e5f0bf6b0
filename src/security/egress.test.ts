import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Forbidden, InvalidInput, NotFound, TooLarge, Unavailable } from '../core/errors.js';
import {
  EgressGuard,
  canonicalIp,
  forbiddenReason,
  formatIp,
  isForbiddenAddress,
  isInCidrList,
  parseCidr,
  parseIp,
  type EgressResolver,
} from './egress.js';

/** A resolver backed by a fixture zone; counts lookups. */
function zone(records: Record<string, { a?: string[]; aaaa?: string[] }>): EgressResolver & { calls: number } {
  const noData = (): Error => Object.assign(new Error('no data'), { code: 'ENODATA' });
  const r = {
    calls: 0,
    async resolve4(host: string): Promise<string[]> {
      r.calls++;
      const a = records[host]?.a;
      if (!a) throw noData();
      return a;
    },
    async resolve6(host: string): Promise<string[]> {
      r.calls++;
      const a = records[host]?.aaaa;
      if (!a) throw noData();
      return a;
    },
  };
  return r;
}

describe('IP parsing', () => {
  it('accepts canonical IPv4 and refuses other spellings', () => {
    expect(formatIp(parseIp('192.0.2.1')!)).toBe('192.0.2.1');
    for (const bad of ['127.1', '0x7f.0.0.1', '0177.0.0.1', '2130706433', '127.0.0.01', '1.2.3.4.', ' 1.2.3.4', '256.0.0.1', '1.2.3', '']) {
      expect(parseIp(bad), bad).toBeNull();
    }
  });

  it('parses IPv6 forms and formats them per RFC 5952', () => {
    const cases: Array<[string, string]> = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:DB8::1', '2001:db8::1'],
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
      ['::ffff:a00:1', '::ffff:10.0.0.1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['64:ff9b::192.168.0.1', '64:ff9b::c0a8:1'],
    ];
    for (const [input, want] of cases) expect(formatIp(parseIp(input)!), input).toBe(want);
    for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0', '[::1]', '12345::', ':::', '1:2:3:4:5:6:7:8::', '::ffff:1.2.3', 'g::1']) {
      expect(parseIp(bad), bad).toBeNull();
    }
  });

  it('round-trips any address through format and parse', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })), (bytes) => {
        const addr = { family: bytes.length === 4 ? (4 as const) : (6 as const), bytes };
        const back = parseIp(formatIp(addr));
        expect(back?.bytes).toEqual(bytes);
      }),
    );
  });

  it('canonicalIp unmaps IPv4-mapped IPv6', () => {
    expect(canonicalIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalIp('2001:DB8::0:1')).toBe('2001:db8::1');
    expect(canonicalIp('localhost')).toBeNull();
  });

  it('matches CIDR lists for both families, mapped addresses included', () => {
    expect(isInCidrList('10.1.2.3', ['10.0.0.0/8'])).toBe(true);
    expect(isInCidrList('11.1.2.3', ['10.0.0.0/8'])).toBe(false);
    expect(isInCidrList('::ffff:10.1.2.3', ['10.0.0.0/8'])).toBe(true);
    expect(isInCidrList('2001:db8:1::5', ['2001:db8::/32'])).toBe(true);
    expect(isInCidrList('2001:db9::5', ['2001:db8::/32'])).toBe(false);
    expect(isInCidrList('172.31.255.255', ['172.16.0.0/12'])).toBe(true);
    expect(isInCidrList('172.32.0.0', ['172.16.0.0/12'])).toBe(false);
    expect(isInCidrList('192.0.2.7', ['192.0.2.7'])).toBe(true);
    expect(isInCidrList('1.2.3.4', ['0.0.0.0/0'])).toBe(true);
    expect(isInCidrList('1.2.3.4', ['garbage', '1.2.3.0/33'])).toBe(false);
    expect(isInCidrList('not-an-ip', ['0.0.0.0/0'])).toBe(false);
    expect(parseCidr('10.0.0.0/08')).toBeNull();
    expect(parseCidr('10.9.9.9/8')?.bytes).toEqual(Uint8Array.from([10, 0, 0, 0]));
  });
});

describe('isForbiddenAddress', () => {
  const forbidden = [
    '0.0.0.0', '0.1.2.3', '10.0.0.1', '100.64.0.1', '100.127.255.255', '127.0.0.1', '127.255.255.254',
    '169.254.169.254', '172.16.0.1', '172.31.0.1', '192.0.0.8', '192.0.2.1', '192.88.99.1', '192.168.1.1',
    '198.18.0.1', '198.19.255.255', '198.51.100.1', '203.0.113.1', '224.0.0.1', '239.255.255.250',
    '240.0.0.1', '255.255.255.255',
    '::', '::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::127.0.0.1',
    'fc00::1', 'fd12:3456::1', 'fe80::1', 'febf::1', 'fec0::1', 'ff02::1', 'ff0e::1',
    '64:ff9b::127.0.0.1', '64:ff9b::10.0.0.1', '64:ff9b:1::1', '100::1', '2001:db8::1', '2001::1',
    '2002:7f00:1::1', '2002:c0a8:101::1', '3fff::1', '4000::1', '::2',
    // not canonical: refused rather than guessed
    '127.1', '0x7f000001', '2130706433', '017700000001', 'fe80::1%lo', 'localhost', '',
  ];
  const allowed = ['8.8.8.8', '1.1.1.1', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '192.169.0.1', '93.184.216.34',
    '2606:4700:4700::1111', '2a00:1450:4001::200e', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1'];

  it.each(forbidden)('refuses %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });
  it.each(allowed)('allows %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });
  it('names the reason', () => {
    expect(forbiddenReason('127.0.0.1')).toBe('loopback');
    expect(forbiddenReason('::ffff:10.0.0.1')).toBe('IPv4-mapped private');
    expect(forbiddenReason('64:ff9b::a9fe:a9fe')).toBe('NAT64-embedded link-local');
    expect(forbiddenReason('127.1')).toBe('not a canonical address');
  });
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string(), (s) => typeof isForbiddenAddress(s) === 'boolean'));
  });
});

describe('EgressGuard.resolveAllowed', () => {
  const resolver = zone({
    'public.example': { a: ['93.184.216.34'], aaaa: ['2606:2800:220:1::1'] },
    'internal.example': { a: ['10.0.0.5'] },
    'mixed.example': { a: ['93.184.216.34', '127.0.0.1'] },
    'mapped.example': { aaaa: ['::ffff:127.0.0.1'] },
    'smarthost.lan': { a: ['192.168.1.25'] },
    'a.corp.example': { a: ['10.9.9.9'] },
    'weird.example': { a: ['127.1'] },
  });

  it('returns the checked public addresses of a name', async () => {
    const g = new EgressGuard({ resolver });
    expect(await g.resolveAllowed('Public.Example.')).toEqual(['93.184.216.34', '2606:2800:220:1::1']);
  });

  it('refuses a name pointing inside, or partly inside', async () => {
    const g = new EgressGuard({ resolver });
    await expect(g.resolveAllowed('internal.example')).rejects.toBeInstanceOf(Forbidden);
    await expect(g.resolveAllowed('mixed.example')).rejects.toBeInstanceOf(Forbidden);
    await expect(g.resolveAllowed('mapped.example')).rejects.toBeInstanceOf(Forbidden);
    await expect(g.resolveAllowed('weird.example')).rejects.toBeInstanceOf(Forbidden);
  });

  it('refuses IP literals that are forbidden and non-canonical numeric names', async () => {
    const g = new EgressGuard({ resolver });
    await expect(g.resolveAllowed('127.0.0.1')).rejects.toBeInstanceOf(Forbidden);
    await expect(g.resolveAllowed('[::1]')).rejects.toBeInstanceOf(Forbidden);
    for (const h of ['127.1', '0x7f.1', '2130706433', '1.2.3.04', 'bad host', '-x.example']) {
      await expect(g.resolveAllowed(h), h).rejects.toBeInstanceOf(InvalidInput);
    }
    expect(await g.resolveAllowed('8.8.8.8')).toEqual(['8.8.8.8']);
  });

  it('an allow-listed name or network opens it', async () => {
    const byName = new EgressGuard({ resolver, allow: ['smarthost.lan', '*.corp.example'] });
    expect(await byName.resolveAllowed('smarthost.lan')).toEqual(['192.168.1.25']);
    expect(await byName.resolveAllowed('a.corp.example')).toEqual(['10.9.9.9']);
    await expect(byName.resolveAllowed('internal.example')).rejects.toBeInstanceOf(Forbidden);
    const byNet = new EgressGuard({ resolver, allow: ['10.0.0.0/24', '127.0.0.1'] });
    expect(await byNet.resolveAllowed('internal.example')).toEqual(['10.0.0.5']);
    expect(await byNet.resolveAllowed('127.0.0.1')).toEqual(['127.0.0.1']);
    await expect(byNet.resolveAllowed('a.corp.example')).rejects.toBeInstanceOf(Forbidden);
    expect(() => new EgressGuard({ resolver, allow: ['not a host!'] })).toThrow(InvalidInput);
  });

  it('distinguishes a missing name from a failing resolver', async () => {
    const g = new EgressGuard({ resolver });
    await expect(g.resolveAllowed('nothing.example')).rejects.toBeInstanceOf(NotFound);
    const failing: EgressResolver = {
      resolve4: () => Promise.reject(Object.assign(new Error('servfail'), { code: 'ESERVFAIL' })),
      resolve6: () => Promise.reject(Object.assign(new Error('servfail'), { code: 'ESERVFAIL' })),
    };
    await expect(new EgressGuard({ resolver: failing }).resolveAllowed('x.example')).rejects.toBeInstanceOf(Unavailable);
    const hanging: EgressResolver = { resolve4: () => new Promise(() => {}), resolve6: () => new Promise(() => {}) };
    await expect(new EgressGuard({ resolver: hanging, timeoutMs: 50 }).resolveAllowed('x.example')).rejects.toBeInstanceOf(Unavailable);
  });
});

describe('EgressGuard.connect', () => {
  let server: net.Server;
  let port = 0;
  beforeAll(async () => {
    server = net.createServer((s) => s.end('hello\r\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const resolver = zone({ 'loop.test': { a: ['127.0.0.1'] } });

  it('refuses a loopback destination without an allow entry', async () => {
    const g = new EgressGuard({ resolver });
    await expect(g.connect('loop.test', port)).rejects.toBeInstanceOf(Forbidden);
    await expect(g.connect('127.0.0.1', port)).rejects.toBeInstanceOf(Forbidden);
  });

  it('connects to an allowed address', async () => {
    const g = new EgressGuard({ resolver, allow: ['127.0.0.0/8'] });
    const socket = await g.connect('loop.test', port);
    const data = await new Promise<string>((r) => {
      let s = '';
      socket.on('data', (d: Buffer) => (s += d.toString()));
      socket.on('end', () => r(s));
    });
    expect(data).toBe('hello\r\n');
    expect(socket.remoteAddress).toBe('127.0.0.1');
  });

  it('reports a refused connection as Unavailable and rejects bad ports', async () => {
    const g = new EgressGuard({ resolver, allow: ['127.0.0.1'] });
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(g.connect('127.0.0.1', closedPort)).rejects.toBeInstanceOf(Unavailable);
    await expect(g.connect('127.0.0.1', 0)).rejects.toBeInstanceOf(InvalidInput);
    await expect(g.connect('127.0.0.1', 70000)).rejects.toBeInstanceOf(InvalidInput);
  });
});

/** Makes a self-signed certificate for localhost/127.0.0.1 with openssl, or null if unavailable. */
function makeCert(): { key: string; cert: string } | null {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-egress-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k.pem'),
        '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } catch (err) {
    console.warn(`skipping https egress tests: openssl could not make a certificate (${String(err)})`);
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tls = makeCert();

describe.skipIf(tls === null)('EgressGuard.fetchHttps', () => {
  let server: https.Server;
  let port = 0;
  const big = 'x'.repeat(200_000);
  beforeAll(async () => {
    server = https.createServer({ key: tls!.key, cert: tls!.cert }, (req, res) => {
      switch (req.url) {
        case '/policy':
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(`host=${req.headers.host}`);
          break;
        case '/redirect':
          res.writeHead(302, { location: 'https://169.254.169.254/latest/meta-data/' });
          res.end();
          break;
        case '/big-declared':
          res.writeHead(200, { 'content-length': String(big.length) });
          res.end(big);
          break;
        case '/big-chunked':
          res.writeHead(200);
          res.write(big.slice(0, 1000));
          setTimeout(() => res.end(big), 20);
          break;
        case '/slow':
          res.writeHead(200);
          res.write('partial');
          // never ends
          break;
        default:
          res.writeHead(404);
          res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });

  const resolver = zone({ localhost: { a: ['127.0.0.1'] } });
  const allowed = () => new EgressGuard({ resolver, allow: ['localhost'], timeoutMs: 5000 });

  it('refuses a loopback https server without an allow entry', async () => {
    const g = new EgressGuard({ resolver });
    await expect(g.fetchHttps(`https://localhost:${port}/policy`, { ca: tls!.cert })).rejects.toBeInstanceOf(Forbidden);
    await expect(g.fetchHttps(`https://127.0.0.1:${port}/policy`, { ca: tls!.cert })).rejects.toBeInstanceOf(Forbidden);
    await expect(g.fetchHttps(`https://[::1]:${port}/policy`, { ca: tls!.cert })).rejects.toBeInstanceOf(Forbidden);
  });

  it('fetches when allowed, by name and by network', async () => {
    const res = await allowed().fetchHttps(`https://localhost:${port}/policy`, { ca: tls!.cert });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(Buffer.from(res.body).toString()).toBe(`host=localhost:${port}`);
    const byNet = new EgressGuard({ resolver, allow: ['127.0.0.1/32'] });
    const res2 = await byNet.fetchHttps(`https://127.0.0.1:${port}/policy`, { ca: tls!.cert });
    expect(res2.status).toBe(200);
  });

  it('resolves once and connects only to the checked address', async () => {
    // A rebinding zone: the first answer is allowed, every later one points elsewhere.
    let calls = 0;
    const rebinding: EgressResolver = {
      resolve4: async () => (calls++ === 0 ? ['127.0.0.1'] : ['10.0.0.1']),
      resolve6: async () => {
        throw Object.assign(new Error('no data'), { code: 'ENODATA' });
      },
    };
    const g = new EgressGuard({ resolver: rebinding, allow: ['127.0.0.1'] });
    const res = await g.fetchHttps(`https://localhost:${port}/policy`, { ca: tls!.cert });
    expect(res.status).toBe(200);
    expect(calls).toBe(1);
  });

  it('verifies the certificate', async () => {
    const err = await allowed().fetchHttps(`https://localhost:${port}/policy`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect(((err as Error).cause as { code?: string }).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('returns redirects instead of following them', async () => {
    const res = await allowed().fetchHttps(`https://localhost:${port}/redirect`, { ca: tls!.cert });
    expect(res.status).toBe(302);
    expect(res.headers.location).toContain('169.254.169.254');
  });

  it('aborts bodies over the size bound', async () => {
    await expect(allowed().fetchHttps(`https://localhost:${port}/big-declared`, { ca: tls!.cert, maxBytes: 10_000 })).rejects.toBeInstanceOf(TooLarge);
    await expect(allowed().fetchHttps(`https://localhost:${port}/big-chunked`, { ca: tls!.cert, maxBytes: 10_000 })).rejects.toBeInstanceOf(TooLarge);
    const ok = await allowed().fetchHttps(`https://localhost:${port}/big-chunked`, { ca: tls!.cert, maxBytes: 1_000_000 });
    expect(ok.body.length).toBe(1000 + big.length);
  });

  it('aborts when the time bound passes', async () => {
    const started = Date.now();
    await expect(allowed().fetchHttps(`https://localhost:${port}/slow`, { ca: tls!.cert, timeoutMs: 300 })).rejects.toBeInstanceOf(Unavailable);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses other schemes and credentials in URLs', async () => {
    await expect(allowed().fetchHttps(`http://localhost:${port}/policy`)).rejects.toBeInstanceOf(InvalidInput);
    await expect(allowed().fetchHttps(`https://u:p@localhost:${port}/policy`)).rejects.toBeInstanceOf(InvalidInput);
    await expect(allowed().fetchHttps('not a url')).rejects.toBeInstanceOf(InvalidInput);
  });
});
