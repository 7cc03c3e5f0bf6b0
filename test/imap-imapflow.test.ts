/** End to end with imapflow: a client's real life against an in-process server. */
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeMessage } from '../src/core/mail/store.js';
import { startTestServer, type TestServer } from './support/server.js';
import { testMessage } from './support/context.js';

let srv: TestServer;
let accountId: string;

function client(): ImapFlow {
  return new ImapFlow({ host: '127.0.0.1', port: srv.ports.imap!, secure: false, auth: { user: 'alice@example.com', pass: 'alice-password-1' }, logger: false, tls: { rejectUnauthorized: false } });
}

beforeAll(async () => {
  srv = await startTestServer({ listeners: ['imap', 'imaps'] });
  accountId = await srv.addUser('alice@example.com', 'alice-password-1');
});
afterAll(async () => {
  await srv?.stop();
});

describe('imapflow', () => {
  it('logs in, lists special-use mailboxes, appends to Sent and fetches it back', async () => {
    const c = client();
    await c.connect();
    const boxes = await c.list();
    expect(boxes.map((b) => b.path).sort()).toEqual(['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    expect(boxes.find((b) => b.path === 'Sent')!.specialUse).toBe('\\Sent');
    const res = await c.append('Sent', Buffer.from(testMessage({ subject: 'Sent one' })), ['\\Seen']);
    expect(res && res.uid).toBe(1);
    const lock = await c.getMailboxLock('Sent');
    try {
      const msg = await c.fetchOne('1', { envelope: true, flags: true, source: true, bodyStructure: true });
      expect(msg && msg.envelope!.subject).toBe('Sent one');
      expect(msg && [...msg.flags!]).toContain('\\Seen');
      expect(msg && msg.source!.toString()).toContain('Subject: Sent one');
      expect(msg && msg.bodyStructure!.type).toBe('text/plain');
    } finally {
      lock.release();
    }
    await c.logout();
  });

  it('IDLE is woken by a message delivered through core storeMessage', async () => {
    const c = client();
    await c.connect();
    await c.mailboxOpen('INBOX');
    const exists = new Promise<number>((resolve) => c.on('exists', (d: { count: number }) => resolve(d.count)));
    const before = c.mailbox ? (c.mailbox as { exists: number }).exists : 0;
    // imapflow idles on its own only after 15 s; start IDLE now.
    void c.idle();
    await new Promise((r) => setTimeout(r, 200));
    await storeMessage(srv.server.ctx, testMessage({ subject: 'Delivered' }), [{ accountId }]);
    expect(await exists).toBe(before + 1);
    await c.logout();
  });

  it('flags, search, MOVE and a second session sees the changes', async () => {
    const a = client();
    const b = client();
    await a.connect();
    await b.connect();
    for (let i = 0; i < 3; i++) await a.append('INBOX', Buffer.from(testMessage({ subject: `Batch ${i}` })));
    await a.mailboxOpen('INBOX');
    await b.mailboxOpen('INBOX');
    await a.messageFlagsAdd({ uid: '1:*' }, ['\\Flagged'], { uid: true });
    const flagged = await a.search({ flagged: true }, { uid: true });
    expect(flagged!.length).toBeGreaterThanOrEqual(4);
    const subj = await a.search({ subject: 'Batch 1' }, { uid: true });
    expect(subj!.length).toBe(1);
    const moved = await a.messageMove({ uid: String(subj![0]) }, 'Archive', { uid: true });
    expect(moved && moved.uidMap!.size).toBe(1);
    await b.noop();
    const mb = b.mailbox as { exists: number };
    const st = await a.status('INBOX', { messages: true, unseen: true });
    expect(mb.exists).toBe(st.messages);
    await a.logout();
    await b.logout();
  });

  it('resyncs with CONDSTORE/QRESYNC after changes by another session', async () => {
    const a = client();
    await a.connect();
    const box = await a.mailboxOpen('INBOX');
    const modseq = BigInt(box.highestModseq ?? 0n);
    expect(modseq > 0n).toBe(true);
    const b = client();
    await b.connect();
    await b.mailboxOpen('INBOX');
    await b.messageFlagsAdd({ uid: '1' }, ['$Important'], { uid: true });
    const changed: number[] = [];
    for await (const m of a.fetch('1:*', { flags: true, uid: true }, { uid: true, changedSince: modseq })) changed.push(m.uid);
    expect(changed).toContain(1);
    await a.logout();
    await b.logout();
  });

  it('first sync fetches envelopes and flags of every message; rename and delete folders', async () => {
    const c = client();
    await c.connect();
    await c.mailboxCreate('Projects/2026');
    await c.mailboxRename('Projects', 'Work');
    const names = (await c.list()).map((b) => b.path);
    expect(names).toContain('Work/2026');
    expect(names).not.toContain('Projects/2026');
    await c.mailboxDelete('Work/2026');
    const box = await c.mailboxOpen('INBOX');
    const seen: number[] = [];
    for await (const m of c.fetch('1:*', { envelope: true, flags: true, uid: true, internalDate: true, size: true })) {
      expect(m.envelope).toBeTruthy();
      seen.push(m.uid);
    }
    expect(seen.length).toBe(box.exists);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    const q = await c.getQuota('INBOX');
    expect(q && q.storage && (q.storage as { usage?: number }).usage).toBeGreaterThan(0);
    await c.logout();
  });

  it('appends and fetches a 4 MB attachment intact', async () => {
    const c = client();
    await c.connect();
    const payload = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    const b64 = payload.toString('base64').replace(/.{76}/g, '$&\r\n');
    const raw = Buffer.from(
      ['From: a@example.org', 'To: alice@example.com', 'Subject: Big', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '', '--b', 'Content-Type: text/plain', '', 'see attached', '--b', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '', b64, '--b--', ''].join('\r\n'),
    );
    const res = await c.append('INBOX', raw);
    await c.mailboxOpen('INBOX');
    const dl = await c.download(String(res && res.uid), '2', { uid: true });
    const chunks: Buffer[] = [];
    for await (const ch of dl.content) chunks.push(ch as Buffer);
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    await c.logout();
  });
});
