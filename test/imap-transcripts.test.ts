/**
 * Byte-level IMAP transcripts: every test/fixtures/imap/<verb>/<behaviour>.txt is played
 * against an in-process server and the server's bytes are compared exactly.
 *
 * Fixture syntax (each line ends with CRLF, which is part of the bytes):
 *   C: <bytes>    sent by the client (consecutive C: lines are sent together; "$USER" is the
 *                 fixture's own account, "$PASS" its password, "$B64" the SASL PLAIN response)
 *   S: <bytes>    expected from the server, exactly, except placeholders:
 *                 {{*}} any characters on the line, {{n}} digits, {{id}} an id token
 *   S: <closed>   the server closes the connection
 *   # ...         a comment; "# config: insecure" runs the fixture with loopback_is_secure = false
 *   #! seed N     stores N fixed messages in INBOX before the fixture runs (default 3)
 *   #! quota N    sets the account's quota to N bytes
 * Each fixture gets a fresh account, so fixtures are independent.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storeMessage } from '../src/core/mail/store.js';
import * as accounts from '../src/core/accounts/index.js';
import { startTestServer, type TestServer } from './support/server.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'imap');

const servers = new Map<string, Promise<TestServer>>();
function server(kind: 'default' | 'insecure'): Promise<TestServer> {
  let s = servers.get(kind);
  if (!s) {
    s = startTestServer({ listeners: ['imap'], extraToml: kind === 'insecure' ? '[auth]\nloopback_is_secure = false\nbase_delay_ms = 0\n' : '[auth]\nbase_delay_ms = 0\n' });
    servers.set(kind, s);
  }
  return s;
}
afterAll(async () => {
  for (const s of servers.values()) await (await s).stop();
});

/** The fixed messages seeded into INBOX. */
export function seedMessage(i: number): Buffer {
  return Buffer.from(
    [
      `From: Sender ${i} <sender${i}@example.org>`,
      'To: Alice <alice@example.com>',
      `Subject: Message ${i}`,
      `Date: Thu, 0${i} Jan 2026 10:00:00 +0000`,
      `Message-ID: <m${i}@example.org>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      `Body of message ${i}.`,
      '',
    ].join('\r\n'),
  );
}

interface Step {
  send: Buffer | null;
  expect: string[] | null;
}

function parseFixture(text: string): { steps: Step[]; insecure: boolean; seed: number; quota: number | null } {
  const lines = text.split(/(?<=\r\n)/);
  const steps: Step[] = [];
  let insecure = false;
  let seed = 3;
  let quota: number | null = null;
  let cur: { kind: 'C' | 'S'; data: string[] } | null = null;
  const flush = () => {
    if (!cur) return;
    if (cur.kind === 'C') steps.push({ send: Buffer.from(cur.data.join(''), 'utf8'), expect: null });
    else steps.push({ send: null, expect: cur.data });
    cur = null;
  };
  for (const line of lines) {
    if (line.startsWith('#')) {
      if (/^# config: insecure/.test(line)) insecure = true;
      const m = /^#! (seed|quota) (\d+)/.exec(line);
      if (m && m[1] === 'seed') seed = Number(m[2]);
      if (m && m[1] === 'quota') quota = Number(m[2]);
      continue;
    }
    const kind = line.startsWith('C: ') ? 'C' : line.startsWith('S: ') ? 'S' : null;
    if (!kind) {
      if (line.trim() === '') continue;
      throw new Error(`bad fixture line: ${JSON.stringify(line)}`);
    }
    if (!cur || cur.kind !== kind) {
      flush();
      cur = { kind, data: [] };
    }
    cur.data.push(line.slice(3));
  }
  flush();
  return { steps, insecure, seed, quota };
}

function toRegex(expected: string[]): RegExp {
  const body = expected
    .map((l) =>
      l
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replace(/\\\{\\\{\\\*\\\}\\\}/g, '[^\\r\\n]*')
        .replace(/\\\{\\\{n\\\}\\\}/g, '\\d+')
        .replace(/\\\{\\\{id\\\}\\\}/g, '[A-Za-z0-9_-]+'),
    )
    .join('');
  return new RegExp('^' + body, 's');
}

async function play(file: string): Promise<void> {
  const { steps, insecure, seed, quota } = parseFixture(readFileSync(file, 'utf8'));
  const srv = await server(insecure ? 'insecure' : 'default');
  const user = `u${Math.random().toString(36).slice(2, 10)}@example.com`;
  const pass = 'fixture-password-1';
  const accountId = await srv.addUser(user, pass);
  if (quota !== null) await accounts.setQuota(srv.server.ctx, user, quota, { name: 'test', protocol: 'cli' });
  for (let i = 1; i <= seed; i++) await storeMessage(srv.server.ctx, seedMessage(i), [{ accountId }], { receivedAt: Date.UTC(2026, 0, i, 12) });
  const sock: Socket = connect(srv.ports.imap!, '127.0.0.1');
  let received = Buffer.alloc(0);
  let closed = false;
  sock.on('data', (d) => (received = Buffer.concat([received, d])));
  sock.on('close', () => (closed = true));
  sock.on('error', () => (closed = true));
  try {
    for (const step of steps) {
      if (step.send) {
        sock.write(Buffer.from(step.send.toString('utf8').replace(/\$USER/g, user).replace(/\$PASS/g, pass).replace(/\$B64/g, Buffer.from(`\0${user}\0${pass}`).toString('base64')), 'utf8'));
        continue;
      }
      // Compare bytes: expected lines (UTF-8 in the file) are taken as latin1 like the received bytes.
      const exp = step.expect!.map((l) => Buffer.from(l, 'utf8').toString('latin1'));
      const waitsForClose = exp.length > 0 && exp[exp.length - 1]!.startsWith('<closed>');
      if (waitsForClose) exp.pop();
      const re = toRegex(exp);
      let m: RegExpExecArray | null = null;
      for (let t = 0; t < 75; t++) {
        m = re.exec(received.toString('latin1'));
        if (m) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      if (!m) expect(received.toString('latin1')).toBe(exp.join(''));
      received = received.subarray(Buffer.byteLength(m![0], 'latin1'));
      if (waitsForClose) {
        for (let t = 0; t < 100 && !closed; t++) await new Promise((r) => setTimeout(r, 20));
        expect(received.toString('latin1'), 'unexpected bytes before close').toBe('');
        expect(closed, 'server should close the connection').toBe(true);
      }
    }
    // Nothing unexpected after the last expected line.
    await new Promise((r) => setTimeout(r, 50));
    expect(received.toString('latin1')).toBe('');
  } finally {
    sock.destroy();
  }
}

const verbs = readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
describe('IMAP transcripts', () => {
  for (const verb of verbs) {
    for (const f of readdirSync(join(ROOT, verb)).filter((x) => x.endsWith('.txt')).sort()) {
      it(`${verb}/${f.replace(/\.txt$/, '')}`, () => play(join(ROOT, verb, f)));
    }
  }
});
