/**
 * Plays the byte-level POP3 transcripts in test/fixtures/pop3/<verb>/<behaviour>.txt against
 * a real in-process server.
 *
 * Transcript syntax (every line of the file ends in CRLF):
 *   # comment                 ignored, as are empty lines
 *   @config insecure-loopback  (first lines only) the server does not trust loopback
 *   @message NAME.eml          stores messages/NAME.eml into the user's INBOX, in order
 *   C: text                    client line; CRLF appended. Consecutive C: lines go in ONE write
 *   C~ text                    client bytes without CRLF appended
 *   S: pattern                 the next server line, exactly (without its CRLF)
 *   @repeat N                  the next C: or S: line, N times
 *   @tls                       the client starts TLS now (after +OK to STLS)
 *   @closed                    the server closes the connection here
 * Placeholders: in C: {user} {pass} {plain} (base64 of NUL user NUL pass), {X*N} (the
 * character X, N times), {0xHH} (one octet). In S: {*} any text, {id} a unique-id (RFC 1939 §7:
 * 1-70 octets 0x21-0x7E), {user}, {size:A.eml+B.eml} the wire size of those messages.
 * After the last step the server must have sent nothing more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { storeMessage } from '../src/core/mail/store.js';
import { startTestServer, type TestServer } from './support/server.js';
import { Pop3Client } from './fixtures/pop3/client.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'pop3');
const MESSAGES = join(ROOT, 'messages');

interface Transcript {
  name: string;
  config: 'default' | 'insecure-loopback';
  messages: string[];
  steps: Step[];
}

type Step = { kind: 'send'; text: string; crlf: boolean } | { kind: 'expect'; pattern: string } | { kind: 'tls' } | { kind: 'closed' };

function loadTranscripts(): Transcript[] {
  const out: Transcript[] = [];
  for (const verb of readdirSync(ROOT, { withFileTypes: true })) {
    if (!verb.isDirectory() || verb.name === 'messages') continue;
    for (const file of readdirSync(join(ROOT, verb.name)).filter((f) => f.endsWith('.txt')).sort()) {
      out.push(parseTranscript(`${verb.name}/${file}`, readFileSync(join(ROOT, verb.name, file)).toString('latin1')));
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function parseTranscript(name: string, text: string): Transcript {
  const lines = text.split('\r\n');
  if (lines.pop() !== '') throw new Error(`${name}: the last line must end in CRLF`);
  const t: Transcript = { name, config: 'default', messages: [], steps: [] };
  let repeat = 1;
  for (const [i, line] of lines.entries()) {
    if (line.includes('\n') || line.includes('\r')) throw new Error(`${name}:${i + 1}: bare CR or LF in the transcript file`);
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('@repeat ')) {
      repeat = Number(line.slice(8));
      continue;
    }
    const push = (s: Step) => {
      for (let k = 0; k < repeat; k++) t.steps.push(s);
      repeat = 1;
    };
    if (line === '@config insecure-loopback') t.config = 'insecure-loopback';
    else if (line.startsWith('@message ')) t.messages.push(line.slice(9));
    else if (line === '@tls') push({ kind: 'tls' });
    else if (line === '@closed') push({ kind: 'closed' });
    else if (line.startsWith('C: ')) push({ kind: 'send', text: line.slice(3), crlf: true });
    else if (line.startsWith('C~ ')) push({ kind: 'send', text: line.slice(3), crlf: false });
    else if (line.startsWith('S: ')) push({ kind: 'expect', pattern: line.slice(3) });
    else throw new Error(`${name}:${i + 1}: cannot parse ${JSON.stringify(line)}`);
  }
  return t;
}

/** RFC 1939 §11 sizes, computed independently of the server: every line end counts as CRLF. */
function wireSize(file: string): number {
  let s = readFileSync(join(MESSAGES, file)).toString('latin1');
  s = s.replace(/\r\n|\r|\n/g, '\r\n');
  if (!s.endsWith('\r\n')) s += '\r\n';
  return s.length;
}

function expandClient(text: string, user: string, pass: string): string {
  return text
    .replace(/\{user\}/g, user)
    .replace(/\{pass\}/g, pass)
    .replace(/\{plain\}/g, Buffer.from(`\0${user}\0${pass}`).toString('base64'))
    .replace(/\{0x([0-9a-fA-F]{2})\}/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\{(.)\*(\d+)\}/g, (_, c: string, n: string) => c.repeat(Number(n)));
}

function patternToRegExp(pattern: string, user: string): RegExp {
  let re = '';
  for (const part of pattern.split(/(\{[^}]*\})/)) {
    if (part === '{*}') re += '.*';
    else if (part === '{id}') re += '[\\x21-\\x7e]{1,70}';
    else if (part === '{user}') re += escape(user);
    else if (part.startsWith('{size:')) re += String(part.slice(6, -1).split('+').reduce((n, f) => n + wireSize(f), 0));
    else re += escape(part);
  }
  return new RegExp(`^${re}$`, 's');
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const transcripts = loadTranscripts();
const servers: Partial<Record<Transcript['config'], TestServer>> = {};
// Failed logins in the transcripts must not slow later ones down.
const FAST_AUTH = '[auth]\nbase_delay_ms = 0\nmax_delay_ms = 0\nmax_failures_per_ip = 1000000\n';

const PASS = 'correct horse battery';
/** One fresh account per transcript, made up front (password hashing runs in parallel). */
const users = new Map<string, { user: string; accountId: string }>();

beforeAll(async () => {
  servers.default = await startTestServer({ listeners: ['pop3'], extraToml: FAST_AUTH });
  servers['insecure-loopback'] = await startTestServer({ listeners: ['pop3'], extraToml: FAST_AUTH + 'loopback_is_secure = false\n' });
  await Promise.all(
    transcripts.map(async (t, i) => {
      const user = `t${i}-${Math.random().toString(36).slice(2, 8)}@example.com`;
      users.set(t.name, { user, accountId: await servers[t.config]!.addUser(user, PASS) });
    }),
  );
});

afterAll(async () => {
  await servers.default?.stop();
  await servers['insecure-loopback']?.stop();
});

describe('POP3 transcripts', () => {
  it('has transcripts for every command', () => {
    const verbs = new Set(transcripts.map((t) => t.name.split('/')[0]!.toUpperCase()));
    for (const v of ['CAPA', 'USER', 'PASS', 'AUTH', 'STLS', 'STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'RSET', 'NOOP', 'QUIT']) expect(verbs).toContain(v);
  });

  for (const t of transcripts) {
    it(t.name, async () => {
      const srv = servers[t.config]!;
      const { user, accountId } = users.get(t.name)!;
      const pass = PASS;
      for (const m of t.messages) {
        const [outcome] = await storeMessage(srv.server.ctx, readFileSync(join(MESSAGES, m)), [{ accountId }]);
        expect(outcome?.ok).toBe(true);
      }
      const client = await Pop3Client.connect(srv.ports.pop3!);
      try {
        let pending = '';
        const flush = () => {
          if (pending) client.send(pending);
          pending = '';
        };
        for (const [i, step] of t.steps.entries()) {
          if (step.kind === 'send') {
            pending += expandClient(step.text, user, pass) + (step.crlf ? '\r\n' : '');
            continue;
          }
          flush();
          if (step.kind === 'expect') {
            const line = await client.readLine();
            const re = patternToRegExp(step.pattern, user);
            expect(line, `step ${i + 1}: expected ${JSON.stringify(step.pattern)}`).not.toBeNull();
            expect(line!, `step ${i + 1}`).toMatch(re);
          } else if (step.kind === 'tls') {
            await client.upgrade();
            expect(client.isTls).toBe(true);
          } else {
            expect(await client.waitClosed(), `step ${i + 1}: the server should close`).toBe(true);
          }
        }
        flush();
        // Nothing more than the transcript says (e.g. no answer to discarded plaintext).
        await new Promise((r) => setTimeout(r, 50));
        expect(client.pending).toBe('');
      } finally {
        client.destroy();
      }
    });
  }
});
