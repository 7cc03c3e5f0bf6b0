/**
 * Delivery status notifications for local delivery: a copy that fails after the message was
 * accepted for other recipients (a full mailbox) is reported to the sender by an RFC 3464 DSN,
 * on the MX and on submission; NOTIFY=SUCCESS gets a "delivered" DSN (RFC 3461 §5.2.3) on the
 * MX, on submission (nodemailer's dsn option) and on LMTP; the null reverse-path never gets one.
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as accounts from '../src/core/accounts/index.js';
import { deleteQueued, listQueue } from '../src/core/queue/index.js';
import { RawClient, startSmtp, type Harness } from './fixtures/smtp/harness.js';

const actor = { name: 'cli:test', protocol: 'cli' };
let h: Harness;
let bob: string;
let carol: string;
let dave: string;

/** Runs one transaction on a raw connection; resolves with every reply after the greeting. */
async function transaction(port: number, hello: string, from: string, rcpts: string[], body: string): Promise<string> {
  const c = await RawClient.connect(port);
  await c.replies(1);
  c.send(`${hello} client.example\r\n`);
  await c.replies(1);
  c.send(`MAIL FROM:<${from}>\r\n`);
  let out = await c.replies(1);
  for (const r of rcpts) {
    c.send(`RCPT TO:${r}\r\n`);
    out += await c.replies(1);
  }
  c.send('DATA\r\n');
  out += await c.replies(1);
  c.send(body + '\r\n.\r\n');
  const accepted = (out.match(/^250 2\.1\.5 /gm) ?? []).length;
  out += await c.replies(hello === 'LHLO' ? accepted : 1);
  c.send('QUIT\r\n');
  c.close();
  return out;
}

/** The DSNs waiting in the outbound queue for `to`, as text; they are removed from the queue. */
async function queuedDsnsTo(to: string): Promise<string[]> {
  const out: string[] = [];
  for (const m of await listQueue(h.ctx)) {
    if (!m.recipients.some((r) => r.address === to)) continue;
    expect(m.mailFrom).toBe('');
    expect(m.isDsn).toBe(true);
    out.push(Buffer.from((await h.ctx.blobs.get(m.blobId))!).toString('utf8'));
    await deleteQueued(h.ctx, m.id);
  }
  return out;
}

const dsnsIn = async (accountId: string) => (await h.messages(accountId)).filter((m) => m.raw.includes('report-type=delivery-status')).map((m) => m.raw);
const msg = (subject: string) => `From: alice@remote.example\r\nTo: bob@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@remote.example>\r\n\r\nbody of ${subject}`;

beforeAll(async () => {
  h = await startSmtp({ listeners: ['smtp', 'submission', 'lmtp'], extraToml: '[auth]\nloopback_is_secure = false\n' });
  bob = await h.addUser('bob@example.com');
  carol = await h.addUser('carol@example.com');
  dave = await h.addUser('dave@example.com');
  // Carol's mailbox is full: any message is over her quota.
  await accounts.setQuota(h.ctx, 'carol@example.com', 10, actor);
});
afterAll(async () => h?.stop());

describe('local delivery DSNs', () => {
  it('MX: a copy over quota after 250 for the others is returned to the remote sender in a DSN', async () => {
    const out = await transaction(h.ports.smtp!, 'EHLO', 'alice@remote.example', ['<bob@example.com>', '<carol@example.com>'], msg('partial'));
    expect(out).toMatch(/^250 2\.0\.0 OK id=/m);
    expect((await h.messages(bob)).some((m) => m.raw.includes('Subject: partial'))).toBe(true);
    expect(await h.messages(carol)).toHaveLength(0);
    const dsns = await queuedDsnsTo('alice@remote.example');
    expect(dsns).toHaveLength(1);
    const d = dsns[0]!;
    expect(d).toMatch(/^Subject: Undelivered Mail Returned to Sender\r$/m);
    expect(d).toMatch(/^Content-Type: multipart\/report; report-type=delivery-status/m);
    expect(d).toMatch(/^Final-Recipient: rfc822; carol@example\.com\r$/m);
    expect(d).toMatch(/^Action: failed\r$/m);
    expect(d).toMatch(/^Status: 5\.2\.2\r$/m);
    expect(d).not.toMatch(/^Final-Recipient: rfc822; bob@example\.com/m);
    // The original comes back whole (no RET given) below the report.
    expect(d).toMatch(/Content-Type: message\/rfc822\r\n\r\n[\s\S]*Subject: partial[\s\S]*body of partial/);
  });

  it('MX: when every copy fails the reply says so and no DSN is sent', async () => {
    const out = await transaction(h.ports.smtp!, 'EHLO', 'alice@remote.example', ['<carol@example.com>'], msg('allfail'));
    expect(out).toMatch(/^452 4\.2\.2 /m);
    expect(await queuedDsnsTo('alice@remote.example')).toEqual([]);
  });

  it('never reports to the null reverse-path (no bounce of a bounce)', async () => {
    const out = await transaction(h.ports.smtp!, 'EHLO', '', ['<bob@example.com> NOTIFY=SUCCESS,FAILURE', '<carol@example.com>'], msg('nullpath'));
    expect(out).toMatch(/^250 2\.0\.0 /m);
    expect((await listQueue(h.ctx)).filter((m) => m.isDsn)).toEqual([]);
  });

  it('submission: the local sender gets a DSN in INBOX for the recipient whose copy failed', async () => {
    const before = (await dsnsIn(bob)).length;
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: h.ports.submission!, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'bob@example.com', pass: 'secret-password' } });
    const info = await t.sendMail({ from: 'bob@example.com', to: ['dave@example.com', 'carol@example.com'], subject: 'to both', text: 'hello' });
    expect(info.accepted.sort()).toEqual(['carol@example.com', 'dave@example.com']);
    expect((await h.messages(dave)).some((m) => m.raw.includes('Subject: to both'))).toBe(true);
    const dsns = (await dsnsIn(bob)).slice(before);
    expect(dsns).toHaveLength(1);
    expect(dsns[0]).toMatch(/^Final-Recipient: rfc822; carol@example\.com\r$/m);
    expect(dsns[0]).toMatch(/^Action: failed\r$/m);
    expect(dsns[0]).not.toMatch(/dave@example\.com\r\nAction/);
  });

  it('MX: NOTIFY=SUCCESS gets a "delivered" DSN with the headers only; recipients without it get none', async () => {
    const out = await transaction(h.ports.smtp!, 'EHLO', 'alice@remote.example', ['<bob@example.com> NOTIFY=SUCCESS ORCPT=rfc822;Bob@Example.com', '<dave@example.com>'], msg('success'));
    expect(out).toMatch(/^250 2\.0\.0 /m);
    const dsns = await queuedDsnsTo('alice@remote.example');
    expect(dsns).toHaveLength(1);
    const d = dsns[0]!;
    expect(d).toMatch(/^Subject: Delivery Status Notification \(Success\)\r$/m);
    expect(d).toMatch(/^Original-Recipient: rfc822;Bob@Example\.com\r\nFinal-Recipient: rfc822; bob@example\.com\r\nAction: delivered\r\nStatus: 2\.0\.0\r$/m);
    expect(d).not.toMatch(/dave@example\.com/);
    // RFC 3461 §4.3: a report without failures returns the header only.
    expect(d).toMatch(/^Content-Type: text\/rfc822-headers\r$/m);
    expect(d).not.toMatch(/body of success/);
  });

  it('submission: NOTIFY=SUCCESS from nodemailer puts a "delivered" DSN into the sender INBOX', async () => {
    const before = (await dsnsIn(bob)).length;
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: h.ports.submission!, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'bob@example.com', pass: 'secret-password' } });
    await t.sendMail({ from: 'bob@example.com', to: 'dave@example.com', subject: 'tell me', text: 'x', dsn: { id: 'env-42', return: 'headers', notify: ['success'], recipient: 'bob@example.com' } });
    const dsns = (await dsnsIn(bob)).slice(before);
    expect(dsns).toHaveLength(1);
    expect(dsns[0]).toMatch(/^Original-Envelope-Id: env-42\r$/m);
    expect(dsns[0]).toMatch(/^Final-Recipient: rfc822; dave@example\.com\r\nAction: delivered\r$/m);
  });

  it('LMTP: failures get their own replies and only successes asked for are reported', async () => {
    const out = await transaction(h.ports.lmtp!, 'LHLO', 'alice@remote.example', ['<bob@example.com> NOTIFY=SUCCESS,FAILURE', '<carol@example.com> NOTIFY=SUCCESS,FAILURE'], msg('lmtp'));
    expect(out).toMatch(/^250 2\.1\.5 <bob@example\.com> delivered/m);
    expect(out).toMatch(/^452 4\.2\.2 /m);
    const dsns = await queuedDsnsTo('alice@remote.example');
    expect(dsns).toHaveLength(1);
    expect(dsns[0]).toMatch(/^Final-Recipient: rfc822; bob@example\.com\r\nAction: delivered\r$/m);
    expect(dsns[0]).not.toMatch(/carol@example\.com/);
  });
});
