/**
 * Property tests for the POP3 wire layer: the line reader, the command parser, the message
 * encoder (CRLF normalisation, byte-stuffing, TOP) and strict base64; then random command
 * streams replayed against a live server in both states.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import * as accounts from '../src/core/accounts/index.js';
import { Authenticator } from '../src/core/auth/index.js';
import { storeMessage } from '../src/core/mail/store.js';
import type { Config } from '../src/config/index.js';
import { createPop3Server } from '../src/protocols/pop3/index.js';
import { formatCommand, parseCommand, type Command } from '../src/protocols/pop3/wire/command.js';
import { LineReader, MAX_COMMAND_LINE_BYTES, type ReaderEvent } from '../src/protocols/pop3/wire/reader.js';
import { formatReply, MessageEncoder, wireSizeCounter } from '../src/protocols/pop3/wire/responses.js';
import { decodeBase64Strict, decodeSaslResponse, parsePlain } from '../src/protocols/pop3/wire/sasl.js';
import type { ProtocolServer } from '../src/server/protocol.js';
import { ensureSelfSignedCertificate, TlsCertificates } from '../src/security/tls.js';
import { makeContext, testMessage, type TestContext } from './support/context.js';
import { Pop3Client } from './fixtures/pop3/client.js';

/** Splits bytes at the given cut points. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}

function readAll(chunks: Uint8Array[]): ReaderEvent[] {
  const r = new LineReader();
  return chunks.flatMap((c) => r.push(c));
}

const printable = (min: number, max: number) => fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: min, maxLength: max });
const msgNumber = fc.integer({ min: 1, max: 9_999_999_999 });

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.constantFrom<Command>({ verb: 'CAPA' }, { verb: 'STLS' }, { verb: 'STAT' }, { verb: 'RSET' }, { verb: 'NOOP' }, { verb: 'QUIT' }, { verb: 'AUTH' }, { verb: 'LIST' }, { verb: 'UIDL' }),
  printable(1, 100).map((name): Command => ({ verb: 'USER', name })),
  fc
    .string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), fc.constantFrom('é', 'ß', '中')), minLength: 1, maxLength: 80 })
    .map((password): Command => ({ verb: 'PASS', password })),
  fc.stringMatching(/^[A-Z0-9_-]{1,20}$/).map((mechanism): Command => ({ verb: 'AUTH', mechanism })),
  fc.tuple(fc.stringMatching(/^[A-Z0-9_-]{1,20}$/), printable(1, 150)).map(([mechanism, initialResponse]): Command => ({ verb: 'AUTH', mechanism, initialResponse })),
  fc.tuple(fc.constantFrom('LIST' as const, 'UIDL' as const), msgNumber).map(([verb, msg]): Command => ({ verb, msg })),
  fc.tuple(fc.constantFrom('RETR' as const, 'DELE' as const), msgNumber).map(([verb, msg]): Command => ({ verb, msg })),
  fc.tuple(msgNumber, fc.integer({ min: 0, max: 9_999_999_999 })).map(([msg, lines]): Command => ({ verb: 'TOP', msg, lines })),
);

describe('POP3 wire properties', () => {
  it('random bytes in random chunks never throw, and every line is bounded and NUL-free', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
        for (const ev of readAll(split(bytes, cuts))) {
          if (ev.kind !== 'line') continue;
          expect(ev.line.length + 2).toBeLessThanOrEqual(MAX_COMMAND_LINE_BYTES);
          expect(ev.line.includes(0)).toBe(false);
          expect(ev.line.includes(0x0a)).toBe(false);
          const parsed = parseCommand(ev.line);
          expect(typeof parsed.ok).toBe('boolean');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the reader gives the same events however the bytes are chunked', () => {
    const lineish = fc.array(fc.oneof(fc.constantFrom('\r\n', '\n', '\0', '.', ' '), printable(0, 300)), { maxLength: 30 }).map((xs) => Buffer.from(xs.join(''), 'latin1'));
    fc.assert(
      fc.property(lineish, fc.array(fc.nat(), { maxLength: 30 }), (bytes, cuts) => {
        const whole = readAll([bytes]).map((e) => (e.kind === 'line' ? Buffer.from(e.line).toString('latin1') : e.kind));
        const chunked = readAll(split(bytes, cuts)).map((e) => (e.kind === 'line' ? Buffer.from(e.line).toString('latin1') : e.kind));
        expect(chunked).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('parseCommand never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = parseCommand(bytes);
        if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('every valid command round-trips through format, reader and parser', () => {
    fc.assert(
      fc.property(commandArb, fc.array(fc.nat(), { maxLength: 5 }), (cmd, cuts) => {
        const bytes = Buffer.from(formatCommand(cmd), 'utf8');
        const events = readAll(split(bytes, cuts));
        expect(events).toHaveLength(1);
        const ev = events[0]!;
        expect(ev.kind).toBe('line');
        if (ev.kind !== 'line') return;
        expect(parseCommand(ev.line)).toEqual({ ok: true, command: cmd });
        // Keywords are case-insensitive (RFC 2449 §3).
        const text = Buffer.from(ev.line).toString('utf8');
        const sp = text.indexOf(' ');
        const lower = Buffer.from(sp < 0 ? text.toLowerCase() : text.slice(0, sp).toLowerCase() + text.slice(sp), 'utf8');
        expect(parseCommand(lower)).toEqual({ ok: true, command: cmd });
      }),
      { numRuns: 1000 },
    );
  });

  it('the message encoder is chunking-invariant, ends every line in CRLF, and un-stuffs to the normalised message', () => {
    const messageBytes = fc
      .array(fc.oneof(fc.constantFrom('\r\n', '\n', '\r', '.', '..', '\r\n.\r\n', 'x'), printable(0, 20)), { maxLength: 60 })
      .map((xs) => Buffer.from(xs.join(''), 'latin1'));
    fc.assert(
      fc.property(messageBytes, fc.array(fc.nat(), { maxLength: 10 }), fc.option(fc.nat({ max: 5 }), { nil: null }), (raw, cuts, topLines) => {
        const encodeIn = (chunks: Uint8Array[]) => {
          const enc = new MessageEncoder(topLines);
          return Buffer.concat([...chunks.map((c) => enc.push(c)), enc.end()]).toString('latin1');
        };
        const whole = encodeIn([raw]);
        expect(encodeIn(split(raw, cuts))).toBe(whole);
        // Every line ends in CRLF, with no bare CR or LF anywhere.
        expect(whole === '' || whole.endsWith('\r\n')).toBe(true);
        expect(whole.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
        // No line is the terminator; un-stuffing gives back the normalised message.
        const lines = whole === '' ? [] : whole.slice(0, -2).split('\r\n');
        expect(lines).not.toContain('.');
        const unstuffed = lines.map((l) => (l.startsWith('.') ? l.slice(1) : l));
        let normalised = raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
        if (normalised !== '' && !normalised.endsWith('\r\n')) normalised += '\r\n';
        const all = normalised === '' ? [] : normalised.slice(0, -2).split('\r\n');
        if (topLines === null) {
          expect(unstuffed).toEqual(all);
          const counter = wireSizeCounter();
          for (const c of split(raw, cuts)) counter.push(c);
          expect(counter.total()).toBe(normalised.length);
        } else {
          const blank = all.indexOf('');
          const expected = blank < 0 ? all : all.slice(0, blank + 1 + topLines);
          expect(unstuffed).toEqual(expected);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('strict base64 accepts exactly canonical base64 and never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64');
        if (bytes.length === 0) expect(decodeBase64Strict(text)).toBeNull();
        else expect(Buffer.from(decodeBase64Strict(text)!)).toEqual(Buffer.from(bytes));
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const r = decodeSaslResponse(s);
        if (r.kind === 'data') expect(r.bytes.length === 0 ? s === '=' : Buffer.from(r.bytes).toString('base64') === s).toBe(true);
        if (r.kind === 'data') parsePlain(r.bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('status lines never exceed 512 octets or hold CR/LF', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.string({ maxLength: 1000 }), (ok, text) => {
        const line = formatReply({ ok, text }).toString('utf8');
        expect(Buffer.byteLength(line)).toBeLessThanOrEqual(512);
        expect(line.slice(0, -2)).not.toMatch(/[\r\n]/);
        expect(line.endsWith('\r\n')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('POP3 random command streams against a live server', () => {
  let t: TestContext;
  let server: Server;
  let pop3: ProtocolServer;
  let port: number;
  const user = 'dave@example.com';
  const PASS = 'correct horse battery';

  beforeAll(async () => {
    t = await makeContext();
    await accounts.addDomain(t.ctx, 'example.com', { name: 'cli:test', protocol: 'cli' });
    const accountId = (await accounts.addAccount(t.ctx, { address: user, password: PASS }, { name: 'cli:test', protocol: 'cli' })).id;
    for (let i = 0; i < 3; i++) await storeMessage(t.ctx, testMessage({ body: `.line\n\nbody ${i}` }), [{ accountId }]);
    const tlsFiles = await ensureSelfSignedCertificate(join(t.dir, 'tls'), 'mail.example.com', []);
    const config = { server: { hostname: 'mail.example.com' }, auth: { loopbackIsSecure: true }, pop3: { idleTimeoutSeconds: 600 } } as unknown as Config;
    const auth = new Authenticator(t.ctx, { baseDelayMs: 0, maxDelayMs: 0, maxFailuresPerIp: 1_000_000 });
    pop3 = createPop3Server({ ctx: t.ctx, auth, tls: new TlsCertificates({ cert: tlsFiles.certPath, key: tlsFiles.keyPath }), config, log: t.ctx.log }, { sleep: async () => {} });
    let id = 0;
    server = createServer((s) => pop3.handle(s, { listener: 'pop3', implicitTls: false, clientAddress: '127.0.0.1', clientPort: 0, connectionId: String(++id) }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await pop3?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await t?.close();
  });

  it('answers or closes cleanly after any mix of commands and garbage, in both states', async () => {
    // STLS and QUIT are left out: they end the plaintext conversation by design.
    const seeded = fc.constantFrom('CAPA', 'STAT', 'LIST', 'LIST 1', 'UIDL', 'UIDL 2', 'RETR 1', 'TOP 2 1', 'DELE 3', 'RSET', 'NOOP', 'AUTH', 'AUTH PLAIN', '*', 'USER x', 'PASS y', 'LIST 0', 'RETR 99');
    const garbage = fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1').replace(/\n/g, ''));
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(fc.oneof(seeded, seeded, garbage), { maxLength: 25 }), async (loggedIn, lines) => {
        const c = await Pop3Client.connect(port);
        try {
          expect(await c.readLine()).toMatch(/^\+OK/);
          if (loggedIn) {
            expect(await c.command(`USER ${user}`)).toBe('+OK send PASS');
            expect(await c.command(`PASS ${PASS}`)).toMatch(/^\+OK/);
          }
          c.send(lines.map((l) => l + '\r\n').join(''));
          // A unique probe: the server must still answer (or have closed the connection).
          c.send('NOOP\r\nQUIT\r\n');
          for (;;) {
            const l = await c.readLine();
            if (l === null || l.startsWith('+OK bye')) break;
          }
        } finally {
          c.destroy();
        }
      }),
      { numRuns: 40 },
    );
    // And the server still greets new connections.
    const c = await Pop3Client.connect(port);
    expect(await c.readLine()).toMatch(/^\+OK/);
    c.destroy();
  });
});
