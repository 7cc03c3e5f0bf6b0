/**
 * Submission end to end with nodemailer as the client: STARTTLS and implicit TLS, AUTH
 * success and failure, sender ownership, Date/Message-ID added, DKIM signatures (RSA and
 * Ed25519) that mailauth verifies, remote recipients queued, and the sending limit.
 */
import { authenticate } from 'mailauth';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as accounts from '../src/core/accounts/index.js';
import { zoneResolver, type Zone } from '../src/core/delivery/index.js';
import { listQueue } from '../src/core/queue/index.js';
import { startSmtp, type Harness } from './fixtures/smtp/harness.js';

let h: Harness;
let bob: string;
let carol: string;

function transport(kind: 'starttls' | 'implicit', user = 'bob@example.com', pass = 'secret-password') {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: kind === 'starttls' ? h.ports.submission! : h.ports.submissions!,
    secure: kind === 'implicit',
    requireTLS: kind === 'starttls',
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
  });
}

beforeAll(async () => {
  h = await startSmtp({ listeners: ['submission', 'submissions'], extraToml: '[auth]\nloopback_is_secure = false\n[smtp]\nmax_messages_per_hour = 6\n' });
  bob = await h.addUser('bob@example.com');
  carol = await h.addUser('carol@example.com');
  await accounts.addAlias(h.ctx, 'sales@example.com', 'bob@example.com', { name: 'test', protocol: 'cli' });
});
afterAll(async () => h?.stop());

describe('submission', () => {
  it('delivers over STARTTLS with AUTH PLAIN to a local recipient, DKIM-signed with RSA and Ed25519', async () => {
    const info = await transport('starttls').sendMail({ from: 'bob@example.com', to: 'carol@example.com', subject: 'signed', text: 'hello carol' });
    expect(info.accepted).toEqual(['carol@example.com']);
    const stored = await h.messages(carol);
    expect(stored).toHaveLength(1);
    const raw = stored[0]!.raw;
    expect(raw).toMatch(/^DKIM-Signature: /m);
    expect(raw).toMatch(/^Received: from [^\r]*\r\n\tby mail\.example\.com \(Bulwark\) with ESMTPSA /m);
    // Verify on the receiving side with the domain's published keys.
    const keys = await accounts.dkimKeys(h.ctx, 'example.com');
    const zone: Zone = {};
    for (const k of keys) zone[`${k.selector}._domainkey.example.com`] = { TXT: [[`v=DKIM1; k=${k.algorithm}; p=${k.publicKeyB64}`]] };
    const res = await authenticate(Buffer.from(raw), { resolver: (name, rr) => zoneResolver(zone)(name, rr as 'TXT'), ip: '127.0.0.1', helo: 'x', sender: 'bob@example.com', disableArc: true, disableBimi: true });
    const results = (res.dkim?.results ?? []).map((r) => `${r.status?.result}:${r.algo}`).sort();
    expect(results).toEqual(['pass:ed25519-sha256', 'pass:rsa-sha256']);
  });

  it('delivers over implicit TLS (submissions) and adds Date and Message-ID when missing', async () => {
    const t = transport('implicit');
    await t.sendMail({
      envelope: { from: 'bob@example.com', to: ['carol@example.com'] },
      raw: 'From: bob@example.com\r\nTo: carol@example.com\r\nSubject: bare\r\n\r\nno date, no id\r\n',
    });
    const stored = await h.messages(carol);
    const last = stored[stored.length - 1]!.raw;
    expect(last).toMatch(/Subject: bare/);
    expect(last).toMatch(/^Date: /m);
    expect(last).toMatch(/^Message-ID: <[0-9a-f]+@mail\.example\.com>/m);
  });

  it('refuses a wrong password with 535 5.7.8', async () => {
    await expect(transport('starttls', 'bob@example.com', 'wrong').sendMail({ from: 'bob@example.com', to: 'carol@example.com', text: 'x' })).rejects.toMatchObject({ responseCode: 535 });
  });

  it('refuses an envelope sender the account does not own with 553 5.7.1', async () => {
    await expect(transport('starttls').sendMail({ from: 'carol@example.com', to: 'carol@example.com', text: 'x' })).rejects.toMatchObject({ responseCode: 553 });
  });

  it('refuses a From header the account does not own with 553 5.7.1', async () => {
    await expect(
      transport('starttls').sendMail({ envelope: { from: 'bob@example.com', to: ['carol@example.com'] }, from: 'ceo@example.com', to: 'carol@example.com', text: 'x' }),
    ).rejects.toMatchObject({ responseCode: 553 });
  });

  it('lets an account send as its alias', async () => {
    const info = await transport('starttls').sendMail({ from: 'sales@example.com', to: 'carol@example.com', text: 'from the alias' });
    expect(info.accepted).toEqual(['carol@example.com']);
  });

  it('queues remote recipients durably before answering 250', async () => {
    await transport('starttls').sendMail({ from: 'bob@example.com', to: 'someone@remote.example', subject: 'out', text: 'to the world' });
    const q = await listQueue(h.ctx);
    expect(q.some((m) => m.mailFrom === 'bob@example.com' && m.recipients.some((r) => r.address === 'someone@remote.example' && r.status === 'pending'))).toBe(true);
  });

  it('limits messages per hour per account (450 4.7.0)', async () => {
    const t = transport('starttls');
    let refused: unknown = null;
    for (let i = 0; i < 8 && !refused; i++) {
      await t.sendMail({ from: 'bob@example.com', to: 'carol@example.com', text: `n${i}` }).catch((e: unknown) => (refused = e));
    }
    expect(refused).toMatchObject({ responseCode: 450 });
  });
});
