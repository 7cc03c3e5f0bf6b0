/**
 * POP3 end to end: implicit TLS and STLS with Node's tls module as the client, deletion
 * semantics (QUIT applies, a dropped connection does not), maildrop locking, concurrent
 * expunge, large messages, the idle timer, the auth delay, graceful shutdown, and Python's
 * poplib as a second, independent client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import * as accounts from '../src/core/accounts/index.js';
import { Authenticator } from '../src/core/auth/index.js';
import { openMaildrop } from '../src/core/mail/maildrop.js';
import { expunge, listMessages } from '../src/core/mail/messages.js';
import { storeMessage } from '../src/core/mail/store.js';
import type { Config } from '../src/config/index.js';
import { createPop3Server } from '../src/protocols/pop3/index.js';
import type { ProtocolServer } from '../src/server/protocol.js';
import { ensureSelfSignedCertificate, TlsCertificates } from '../src/security/tls.js';
import { makeContext, testMessage, type TestContext } from './support/context.js';
import { startTestServer, type TestServer } from './support/server.js';
import { Pop3Client } from './fixtures/pop3/client.js';
import { acquireMaildropLock, releaseMaildropLock } from '../src/core/mail/maildrop-lock.js';

const PASS = 'correct horse battery';
let n = 0;

async function withUser(srv: TestServer, messages: Uint8Array[] = []): Promise<{ user: string; accountId: string; inbox: string }> {
  const user = `e${++n}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const accountId = await srv.addUser(user, PASS);
  for (const m of messages) {
    const [o] = await storeMessage(srv.server.ctx, m, [{ accountId }]);
    expect(o?.ok).toBe(true);
  }
  const inbox = (await openMaildrop(srv.server.ctx, accountId)).mailboxId;
  return { user, accountId, inbox };
}

async function login(c: Pop3Client, user: string): Promise<string | null> {
  expect(await c.readLine()).toMatch(/^\+OK /);
  expect(await c.command(`USER ${user}`)).toBe('+OK send PASS');
  return c.command(`PASS ${PASS}`);
}

async function until(cond: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('POP3 end to end (real server)', () => {
  let srv: TestServer;
  let strict: TestServer;
  beforeAll(async () => {
    const fast = '[auth]\nbase_delay_ms = 0\nmax_delay_ms = 0\n';
    srv = await startTestServer({ listeners: ['pop3', 'pop3s'], extraToml: fast });
    strict = await startTestServer({ listeners: ['pop3'], extraToml: fast + 'loopback_is_secure = false\n' });
  });
  afterAll(async () => {
    await srv?.stop();
    await strict?.stop();
  });

  it('serves implicit TLS on pop3s: CAPA without STLS, login, RETR, QUIT', async () => {
    const { user } = await withUser(srv, [testMessage({ subject: 'Over TLS', body: 'secret body' })]);
    const c = await Pop3Client.connect(srv.ports.pop3s!, { tls: true });
    expect(c.isTls).toBe(true);
    expect(await c.readLine()).toBe('+OK mail.example.com POP3 server ready');
    expect(await c.command('CAPA')).toBe('+OK Capability list follows');
    const caps = await c.readMultiline();
    expect(caps).toContain('USER');
    expect(caps).toContain('SASL PLAIN');
    expect(caps).not.toContain('STLS');
    expect(await c.command(`USER ${user}`)).toBe('+OK send PASS');
    expect(await c.command(`PASS ${PASS}`)).toMatch(/^\+OK maildrop locked and ready, 1 messages/);
    expect(await c.command('RETR 1')).toMatch(/^\+OK \d+ octets$/);
    const body = await c.readMultiline();
    expect(body).toContain('Subject: Over TLS');
    expect(body).toContain('secret body');
    expect(await c.command('QUIT')).toBe('+OK bye (1 messages left)');
    expect(await c.waitClosed()).toBe(true);
  });

  it('refuses USER before STLS when loopback is not trusted, and logs in after STLS', async () => {
    const { user } = await withUser(strict, [testMessage()]);
    const c = await Pop3Client.connect(strict.ports.pop3!);
    expect(await c.readLine()).toMatch(/^\+OK /);
    expect(await c.command(`USER ${user}`)).toMatch(/^-ERR \[AUTH\] /);
    expect(await c.command('STLS')).toBe('+OK begin TLS negotiation');
    await c.upgrade();
    expect(c.isTls).toBe(true);
    expect(await c.command(`USER ${user}`)).toBe('+OK send PASS');
    expect(await c.command(`PASS ${PASS}`)).toMatch(/^\+OK maildrop locked and ready, 1 messages/);
    expect(await c.command('QUIT')).toMatch(/^\+OK bye/);
  });

  it('DELE + QUIT removes the messages (seen through core listMessages)', async () => {
    const { user, accountId, inbox } = await withUser(srv, [testMessage({ subject: 'one' }), testMessage({ subject: 'two' }), testMessage({ subject: 'three' })]);
    const before = await listMessages(srv.server.ctx, accountId, inbox);
    const c = await Pop3Client.connect(srv.ports.pop3!);
    expect(await login(c, user)).toMatch(/^\+OK /);
    expect(await c.command('DELE 1')).toBe('+OK message 1 deleted');
    expect(await c.command('DELE 3')).toBe('+OK message 3 deleted');
    // Nothing is removed before QUIT (RFC 1939 §6).
    expect(await listMessages(srv.server.ctx, accountId, inbox)).toHaveLength(3);
    expect(await c.command('QUIT')).toBe('+OK bye (1 messages left)');
    const after = await listMessages(srv.server.ctx, accountId, inbox);
    expect(after.map((m) => m.uid)).toEqual([before[1]!.uid]);
  });

  it('DELE + dropped connection removes nothing', async () => {
    const { user, accountId, inbox } = await withUser(srv, [testMessage(), testMessage()]);
    const c = await Pop3Client.connect(srv.ports.pop3!);
    expect(await login(c, user)).toMatch(/^\+OK /);
    expect(await c.command('DELE 1')).toBe('+OK message 1 deleted');
    c.destroy();
    // The lock is released once the server has seen the drop; then nothing may have changed.
    await until(async () => {
      const c2 = await Pop3Client.connect(srv.ports.pop3!);
      const reply = await login(c2, user);
      if (reply?.startsWith('+OK')) await c2.command('QUIT');
      c2.destroy();
      return !!reply?.startsWith('+OK');
    });
    expect(await listMessages(srv.server.ctx, accountId, inbox)).toHaveLength(2);
  });

  it('refuses a second POP3 session on the same maildrop with [IN-USE]', async () => {
    const { user } = await withUser(srv, [testMessage()]);
    const a = await Pop3Client.connect(srv.ports.pop3!);
    expect(await login(a, user)).toMatch(/^\+OK /);
    const b = await Pop3Client.connect(srv.ports.pop3!);
    expect(await login(b, user)).toBe('-ERR [IN-USE] maildrop already locked by another POP3 session');
    expect(await a.command('QUIT')).toMatch(/^\+OK/);
    expect(await b.command(`USER ${user}`)).toBe('+OK send PASS');
    expect(await b.command(`PASS ${PASS}`)).toMatch(/^\+OK maildrop locked/);
    b.destroy();
  });

  it('honours a maildrop lock held by another node (a lease in the store)', async () => {
    const { user, accountId } = await withUser(srv, [testMessage()]);
    expect(await acquireMaildropLock(srv.server.ctx, accountId, 'other-node')).toBe(true);
    const c = await Pop3Client.connect(srv.ports.pop3!);
    expect(await login(c, user)).toBe('-ERR [IN-USE] maildrop already locked by another POP3 session');
    await releaseMaildropLock(srv.server.ctx, accountId, 'other-node');
    expect(await c.command(`USER ${user}`)).toBe('+OK send PASS');
    expect(await c.command(`PASS ${PASS}`)).toMatch(/^\+OK maildrop locked/);
    // Now this session's lease stands in the way of the other node.
    expect(await acquireMaildropLock(srv.server.ctx, accountId, 'other-node')).toBe(false);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    c.destroy();
  });

  it('answers -ERR for a message expunged by another session after login, and QUIT still succeeds', async () => {
    const { user, accountId, inbox } = await withUser(srv, [testMessage({ subject: 'gone' }), testMessage({ subject: 'stays' })]);
    const c = await Pop3Client.connect(srv.ports.pop3!);
    expect(await login(c, user)).toMatch(/^\+OK maildrop locked and ready, 2 messages/);
    const uids = (await listMessages(srv.server.ctx, accountId, inbox)).map((m) => m.uid);
    // As an IMAP session would (EXPUNGE).
    await expunge(srv.server.ctx, accountId, inbox, [uids[0]!]);
    expect(await c.command('RETR 1')).toBe('-ERR no such message');
    expect(await c.command('TOP 1 0')).toBe('-ERR no such message');
    expect(await c.command('RETR 2')).toMatch(/^\+OK/);
    expect((await c.readMultiline()).join('\n')).toContain('Subject: stays');
    expect(await c.command('DELE 1')).toBe('+OK message 1 deleted');
    expect(await c.command('QUIT')).toBe('+OK bye (1 messages left)');
    expect((await listMessages(srv.server.ctx, accountId, inbox)).map((m) => m.uid)).toEqual([uids[1]]);
  });

  it('streams a large message with bare LF and dot lines, CRLF-normalised, its LIST size exact', async () => {
    const lines: string[] = ['From: a@example.org', 'To: b@example.com', 'Subject: big', ''];
    for (let i = 0; i < 60_000; i++) lines.push(i % 7 === 0 ? `.dot line ${i}` : `line ${i} ${'x'.repeat(40)}`);
    const raw = Buffer.from(lines.join('\n') + '\n');
    const { user } = await withUser(srv, [raw]);
    const c = await Pop3Client.connect(srv.ports.pop3!);
    expect(await login(c, user)).toMatch(/^\+OK /);
    const list = await c.command('LIST 1');
    const size = Number(list!.split(' ')[2]);
    expect(size).toBe(raw.length + lines.length);
    expect(await c.command('RETR 1')).toBe(`+OK ${size} octets`);
    const got = await c.readMultiline();
    expect(got).toEqual(lines);
    expect(got.reduce((t, l) => t + l.length + 2, 0)).toBe(size);
    const uidl1 = await c.command('UIDL 1');
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    // UIDL is stable across sessions (RFC 1939 §7).
    const c2 = await Pop3Client.connect(srv.ports.pop3!);
    expect(await login(c2, user)).toMatch(/^\+OK /);
    expect(await c2.command('UIDL 1')).toBe(uidl1);
    await c2.command('QUIT');
  });

  it('works with Python poplib over implicit TLS and STLS (a second, independent client)', async () => {
    const probe = spawnSync('python3', ['-c', 'import poplib, ssl'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.warn('python3 with poplib not found: the poplib end-to-end check is skipped');
      return;
    }
    const { user, accountId, inbox } = await withUser(srv, [testMessage({ subject: 'py one', body: '.leading dot' }), testMessage({ subject: 'py two' })]);
    const script = `
import poplib, ssl, sys, json
port_s, port, user, pw = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
out = {}
p = poplib.POP3_SSL('127.0.0.1', port_s, context=ctx)
out['capa'] = sorted(p.capa().keys())
p.user(user); p.pass_(pw)
out['stat'] = list(p.stat())
out['list'] = [x.decode() for x in p.list()[1]]
out['uidl'] = [x.decode() for x in p.uidl()[1]]
out['retr'] = [x.decode() for x in p.retr(1)[1]]
out['top'] = [x.decode() for x in p.top(2, 0)[1]]
p.dele(2)
out['quit'] = p.quit().decode()
q = poplib.POP3('127.0.0.1', port)
q.stls(context=ctx)
q.user(user); q.pass_(pw)
out['stat2'] = list(q.stat())
q.quit()
print(json.dumps(out))
`;
    // Asynchronously: the server runs in this process and must keep serving meanwhile.
    const r = await promisify(execFile)('python3', ['-c', script, String(srv.ports.pop3s), String(srv.ports.pop3), user, PASS], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out.capa).toEqual(expect.arrayContaining(['TOP', 'UIDL', 'USER', 'SASL', 'PIPELINING', 'RESP-CODES']));
    expect((out.stat as number[])[0]).toBe(2);
    expect(out.list).toHaveLength(2);
    expect((out.uidl as string[])[0]).toMatch(/^1 [\x21-\x7e]{1,70}$/);
    expect(out.retr).toContain('Subject: py one');
    expect(out.retr).toContain('.leading dot');
    expect(out.top).toContain('Subject: py two');
    expect(out.top).not.toContain('Hello Bob, this is a test.');
    expect(out.quit).toMatch(/^\+OK/);
    expect((out.stat2 as number[])[0]).toBe(1);
    expect(await listMessages(srv.server.ctx, accountId, inbox)).toHaveLength(1);
  });
});

describe('POP3 with injected timers (server built directly)', () => {
  let t: TestContext;
  let server: Server;
  let pop3: ProtocolServer;
  let port: number;
  let accountId: string;
  const user = 'carol@example.com';
  const slept: number[] = [];

  beforeAll(async () => {
    t = await makeContext();
    await accounts.addDomain(t.ctx, 'example.com', { name: 'cli:test', protocol: 'cli' });
    accountId = (await accounts.addAccount(t.ctx, { address: user, password: PASS }, { name: 'cli:test', protocol: 'cli' })).id;
    const tlsFiles = await ensureSelfSignedCertificate(join(t.dir, 'tls'), 'mail.example.com', []);
    // One failure per address is allowed, so the next is refused with AuthFailed.delayMs.
    const auth = new Authenticator(t.ctx, { maxFailuresPerIp: 1, baseDelayMs: 1_000, maxDelayMs: 1_000 }, async () => {});
    const config = { server: { hostname: 'mail.example.com' }, auth: { loopbackIsSecure: true }, pop3: { idleTimeoutSeconds: 600 } } as unknown as Config;
    pop3 = createPop3Server(
      { ctx: t.ctx, auth, tls: new TlsCertificates({ cert: tlsFiles.certPath, key: tlsFiles.keyPath }), config, log: t.ctx.log },
      { idleTimeoutMs: 300, sleep: async (ms) => void slept.push(ms) },
    );
    let id = 0;
    server = createServer((s) => pop3.handle(s, { listener: 'pop3', implicitTls: false, clientAddress: s.remoteAddress ?? '', clientPort: s.remotePort ?? 0, connectionId: String(++id) }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
    await storeMessage(t.ctx, testMessage(), [{ accountId }]);
  });
  afterAll(async () => {
    await pop3?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await t?.close();
  });

  it('closes an idle connection without a response and applies no deletions (RFC 1939 §3)', async () => {
    const c = await Pop3Client.connect(port);
    expect(await c.readLine()).toMatch(/^\+OK/);
    expect(await c.command(`USER ${user}`)).toBe('+OK send PASS');
    expect(await c.command(`PASS ${PASS}`)).toMatch(/^\+OK/);
    expect(await c.command('DELE 1')).toBe('+OK message 1 deleted');
    expect(await c.waitClosed(3_000)).toBe(true);
    expect(c.pending).toBe('');
    const inbox = (await openMaildrop(t.ctx, accountId)).mailboxId;
    expect(await listMessages(t.ctx, accountId, inbox)).toHaveLength(1);
  });

  it('waits AuthFailed.delayMs before answering -ERR [AUTH]', async () => {
    const c = await Pop3Client.connect(port);
    expect(await c.readLine()).toMatch(/^\+OK/);
    expect(await c.command(`USER ${user}`)).toBe('+OK send PASS');
    expect(await c.command('PASS wrong')).toBe('-ERR [AUTH] authentication failed');
    expect(slept).toEqual([]);
    // The second failure from this address is throttled: AuthFailed carries a delay.
    expect(await c.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0wrong`).toString('base64')}`)).toBe('-ERR [AUTH] authentication failed');
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThan(0);
    c.destroy();
  });

  it('says goodbye with [SYS/TEMP] on shutdown and applies no deletions', async () => {
    const t2 = await makeContext();
    try {
      await accounts.addDomain(t2.ctx, 'example.com', { name: 'cli:test', protocol: 'cli' });
      const id2 = (await accounts.addAccount(t2.ctx, { address: user, password: PASS }, { name: 'cli:test', protocol: 'cli' })).id;
      await storeMessage(t2.ctx, testMessage(), [{ accountId: id2 }]);
      const tlsFiles = await ensureSelfSignedCertificate(join(t2.dir, 'tls'), 'mail.example.com', []);
      const config = { server: { hostname: 'mail.example.com' }, auth: { loopbackIsSecure: true }, pop3: { idleTimeoutSeconds: 600 } } as unknown as Config;
      const p = createPop3Server({ ctx: t2.ctx, auth: new Authenticator(t2.ctx), tls: new TlsCertificates({ cert: tlsFiles.certPath, key: tlsFiles.keyPath }), config, log: t2.ctx.log });
      const s2 = createServer((s) => p.handle(s, { listener: 'pop3', implicitTls: false, clientAddress: '127.0.0.1', clientPort: 0, connectionId: 'x' }));
      await new Promise<void>((r) => s2.listen(0, '127.0.0.1', () => r()));
      const c = await Pop3Client.connect((s2.address() as { port: number }).port);
      expect(await c.readLine()).toMatch(/^\+OK/);
      expect(await c.command(`USER ${user}`)).toBe('+OK send PASS');
      expect(await c.command(`PASS ${PASS}`)).toMatch(/^\+OK/);
      expect(await c.command('DELE 1')).toMatch(/^\+OK/);
      await p.close();
      expect(await c.readLine()).toBe('-ERR [SYS/TEMP] server shutting down');
      expect(await c.waitClosed()).toBe(true);
      await new Promise<void>((r) => s2.close(() => r()));
      const inbox = (await openMaildrop(t2.ctx, id2)).mailboxId;
      expect(await listMessages(t2.ctx, id2, inbox)).toHaveLength(1);
    } finally {
      await t2.close();
    }
  });
});
