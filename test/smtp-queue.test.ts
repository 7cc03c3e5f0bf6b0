/**
 * The outbound queue against fake MX servers this test starts on 127.0.0.1: success, 4xx then
 * success on retry, 5xx → bounce in the sender's INBOX, timeouts, STARTTLS offered or not,
 * null MX, expiry with a delay notice first, no bounce of a bounce, claims that keep two
 * runners apart, and the egress guard. A fake clock runs days of backoff in milliseconds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../src/core/clock.js';
import { claimDue, enqueue, listQueue, parseMtaStsPolicy, mxMatches, QueueRunner, deleteQueued } from '../src/core/queue/index.js';
import { egressResolverOf, zoneResolver } from '../src/core/delivery/index.js';
import { EgressGuard } from '../src/security/egress.js';
import { ensureSelfSignedCertificate } from '../src/security/tls.js';
import { FakeMx } from './fixtures/smtp/fake-mx.js';
import { startSmtp, type Harness } from './fixtures/smtp/harness.js';

const clock = new FakeClock(Date.UTC(2026, 5, 1));
let h: Harness;
let mx: FakeMx;
let bob: string;
let certDir: string;
const HOUR = 3_600_000;

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'fake-mx-'));
  const files = await ensureSelfSignedCertificate(certDir, 'mx.remote.example', []);
  mx = new FakeMx({ cert: files.certPath, key: files.keyPath });
  await mx.start();
  h = await startSmtp({
    listeners: ['submission'],
    clock,
    extraToml: '[egress]\nallow = ["127.0.0.1"]\n[smtp]\nmta_sts = false\n',
    queue: { remotePort: mx.port, timeoutMs: 400, retryBaseMs: 60_000, retryMaxMs: 4 * HOUR, maxAgeMs: 120 * HOUR, delayNoticeMs: 4 * HOUR },
    zone: {
      'remote.example': { MX: [{ exchange: 'mx.remote.example', priority: 10 }] },
      'mx.remote.example': { A: ['127.0.0.1'] },
      'implicit.example': { A: ['127.0.0.1'] },
      'nullmx.example': { MX: [{ exchange: '', priority: 0 }] },
      'private.example': { MX: [{ exchange: 'mx.private.example', priority: 10 }] },
      'mx.private.example': { A: ['10.1.2.3'] },
    },
  });
  bob = await h.addUser('bob@example.com');
});
afterAll(async () => {
  await h?.stop();
  await mx?.stop();
  rmSync(certDir, { recursive: true, force: true });
});
afterEach(() => {
  mx.rcptReply = () => '250 2.1.5 ok';
  mx.dataReply = () => '250 2.0.0 queued';
  mx.offerTls = false;
  mx.hang = false;
  mx.offerDsn = true;
  mx.received = [];
  mx.rcptLines = [];
});

const msg = (subject: string) => Buffer.from(`From: bob@example.com\r\nTo: x@remote.example\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.com>\r\n\r\nbody of ${subject}\r\n`);
const dsnsFor = async (subject: string) => (await h.messages(bob)).filter((m) => m.raw.includes('report-type=delivery-status') && m.raw.includes(`Subject: ${subject}`));

describe('outbound queue', () => {
  it('delivers to the MX host and removes the message', async () => {
    await enqueue(h.ctx, { raw: msg('plain'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@remote.example' }] });
    expect(await h.smtp.queue.runDue()).toBe(1);
    expect(mx.received).toHaveLength(1);
    expect(mx.received[0]!.rcpts).toEqual(['x@remote.example']);
    expect(mx.received[0]!.isTls).toBe(false);
    expect(await listQueue(h.ctx)).toHaveLength(0);
  });

  it('uses STARTTLS when the MX offers it', async () => {
    mx.offerTls = true;
    await enqueue(h.ctx, { raw: msg('tls'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@remote.example' }] });
    await h.smtp.queue.runDue();
    expect(mx.received).toHaveLength(1);
    expect(mx.received[0]!.isTls).toBe(true);
  });

  it('falls back to the A record when there is no MX (RFC 5321 §5.1)', async () => {
    await enqueue(h.ctx, { raw: msg('implicit'), mailFrom: 'bob@example.com', recipients: [{ address: 'y@implicit.example' }] });
    await h.smtp.queue.runDue();
    expect(mx.received.map((r) => r.rcpts).flat()).toEqual(['y@implicit.example']);
  });

  it('retries after a 4xx with backoff and then delivers', async () => {
    mx.rcptReply = () => '450 4.2.1 try later';
    await enqueue(h.ctx, { raw: msg('retry'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@remote.example' }] });
    await h.smtp.queue.runDue();
    let q = await listQueue(h.ctx);
    expect(q).toHaveLength(1);
    expect(q[0]!.attempts).toBe(1);
    expect(q[0]!.nextAttemptAt).toBe(clock.now() + 60_000);
    expect(q[0]!.recipients[0]!.lastReply).toMatch(/^450 /);
    // Not due yet: nothing happens.
    expect(await h.smtp.queue.runDue()).toBe(0);
    mx.rcptReply = () => '250 2.1.5 ok';
    clock.advance(60_000);
    expect(await h.smtp.queue.runDue()).toBe(1);
    expect(mx.received).toHaveLength(1);
    q = await listQueue(h.ctx);
    expect(q).toHaveLength(0);
  });

  it('returns a 5xx as an RFC 3464 bounce into the local sender INBOX', async () => {
    mx.rcptReply = () => '550 5.1.1 no such user';
    await enqueue(h.ctx, { raw: msg('bounced'), mailFrom: 'bob@example.com', recipients: [{ address: 'gone@remote.example' }] });
    await h.smtp.queue.runDue();
    expect(await listQueue(h.ctx)).toHaveLength(0);
    const dsns = await dsnsFor('bounced');
    expect(dsns).toHaveLength(1);
    const d = dsns[0]!;
    expect(d.role).toBe('inbox');
    expect(d.raw).toMatch(/Content-Type: multipart\/report; report-type=delivery-status/);
    expect(d.raw).toMatch(/^Final-Recipient: rfc822; gone@remote\.example$/m);
    expect(d.raw).toMatch(/^Action: failed$/m);
    expect(d.raw).toMatch(/^Status: 5\.1\.1$/m);
    expect(d.raw).toMatch(/^Diagnostic-Code: smtp; 550 5\.1\.1 no such user$/m);
    expect(d.raw).toMatch(/^Remote-MTA: dns; mx\.remote\.example$/m);
  });

  it('treats a silent server as a timeout and retries', async () => {
    mx.hang = true;
    await enqueue(h.ctx, { raw: msg('timeout'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@remote.example' }] });
    await h.smtp.queue.runDue();
    const q = await listQueue(h.ctx);
    expect(q).toHaveLength(1);
    expect(q[0]!.recipients[0]!.status).toBe('pending');
    expect(q[0]!.recipients[0]!.lastReply).toMatch(/timeout/);
    mx.hang = false;
    clock.advance(60_000);
    await h.smtp.queue.runDue();
    expect(await listQueue(h.ctx)).toHaveLength(0);
  });

  it('bounces at once for a null MX (RFC 7505)', async () => {
    await enqueue(h.ctx, { raw: msg('nullmx'), mailFrom: 'bob@example.com', recipients: [{ address: 'a@nullmx.example' }] });
    await h.smtp.queue.runDue();
    const d = (await dsnsFor('nullmx'))[0]!;
    expect(d.raw).toMatch(/^Status: 5\.1\.10$/m);
    expect(mx.received).toHaveLength(0);
  });

  it('sends one delay notice, then expires after the maximum age with 4.4.7', async () => {
    mx.rcptReply = () => '451 4.3.0 busy';
    await enqueue(h.ctx, { raw: msg('slow'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@remote.example' }] });
    for (let t = 0; t < 130; t += 1) {
      await h.smtp.queue.runDue();
      clock.advance(HOUR);
    }
    await h.smtp.queue.runDue();
    const dsns = await dsnsFor('slow');
    const actions = dsns.map((d) => /^Action: (\w+)$/m.exec(d.raw)?.[1]);
    expect(actions).toEqual(['delayed', 'failed']);
    expect(dsns[1]!.raw).toMatch(/^Status: 4\.4\.7$/m);
    expect(await listQueue(h.ctx)).toHaveLength(0);
  });

  it('passes NOTIFY=SUCCESS to an MX that offers DSN and reports nothing itself (RFC 3461 §5.2.2 a)', async () => {
    await enqueue(h.ctx, { raw: msg('notify-on'), mailFrom: 'bob@example.com', envid: 'e1', recipients: [{ address: 'x@remote.example', notify: ['SUCCESS'], orcpt: 'rfc822;x@remote.example' }] });
    await h.smtp.queue.runDue();
    expect(mx.received).toHaveLength(1);
    expect(mx.rcptLines).toEqual(['RCPT TO:<x@remote.example> NOTIFY=SUCCESS ORCPT=rfc822;x@remote.example']);
    expect(await dsnsFor('notify-on')).toEqual([]);
  });

  it('reports "relayed" for NOTIFY=SUCCESS to an MX without DSN (RFC 3461 §5.2.2 b)', async () => {
    mx.offerDsn = false;
    await enqueue(h.ctx, { raw: msg('notify-relayed'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@remote.example', notify: ['SUCCESS'] }] });
    await h.smtp.queue.runDue();
    expect(mx.rcptLines).toEqual(['RCPT TO:<x@remote.example>']);
    const dsns = await dsnsFor('notify-relayed');
    expect(dsns).toHaveLength(1);
    expect(dsns[0]!.raw).toMatch(/^Subject: Delivery Status Notification \(Success\)\r$/m);
    expect(dsns[0]!.raw).toMatch(/^Final-Recipient: rfc822; x@remote\.example\r\nAction: relayed\r\nStatus: 2\.0\.0\r$/m);
  });

  it('never bounces a bounce (null reverse-path)', async () => {
    mx.rcptReply = () => '550 5.1.1 no';
    const before = (await h.messages(bob)).length;
    await enqueue(h.ctx, { raw: msg('nullsender'), mailFrom: '', recipients: [{ address: 'x@remote.example' }] });
    await h.smtp.queue.runDue();
    expect(await listQueue(h.ctx)).toHaveLength(0);
    expect((await h.messages(bob)).length).toBe(before);
  });

  it('lets only one runner claim a message', async () => {
    await enqueue(h.ctx, { raw: msg('claim'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@remote.example' }] });
    const a = await claimDue(h.ctx, 'node-a', 10, 60_000);
    const b = await claimDue(h.ctx, 'node-b', 10, 60_000);
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(0);
    // The claim expires: another node takes over after the lease.
    clock.advance(60_001);
    expect(await claimDue(h.ctx, 'node-b', 10, 60_000)).toHaveLength(1);
    clock.advance(60_001);
    await h.smtp.queue.runDue();
  });

  it('does not connect to private addresses the egress guard does not allow', async () => {
    await enqueue(h.ctx, { raw: msg('private'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@private.example' }] });
    await h.smtp.queue.runDue();
    const q = await listQueue(h.ctx);
    expect(q[0]!.recipients[0]!.lastReply).toMatch(/^451 4\.4\.1 cannot connect to mx\.private\.example/);
    await deleteQueued(h.ctx, q[0]!.id);
  });

  it('delivers a submitted message end to end with its DKIM signature', async () => {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: h.ports.submission!, secure: false, tls: { rejectUnauthorized: false }, auth: { user: 'bob@example.com', pass: 'secret-password' } });
    await t.sendMail({ from: 'bob@example.com', to: 'friend@remote.example', subject: 'e2e', text: 'hi' });
    await h.smtp.queue.runDue();
    expect(mx.received).toHaveLength(1);
    expect(mx.received[0]!.from).toBe('bob@example.com');
    expect(mx.received[0]!.data).toMatch(/^DKIM-Signature: v=1; a=(rsa|ed25519)-sha256/m);
  });
});

describe('smart host', () => {
  const runner = (credentials: { username: string; password: string } | null) => {
    const resolver = zoneResolver({});
    return new QueueRunner(h.ctx, {
      hostname: 'mail.example.com',
      resolver,
      egress: new EgressGuard({ allow: ['127.0.0.1'], resolver: egressResolverOf(resolver) }),
      remotePort: 25,
      relay: { host: '127.0.0.1', port: mx.port, credentials },
      retryBaseMs: 60_000,
      retryMaxMs: HOUR,
      maxAgeMs: 120 * HOUR,
      delayNoticeMs: 4 * HOUR,
      timeoutMs: 1000,
      leaseMs: 60_000,
      concurrency: 4,
      pollIntervalMs: 60_000,
      isMtaStsEnabled: false,
      maxReturnBytes: 65536,
    });
  };

  it('sends every domain through the relay without MX lookups', async () => {
    await enqueue(h.ctx, { raw: msg('relayed'), mailFrom: 'bob@example.com', recipients: [{ address: 'a@unresolvable.example' }, { address: 'b@other.example' }] });
    await runner(null).runDue();
    expect(mx.received).toHaveLength(1);
    expect(mx.received[0]!.rcpts.sort()).toEqual(['a@unresolvable.example', 'b@other.example']);
  });

  it('never sends relay credentials without TLS', async () => {
    mx.authLines = [];
    await enqueue(h.ctx, { raw: msg('relay-auth'), mailFrom: 'bob@example.com', recipients: [{ address: 'a@other.example' }] });
    await runner({ username: 'u', password: 'p' }).runDue();
    expect(mx.authLines).toEqual([]);
    const q = await listQueue(h.ctx);
    expect(q[0]!.recipients[0]!.lastReply).toMatch(/TLS required/);
    await deleteQueued(h.ctx, q[0]!.id);
  });
});

describe('MTA-STS policy parsing (RFC 8461 §3.2, §4.1)', () => {
  it('parses a policy and matches MX patterns', () => {
    const p = parseMtaStsPolicy('version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 86400\r\n');
    expect(p).toEqual({ mode: 'enforce', mx: ['mail.example.com', '*.example.net'], maxAgeSeconds: 86400 });
    expect(mxMatches('*.example.net', 'mx1.example.net')).toBe(true);
    expect(mxMatches('*.example.net', 'a.b.example.net')).toBe(false);
    expect(mxMatches('mail.example.com', 'MAIL.example.com.')).toBe(true);
    expect(parseMtaStsPolicy('version: STSv2\nmode: enforce\nmax_age: 1')).toBeNull();
  });
});
