/**
 * Byte-level transcripts for the SMTP listeners: every file under test/fixtures/smtp/<verb>/
 * is one behaviour, played against an in-process server and compared line by line, byte for
 * byte (CRLF included).
 *
 * File format (each line ends with CRLF; the runner checks that):
 *   # comment              ignored; "# listener: submission" picks the listener (default smtp)
 *   C: text                sent with CRLF. Escapes: {CR} {LF} {NUL} {xHH} {A*n} (n copies of A),
 *                          and a trailing {NOCRLF} sends the line without its CRLF
 *   C: <tls>               the client starts TLS on the connection (after a 220 to STARTTLS)
 *   C: <sleep ms>          waits
 *   S: text                the next server line must match; {*} matches any run of characters
 *   S: <close>             the server must close the connection now
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as accounts from '../src/core/accounts/index.js';
import { RawClient, startSmtp, type Harness } from './fixtures/smtp/harness.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'smtp');

function fixtureFiles(): string[] {
  const out: string[] = [];
  for (const verb of readdirSync(ROOT, { withFileTypes: true })) {
    if (!verb.isDirectory()) continue;
    for (const f of readdirSync(join(ROOT, verb.name))) if (f.endsWith('.txt')) out.push(join(verb.name, f));
  }
  return out.sort();
}

function expand(text: string): Buffer {
  let s = text.replace(/\{(.)\*(\d+)\}/g, (_, c: string, n: string) => c.repeat(Number(n)));
  s = s.replace(/\{CR\}/g, '\r').replace(/\{LF\}/g, '\n').replace(/\{NUL\}/g, '\0');
  s = s.replace(/\{x([0-9A-Fa-f]{2})\}/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(s, 'latin1');
}

function pattern(text: string): RegExp {
  const parts = text.split('{*}').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp('^' + parts.join('.*') + '$', 's');
}

/** Line reader over a socket that may be swapped for a TLS socket. */
class Wire {
  buf = Buffer.alloc(0);
  isClosed = false;
  private waiters: Array<() => void> = [];
  constructor(public socket: import('node:net').Socket) {
    this.attach(socket);
  }
  attach(s: import('node:net').Socket): void {
    this.socket = s;
    s.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    s.on('close', () => {
      this.isClosed = true;
      this.wake();
    });
    s.on('error', () => undefined);
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }
  private async wait(ms: number): Promise<void> {
    await new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }
  async line(timeoutMs = 5000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.subarray(0, i).toString('latin1');
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      if (this.isClosed || Date.now() > deadline) return null;
      await this.wait(deadline - Date.now());
    }
  }
  async closed(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isClosed && Date.now() < deadline) await this.wait(deadline - Date.now());
    return this.isClosed && this.buf.length === 0;
  }
}

async function play(h: Harness, file: string): Promise<void> {
  const text = readFileSync(join(ROOT, file), 'latin1');
  expect(text.endsWith('\r\n'), `${file} must end with CRLF`).toBe(true);
  const lines = text.slice(0, -2).split('\r\n');
  for (const l of lines) expect(l.includes('\n') || l.includes('\r'), `${file}: bare CR or LF in a line`).toBe(false);
  const listener = (/^# listener: (\w+)/m.exec(text)?.[1] ?? 'smtp') as 'smtp' | 'submission' | 'lmtp';
  const client = await RawClient.connect(h.ports[listener]!);
  client.socket.removeAllListeners('data');
  client.socket.removeAllListeners('close');
  const wire = new Wire(client.socket);
  try {
    for (const [n, l] of lines.entries()) {
      const where = `${file}:${n + 1}`;
      if (l.startsWith('#') || l === '') continue;
      if (l.startsWith('C: ')) {
        const body = l.slice(3);
        if (body === '<tls>') {
          const raw = wire.socket;
          raw.removeAllListeners('data');
          const secure = tlsConnect({ socket: raw, rejectUnauthorized: false, servername: 'mail.example.com' });
          await new Promise<void>((r, j) => {
            secure.once('secureConnect', () => r());
            secure.once('error', j);
          });
          wire.attach(secure);
          continue;
        }
        const sleep = /^<sleep (\d+)>$/.exec(body);
        if (sleep) {
          await new Promise((r) => setTimeout(r, Number(sleep[1])));
          continue;
        }
        const noCrlf = body.endsWith('{NOCRLF}');
        const bytes = expand(noCrlf ? body.slice(0, -'{NOCRLF}'.length) : body);
        wire.socket.write(noCrlf ? bytes : Buffer.concat([bytes, Buffer.from('\r\n')]));
        continue;
      }
      if (l.startsWith('S: ')) {
        const want = l.slice(3);
        if (want === '<close>') {
          expect(await wire.closed(), `${where}: server should close`).toBe(true);
          continue;
        }
        const got = await wire.line();
        expect(got, `${where}: expected ${JSON.stringify(want)}`).not.toBeNull();
        expect(got!, `${where}`).toMatch(pattern(want));
        continue;
      }
      throw new Error(`${where}: line must start with "C: ", "S: " or "#"`);
    }
  } finally {
    wire.socket.destroy();
  }
}

describe('SMTP transcripts', () => {
  let h: Harness;
  let sub: Harness;
  beforeAll(async () => {
    const extraToml = '[limits]\nmax_message_bytes = 4096\n[smtp]\nmax_header_bytes = 1024\nmax_recipients = 3\nidle_timeout_seconds = 2\n[auth]\nloopback_is_secure = false\n';
    h = await startSmtp({ listeners: ['smtp', 'lmtp'], extraToml });
    await h.addUser('bob@example.com');
    await h.addUser('carol@example.com');
    await accounts.addAlias(h.ctx, 'robert@example.com', 'bob@example.com', { name: 'test', protocol: 'cli' });
    await accounts.addAlias(h.ctx, 'postmaster@example.com', 'carol@example.com', { name: 'test', protocol: 'cli' });
    sub = await startSmtp({ listeners: ['submission'], extraToml });
    await sub.addUser('bob@example.com');
  });
  afterAll(async () => {
    await h?.stop();
    await sub?.stop();
  });

  for (const file of fixtureFiles()) {
    it(file.replace(/\.txt$/, ''), async () => {
      const text = readFileSync(join(ROOT, file), 'latin1');
      const early = /^# early-talker/m.test(text);
      const isSub = /^# listener: submission/m.test(text);
      const target = isSub ? sub : h;
      if (early) {
        // The early-talker rule needs the greeting delay the MX listener has by default.
        const slow = await startSmtp({ listeners: ['smtp'], options: { greetingDelayMs: 300 } });
        try {
          await play(slow, file);
        } finally {
          await slow.stop();
        }
        return;
      }
      await play(target, file);
    });
  }
});
