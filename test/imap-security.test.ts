/**
 * IMAP connection security and robustness: STARTTLS (bytes pipelined after it are discarded),
 * implicit TLS on imaps, LOGINDISABLED until TLS, and a state-aware fuzzer replaying mutated
 * real commands in every session state against the running server.
 */
import fc from 'fast-check';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { constants as zc, createDeflateRaw, createInflateRaw } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { SEED_COMMANDS } from './fixtures/imap/seeds.js';

let srv: TestServer;
const USER = 'sec@example.com';
const PASS = 'sec-password-123';

beforeAll(async () => {
  srv = await startTestServer({ listeners: ['imap', 'imaps'], extraToml: '[auth]\nloopback_is_secure = false\nbase_delay_ms = 0\n' });
  await srv.addUser(USER, PASS);
});
afterAll(async () => {
  await srv?.stop();
});

/** A line-oriented client over any socket. */
class Wire {
  buf = '';
  closed = false;
  constructor(public sock: Socket | TLSSocket) {
    sock.on('data', (d: Buffer) => (this.buf += d.toString('latin1')));
    sock.on('close', () => (this.closed = true));
    sock.on('error', () => (this.closed = true));
  }
  async until(re: RegExp, ms = 3000): Promise<string> {
    for (let t = 0; t < ms / 10; t++) {
      const m = re.exec(this.buf);
      if (m) {
        const out = this.buf.slice(0, m.index + m[0].length);
        this.buf = this.buf.slice(m.index + m[0].length);
        return out;
      }
      if (this.closed) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timeout waiting for ${re}; have ${JSON.stringify(this.buf.slice(0, 300))}`);
  }
  send(s: string): void {
    this.sock.write(s);
  }
}

describe('IMAP TLS', () => {
  it('refuses LOGIN before STARTTLS and allows it after; bytes pipelined after STARTTLS are discarded', async () => {
    const w = new Wire(netConnect(srv.ports.imap!, '127.0.0.1'));
    onTestFinished(() => w.sock.destroy());
    const greeting = await w.until(/\r\n/);
    expect(greeting).toContain('STARTTLS');
    expect(greeting).toContain('LOGINDISABLED');
    w.send(`a LOGIN ${USER} ${PASS}\r\n`);
    expect(await w.until(/a [A-Z]+ .*\r\n/)).toContain('a NO [PRIVACYREQUIRED]');
    // The pipelined LOGIN must not run inside the TLS session (RFC 9051 §6.2.1).
    w.send(`b STARTTLS\r\nc LOGIN ${USER} ${PASS}\r\n`);
    expect(await w.until(/b OK.*\r\n/)).toContain('b OK');
    const tls = tlsConnect({ socket: w.sock as Socket, rejectUnauthorized: false, servername: 'mail.example.com' });
    await new Promise<void>((r) => tls.once('secureConnect', () => r()));
    const t = new Wire(tls);
    t.send('d CAPABILITY\r\n');
    const caps = await t.until(/d OK.*\r\n/);
    expect(caps).not.toContain('c OK');
    expect(caps).not.toContain('STARTTLS');
    expect(caps).not.toContain('LOGINDISABLED');
    expect(caps).toContain('AUTH=PLAIN');
    t.send(`e LOGIN ${USER} ${PASS}\r\n`);
    expect(await t.until(/e [A-Z]+.*\r\n/)).toContain('e OK');
    tls.destroy();
  });

  it('speaks TLS from the first byte on imaps', async () => {
    const tls = tlsConnect({ host: '127.0.0.1', port: srv.ports.imaps!, rejectUnauthorized: false, servername: 'mail.example.com' });
    const t = new Wire(tls);
    const greeting = await t.until(/\r\n/);
    expect(greeting).toMatch(/^\* OK \[CAPABILITY /);
    expect(greeting).not.toContain('STARTTLS');
    t.send(`a AUTHENTICATE PLAIN ${Buffer.from(`\0${USER}\0${PASS}`).toString('base64')}\r\n`);
    expect(await t.until(/a [A-Z]+.*\r\n/)).toContain('a OK');
    tls.destroy();
  });
});

describe('IMAP COMPRESS=DEFLATE (RFC 4978)', () => {
  it('compresses both directions after the tagged OK', async () => {
    const tls = tlsConnect({ host: '127.0.0.1', port: srv.ports.imaps!, rejectUnauthorized: false });
    const w = new Wire(tls);
    await w.until(/\r\n/);
    w.send(`a LOGIN ${USER} ${PASS}\r\nb COMPRESS DEFLATE\r\n`);
    expect(await w.until(/b [A-Z]+.*\r\n/)).toContain('b OK');
    tls.removeAllListeners('data');
    onTestFinished(() => tls.destroy());
    const inflate = createInflateRaw();
    const deflate = createDeflateRaw();
    let plain = '';
    tls.on('data', (d: Buffer) => inflate.write(d));
    inflate.on('data', (d: Buffer) => (plain += d.toString('latin1')));
    deflate.on('data', (d: Buffer) => tls.write(d));
    deflate.write('c SELECT INBOX\r\nd COMPRESS DEFLATE\r\ne CAPABILITY\r\n');
    deflate.flush(zc.Z_SYNC_FLUSH);
    for (let t = 0; t < 200 && !/e OK/.test(plain); t++) await new Promise((r) => setTimeout(r, 10));
    expect(plain, plain).toContain('c OK [READ-WRITE]');
    expect(plain).toContain('d NO [COMPRESSIONACTIVE]');
    expect(plain).not.toMatch(/CAPABILITY .*COMPRESS=DEFLATE/);
    tls.destroy();
  });
});

async function login(): Promise<Wire> {
  const tls = tlsConnect({ host: '127.0.0.1', port: srv.ports.imaps!, rejectUnauthorized: false });
  const w = new Wire(tls);
  await w.until(/\r\n/);
  return w;
}

describe('IMAP fuzzing in every session state', () => {
  const states: Array<[string, string[]]> = [
    ['not authenticated', []],
    ['authenticated', [`s1 LOGIN ${USER} ${PASS}`]],
    ['selected', [`s1 LOGIN ${USER} ${PASS}`, 's2 SELECT INBOX']],
    ['selected read-only', [`s1 LOGIN ${USER} ${PASS}`, 's2 EXAMINE INBOX']],
    ['idling', [`s1 LOGIN ${USER} ${PASS}`, 's2 SELECT INBOX', 's3 IDLE']],
  ];
  const mutated = fc
    .tuple(fc.constantFrom(...SEED_COMMANDS), fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }))
    .map(([cmd, muts]) => {
      const bytes = [...Buffer.from(cmd + '\r\n', 'latin1')];
      for (const [at, v] of muts) bytes.splice(at % (bytes.length + 1), v % 3 === 0 ? 1 : 0, v);
      return Buffer.from(bytes);
    });
  for (const [name, setup] of states) {
    it(`survives mutated commands when ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(mutated, { minLength: 1, maxLength: 8 }), async (cmds) => {
          const w = await login();
          for (const s of setup) {
            w.send(s + '\r\n');
            if (s.endsWith('IDLE')) await w.until(/\+ .*\r\n/);
            else await w.until(new RegExp(`${s.split(' ')[0]} OK.*\\r\\n`));
          }
          for (const c of cmds) w.send(c);
          await new Promise((r) => setTimeout(r, 30));
          w.sock.destroy();
        }),
        { numRuns: 15 },
      );
      // The server is alive and serves a fresh session normally.
      const w = await login();
      w.send(`z1 LOGIN ${USER} ${PASS}\r\nz2 SELECT INBOX\r\nz3 NOOP\r\n`);
      expect(await w.until(/z3 [A-Z]+.*\r\n/)).toContain('z3 OK');
      w.sock.destroy();
    });
  }
});
