/**
 * The MX listener beyond single transcripts: SPF/DKIM/DMARC verdicts with a fixture DNS zone,
 * DMARC reject and quarantine, what is (and is never) stored, and connection limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startSmtp, type Harness } from './fixtures/smtp/harness.js';

let h: Harness;
let bob: string;

async function session(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.replies(1);
  c.send('EHLO client.example\r\n');
  await c.replies(1);
  return c;
}

/** Sends one message; returns the final reply line. */
async function sendMessage(port: number, from: string, to: string, data: string): Promise<string> {
  const c = await session(port);
  c.send(`MAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
  const r = await c.replies(3);
  if (!/^354 /m.test(r)) {
    c.close();
    return r;
  }
  c.send(data + '\r\n.\r\n');
  const out = await c.replies(1);
  c.send('QUIT\r\n');
  c.close();
  return out.trim();
}

beforeAll(async () => {
  h = await startSmtp({
    listeners: ['smtp'],
    extraToml: '[smtp]\nmax_connections_per_ip = 3\n',
    zone: {
      'reject.example': { TXT: [['v=spf1 -all']] },
      '_dmarc.reject.example': { TXT: [['v=DMARC1; p=reject']] },
      'quarantine.example': { TXT: [['v=spf1 -all']] },
      '_dmarc.quarantine.example': { TXT: [['v=DMARC1; p=quarantine']] },
      'good.example': { TXT: [['v=spf1 ip4:127.0.0.1 -all']] },
      '_dmarc.good.example': { TXT: [['v=DMARC1; p=reject']] },
    },
  });
  bob = await h.addUser('bob@example.com');
});
afterAll(async () => h?.stop());

describe('MX inbound', () => {
  it('delivers an SPF- and DMARC-passing message to INBOX with Authentication-Results and Received on top', async () => {
    const r = await sendMessage(h.ports.smtp!, 'alice@good.example', 'bob@example.com', 'From: alice@good.example\r\nSubject: good\r\n\r\nhello\r\n..dot');
    expect(r).toMatch(/^250 2\.0\.0 /);
    const m = (await h.messages(bob)).find((x) => x.raw.includes('Subject: good'))!;
    expect(m.role).toBe('inbox');
    expect(m.raw).toMatch(/^Authentication-Results: mail\.example\.com;/m);
    expect(m.raw).toMatch(/spf=pass/);
    expect(m.raw).toMatch(/dmarc=pass/);
    expect(m.raw).toMatch(/^Received: from client\.example \(\[127\.0\.0\.1\]\)/m);
    // Dot-unstuffing: "..dot" on the wire is ".dot" in the message.
    expect(m.raw.endsWith('hello\r\n.dot\r\n')).toBe(true);
  });

  it('renames forged Authentication-Results that claim our name (RFC 8601 §5)', async () => {
    const r = await sendMessage(
      h.ports.smtp!,
      'alice@good.example',
      'bob@example.com',
      'Authentication-Results: mail.example.com; dkim=pass header.d=bank.example\r\nAuthentication-Results: other.example; spf=pass\r\nFrom: alice@good.example\r\nSubject: forged-ar\r\n\r\nhi',
    );
    expect(r).toMatch(/^250 /);
    const m = (await h.messages(bob)).find((x) => x.raw.includes('Subject: forged-ar'))!;
    expect(m.raw).toMatch(/^X-Forged-Authentication-Results: mail\.example\.com; dkim=pass header\.d=bank\.example$/m);
    expect(m.raw).toMatch(/^Authentication-Results: other\.example; spf=pass$/m);
    const ours = m.raw.match(/^Authentication-Results: mail\.example\.com;/gm) ?? [];
    expect(ours).toHaveLength(1);
  });

  it('refuses mail failing DMARC with p=reject (550 5.7.1) and stores nothing', async () => {
    const before = (await h.messages(bob)).length;
    const r = await sendMessage(h.ports.smtp!, 'ceo@reject.example', 'bob@example.com', 'From: ceo@reject.example\r\nSubject: spoof\r\n\r\npay now');
    expect(r).toBe('550 5.7.1 Rejected by the sender domain DMARC policy');
    expect((await h.messages(bob)).length).toBe(before);
  });

  it('files mail failing DMARC with p=quarantine into Junk', async () => {
    const r = await sendMessage(h.ports.smtp!, 'x@quarantine.example', 'bob@example.com', 'From: x@quarantine.example\r\nSubject: dubious\r\n\r\nhm');
    expect(r).toMatch(/^250 /);
    const m = (await h.messages(bob)).find((x) => x.raw.includes('Subject: dubious'))!;
    expect(m.role).toBe('junk');
  });

  it('never stores a message refused for a bare LF, even with a valid end later', async () => {
    const before = (await h.messages(bob)).length;
    const c = await session(h.ports.smtp!);
    c.send('MAIL FROM:<a@good.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n');
    await c.replies(3);
    c.send('Subject: half\r\n\r\nfirst\n.\nMAIL FROM:<x@y>\r\n.\r\n');
    expect(await c.replies(1)).toMatch(/^521 5\.5\.2 /);
    expect(await c.waitClosed()).toBe(true);
    expect((await h.messages(bob)).length).toBe(before);
  });

  it('never stores a message whose connection drops before the end marker', async () => {
    const before = (await h.messages(bob)).length;
    const c = await session(h.ports.smtp!);
    c.send('MAIL FROM:<a@good.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n');
    await c.replies(3);
    c.send('Subject: cut\r\n\r\nthe rest never comes\r\n');
    await new Promise((r) => setTimeout(r, 100));
    c.close();
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.messages(bob)).length).toBe(before);
  });

  it('answers 421 to connections over the per-address limit', async () => {
    const open = await Promise.all([1, 2, 3].map(() => session(h.ports.smtp!)));
    const extra = await RawClient.connect(h.ports.smtp!);
    expect(await extra.replies(1)).toMatch(/^421 4\.7\.0 /);
    expect(await extra.waitClosed()).toBe(true);
    open.forEach((c) => c.close());
    await new Promise((r) => setTimeout(r, 100));
    const again = await RawClient.connect(h.ports.smtp!);
    expect(await again.replies(1)).toMatch(/^220 /);
    again.close();
  });

  it('keeps running after a flood of garbage and answers the next client', async () => {
    const c = await session(h.ports.smtp!);
    const junk = Buffer.alloc(200_000);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) % 256;
    c.send(junk);
    await new Promise((r) => setTimeout(r, 200));
    c.close();
    const r = await sendMessage(h.ports.smtp!, 'alice@good.example', 'bob@example.com', 'From: alice@good.example\r\nSubject: after\r\n\r\nok');
    expect(r).toMatch(/^250 /);
  });

  it('closes a session at its total time limit even while the client keeps talking', async () => {
    const short = await startSmtp({ listeners: ['smtp'], extraToml: '[smtp]\nsession_timeout_seconds = 1\n' });
    try {
      const c = await session(short.ports.smtp!);
      const timer = setInterval(() => c.send('NOOP\r\n'), 200);
      const text = await c.until((t) => t.includes('421 '), 3000);
      clearInterval(timer);
      expect(text).toMatch(/^421 4\.4\.2 Session time limit reached, closing connection\r$/m);
      expect(await c.waitClosed()).toBe(true);
    } finally {
      await short.stop();
    }
  });
});
