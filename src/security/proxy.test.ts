import { Buffer } from 'node:buffer';
import net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Forbidden, InvalidInput, Unavailable } from '../core/errors.js';
import { formatIp } from './egress.js';
import {
  MAX_PROXY_V2_BYTES,
  acceptProxyProtocol,
  encodeProxyV1,
  encodeProxyV2,
  isInCidrList,
  parseProxyHeader,
  type AcceptedProxy,
  type ProxyEndpoints,
} from './proxy.js';

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');

const arbV4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIp({ family: 4, bytes: b }));
const arbV6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIp({ family: 6, bytes: b }));
const arbPort = fc.integer({ min: 0, max: 65535 });
const arbEndpoints: fc.Arbitrary<ProxyEndpoints> = fc.oneof(
  fc.constant(null),
  fc.tuple(fc.oneof(fc.tuple(arbV4, arbV4), fc.tuple(arbV6, arbV6)), arbPort, arbPort).map(([[s, d], sp, dp]) => ({
    source: { address: s, port: sp },
    destination: { address: d, port: dp },
  })),
);
const arbTlvs = fc.array(fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 5 });

describe('parseProxyHeader v1', () => {
  it('parses TCP4 and TCP6 lines and reports the bytes consumed', () => {
    const r = parseProxyHeader(ascii('PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nEHLO x\r\n'));
    expect(r).toEqual({
      kind: 'ok',
      consumed: 45,
      version: 1,
      local: false,
      tlvs: [],
      source: { address: '192.0.2.1', port: 56324 },
      destination: { address: '198.51.100.2', port: 443 },
    });
    const r6 = parseProxyHeader(ascii('PROXY TCP6 2001:DB8::1 2001:db8:0::2 1 65535\r\n'));
    expect(r6.kind === 'ok' && r6.source).toEqual({ address: '2001:db8::1', port: 1 });
  });

  it('accepts UNKNOWN and ignores the rest of its line', () => {
    const r = parseProxyHeader(ascii('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nA'));
    expect(r).toMatchObject({ kind: 'ok', consumed: 35, local: false });
    expect(r.kind === 'ok' && r.source).toBeUndefined();
  });

  it.each([
    ['PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n', 'bare LF'],
    ['PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n', 'missing field'],
    ['PROXY TCP4 192.0.2.1  198.51.100.2 1 2\r\n', 'double space'],
    ['PROXY TCP4 ::1 ::1 1 2\r\n', 'family mismatch'],
    ['PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n', 'family mismatch 6'],
    ['PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n', 'port too big'],
    ['PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n', 'port with leading zero'],
    ['PROXY TCP4 127.1 1.2.3.4 1 2\r\n', 'short IPv4'],
    ['PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n', 'unknown protocol'],
    ['PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX\n', 'CR inside'],
    ['PROXY TCP4 1.2.3.4\x00 1.2.3.4 1 2\r\n', 'NUL'],
    ['proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n', 'lower case'],
    ['EHLO example.com\r\n', 'not proxy'],
  ])('refuses %j (%s)', (line) => {
    expect(parseProxyHeader(ascii(line)).kind).toBe('error');
  });

  it('refuses a line longer than 107 bytes, and waits below that', () => {
    const long = `PROXY UNKNOWN ${'a'.repeat(200)}`;
    expect(parseProxyHeader(ascii(long.slice(0, 106))).kind).toBe('need-more');
    expect(parseProxyHeader(ascii(long.slice(0, 107))).kind).toBe('error');
    const exact = `PROXY UNKNOWN ${'a'.repeat(107 - 16)}\r\n`;
    expect(exact.length).toBe(107);
    expect(parseProxyHeader(ascii(exact))).toMatchObject({ kind: 'ok', consumed: 107 });
    expect(parseProxyHeader(ascii(`PROXY UNKNOWN ${'a'.repeat(108 - 16)}\r\n`)).kind).toBe('error');
  });
});

describe('parseProxyHeader v2', () => {
  it('parses a LOCAL header as local with no addresses', () => {
    const r = parseProxyHeader(encodeProxyV2(null));
    expect(r).toEqual({ kind: 'ok', consumed: 16, version: 2, local: true, tlvs: [] });
  });

  it('parses PROXY over IPv4 with TLVs', () => {
    const hdr = encodeProxyV2(
      { source: { address: '203.0.113.9', port: 40000 }, destination: { address: '192.0.2.1', port: 993 } },
      [{ type: 0x20, value: Uint8Array.from([1, 2, 3]) }],
    );
    const r = parseProxyHeader(Buffer.concat([hdr, ascii('a001 LOGIN')]));
    expect(r).toMatchObject({ kind: 'ok', consumed: hdr.length, source: { address: '203.0.113.9', port: 40000 } });
    expect(r.kind === 'ok' && Array.from(r.tlvs[0]!.value)).toEqual([1, 2, 3]);
  });

  it('refuses bad version, command, family, transport, lengths and TLVs', () => {
    const good = Buffer.from(encodeProxyV2({ source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 } }));
    const mutate = (i: number, v: number): Buffer => {
      const b = Buffer.from(good);
      b[i] = v;
      return b;
    };
    expect(parseProxyHeader(mutate(12, 0x11)).kind).toBe('error'); // version 1 in binary form
    expect(parseProxyHeader(mutate(12, 0x22)).kind).toBe('error'); // command 2
    expect(parseProxyHeader(mutate(13, 0x41)).kind).toBe('error'); // family 4
    expect(parseProxyHeader(mutate(13, 0x12)).kind).toBe('error'); // DGRAM
    expect(parseProxyHeader(mutate(13, 0x10)).kind).toBe('error'); // INET without transport
    expect(parseProxyHeader(mutate(15, 8)).kind).toBe('error'); // address block too short
    expect(parseProxyHeader(mutate(11, 0x0b)).kind).toBe('error'); // signature
    const badTlv = Buffer.concat([good, Buffer.from([0x20, 0x00, 0x09, 1])]);
    badTlv.writeUInt16BE(12 + 4, 14);
    expect(parseProxyHeader(badTlv)).toEqual({ kind: 'error', reason: 'v2: malformed TLV' });
  });

  it('refuses a header longer than the bound as soon as the length is known', () => {
    const head = Buffer.from(encodeProxyV2(null));
    head.writeUInt16BE(MAX_PROXY_V2_BYTES - 16 + 1, 14);
    expect(parseProxyHeader(head).kind).toBe('error');
    head.writeUInt16BE(MAX_PROXY_V2_BYTES - 16, 14);
    expect(parseProxyHeader(head).kind).toBe('need-more');
  });

  it('accepts UNSPEC and UNIX families without addresses', () => {
    const unspec = Buffer.from(encodeProxyV2(null));
    unspec[12] = 0x21;
    expect(parseProxyHeader(unspec)).toMatchObject({ kind: 'ok', local: false, consumed: 16 });
    const unix = Buffer.alloc(16 + 216);
    unix.set(encodeProxyV2(null).subarray(0, 12));
    unix[12] = 0x21;
    unix[13] = 0x31;
    unix.writeUInt16BE(216, 14);
    const r = parseProxyHeader(unix);
    expect(r).toMatchObject({ kind: 'ok', consumed: 232 });
    expect(r.kind === 'ok' && r.source).toBeUndefined();
  });
});

describe('parseProxyHeader properties', () => {
  it('round-trips any v1 header', () => {
    fc.assert(
      fc.property(arbEndpoints, fc.uint8Array({ maxLength: 20 }), (e, tail) => {
        const hdr = encodeProxyV1(e);
        const r = parseProxyHeader(Buffer.concat([hdr, tail]));
        expect(r.kind).toBe('ok');
        if (r.kind !== 'ok') return;
        expect(r.consumed).toBe(hdr.length);
        expect(r.source ?? null).toEqual(e?.source ?? null);
        expect(r.destination ?? null).toEqual(e?.destination ?? null);
      }),
    );
  });

  it('round-trips any v2 header with TLVs', () => {
    fc.assert(
      fc.property(arbEndpoints, arbTlvs, fc.uint8Array({ maxLength: 20 }), (e, tlvs, tail) => {
        const hdr = encodeProxyV2(e, tlvs);
        const r = parseProxyHeader(Buffer.concat([hdr, tail]));
        expect(r.kind).toBe('ok');
        if (r.kind !== 'ok') return;
        expect(r.consumed).toBe(hdr.length);
        expect(r.local).toBe(e === null);
        if (e) {
          expect(r.source).toEqual(e.source);
          expect(r.destination).toEqual(e.destination);
          expect(r.tlvs.map((t) => [t.type, Array.from(t.value)])).toEqual(tlvs.map((t) => [t.type, Array.from(t.value)]));
        }
      }),
    );
  });

  it('never throws on random bytes, and never consumes more than the bounds', () => {
    const prefixed = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.concat([ascii('PROXY '), b])),
      fc.uint8Array({ maxLength: 1200 }).map((b) => Buffer.concat([encodeProxyV2(null).subarray(0, 12), b])),
    );
    fc.assert(
      fc.property(prefixed, (b) => {
        const r = parseProxyHeader(b);
        if (r.kind === 'ok') {
          expect(r.consumed).toBeLessThanOrEqual(b.length);
          expect(r.consumed).toBeLessThanOrEqual(MAX_PROXY_V2_BYTES);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('any prefix of a valid header needs more, the whole is ok', () => {
    fc.assert(
      fc.property(arbEndpoints, arbTlvs, fc.boolean(), (e, tlvs, v2) => {
        const hdr = v2 ? encodeProxyV2(e, tlvs) : encodeProxyV1(e);
        for (let i = 0; i < hdr.length; i++) expect(parseProxyHeader(hdr.subarray(0, i)).kind).toBe('need-more');
        expect(parseProxyHeader(hdr)).toMatchObject({ kind: 'ok', consumed: hdr.length });
      }),
      { numRuns: 200 },
    );
  });
});

describe('isInCidrList', () => {
  it('is re-exported for trusted-proxy checks', () => {
    expect(isInCidrList('10.0.0.1', ['10.0.0.0/8'])).toBe(true);
    expect(isInCidrList('::ffff:10.0.0.1', ['10.0.0.0/8'])).toBe(true);
    expect(isInCidrList('fd00::1', ['fd00::/8'])).toBe(true);
    expect(isInCidrList('192.0.2.1', ['10.0.0.0/8', 'fd00::/8'])).toBe(false);
  });
});

describe('acceptProxyProtocol', () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  /** Starts a server running accept on each connection; returns the port and the results. */
  async function serve(timeoutMs: number, trustedCidrs?: string[]) {
    const results: Array<Promise<{ info: AcceptedProxy; rest: string }>> = [];
    const server = net.createServer((socket) => {
      const p = (
        acceptProxyProtocol(socket, timeoutMs, trustedCidrs ? { trustedCidrs } : {}).then(
          (info) =>
            new Promise<{ info: AcceptedProxy; rest: string }>((resolve) => {
              let rest = '';
              socket.on('data', (d: Buffer) => {
                rest += d.toString('latin1');
                if (rest.endsWith('END')) {
                  socket.end();
                  resolve({ info, rest });
                }
              });
            }),
        )
      );
      // Marked handled at once: the test awaits it later, possibly after it rejected.
      p.catch(() => undefined);
      results.push(p);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const first = async () => {
      while (results.length === 0) await new Promise((r) => setTimeout(r, 2));
      return results[0]!;
    };
    return { port: (server.address() as net.AddressInfo).port, first };
  }

  async function connect(port: number): Promise<net.Socket> {
    const c = net.connect(port, '127.0.0.1');
    await new Promise((r) => c.once('connect', r));
    c.on('error', () => {});
    return c;
  }

  it('reads a v1 header arriving byte by byte and leaves the rest for the protocol', async () => {
    const { port, first } = await serve(2000, ['127.0.0.0/8']);
    const c = await connect(port);
    const bytes = Buffer.concat([ascii('PROXY TCP4 203.0.113.7 192.0.2.1 40001 25\r\nEHLO a\r\n')]);
    for (const b of bytes) {
      c.write(Buffer.from([b]));
      await new Promise((r) => setTimeout(r, 1));
    }
    c.write('MORE END');
    await new Promise((r) => setTimeout(r, 20));
    const { info, rest } = await first();
    expect(info.remoteAddress).toBe('203.0.113.7');
    expect(info.remotePort).toBe(40001);
    expect(info.localPort).toBe(25);
    expect(rest).toBe('EHLO a\r\nMORE END');
    c.destroy();
  });

  it('reads a v2 header with data in the same packet', async () => {
    const { port, first } = await serve(2000);
    const c = await connect(port);
    const hdr = encodeProxyV2({ source: { address: '2001:db8::7', port: 5 }, destination: { address: '2001:db8::1', port: 993 } });
    c.write(Buffer.concat([hdr, ascii('a1 CAPABILITY END')]));
    const { info, rest } = await first();
    expect(info).toMatchObject({ remoteAddress: '2001:db8::7', remotePort: 5 });
    expect(rest).toBe('a1 CAPABILITY END');
    c.destroy();
  });

  it('uses the socket address for LOCAL', async () => {
    const { port, first } = await serve(2000);
    const c = await connect(port);
    c.write(Buffer.concat([encodeProxyV2(null), ascii('END')]));
    const { info } = await first();
    expect(info.remoteAddress).toBe('127.0.0.1');
    c.destroy();
  });

  it('refuses untrusted peers, bad headers, silence and early close', async () => {
    const untrusted = await serve(2000, ['10.0.0.0/8']);
    const c1 = await connect(untrusted.port);
    await expect(untrusted.first()).rejects.toBeInstanceOf(Forbidden);
    c1.destroy();

    const bad = await serve(2000);
    const c2 = await connect(bad.port);
    c2.write('GET / HTTP/1.1\r\n');
    await expect(bad.first()).rejects.toBeInstanceOf(InvalidInput);
    c2.destroy();

    const silent = await serve(100);
    const c3 = await connect(silent.port);
    await expect(silent.first()).rejects.toBeInstanceOf(Unavailable);
    c3.destroy();

    const early = await serve(2000);
    const c4 = await connect(early.port);
    c4.end('PROXY TCP4');
    await expect(early.first()).rejects.toBeInstanceOf(Unavailable);
  });
});
