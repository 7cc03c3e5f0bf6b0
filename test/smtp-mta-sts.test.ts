/**
 * Outbound TLS end to end on loopback: MTA-STS (RFC 8461) with a policy served over HTTPS by a
 * server this test starts, a fixture DNS zone publishing `_mta-sts` TXT records, and a fake MX;
 * certificates come from a test CA the server trusts through `smtp.tls_ca_file`. Then the
 * smart host: AUTH PLAIN over STARTTLS verified against the same CA, configured as an admin
 * would (`smtp.relay`, `smtp.relay_auth_file`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteQueued, enqueue, listQueue } from '../src/core/queue/index.js';
import { ensureSelfSignedCertificate } from '../src/security/tls.js';
import { FakeMx } from './fixtures/smtp/fake-mx.js';
import { startSmtp, type Harness } from './fixtures/smtp/harness.js';
import { makeTestCa, type TestCa } from './fixtures/smtp/test-ca.js';

let dir: string;
let ca: TestCa;
let selfSigned: { cert: string; key: string };
let mx: FakeMx;
let https: Server;
let httpsPort = 0;
let h: Harness;
const fetched: string[] = [];

/** Policies by policy host name (RFC 8461 §3.3: https://mta-sts.DOMAIN/.well-known/mta-sts.txt). */
const policies: Record<string, string> = {
  'mta-sts.sts.example': 'version: STSv1\r\nmode: enforce\r\nmx: mx.sts.example\r\nmax_age: 86400\r\n',
  'mta-sts.mismatch.example': 'version: STSv1\r\nmode: enforce\r\nmx: mx.elsewhere.example\r\nmax_age: 86400\r\n',
  'mta-sts.notls.example': 'version: STSv1\r\nmode: enforce\r\nmx: mx.notls.example\r\nmax_age: 86400\r\n',
};

/** A recipient domain with its MX on loopback and an MTA-STS record. */
function stsDomain(domain: string): Record<string, Record<string, unknown[]>> {
  return {
    [domain]: { MX: [{ exchange: `mx.${domain}`, priority: 10 }] },
    [`mx.${domain}`]: { A: ['127.0.0.1'] },
    [`_mta-sts.${domain}`]: { TXT: [['v=STSv1; id=20260601']] },
    [`mta-sts.${domain}`]: { A: ['127.0.0.1'] },
  };
}

const msg = (subject: string) => Buffer.from(`From: bob@example.com\r\nTo: x@remote.example\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.com>\r\n\r\nbody of ${subject}\r\n`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bulwark-sts-'));
  ca = makeTestCa(dir, ['mx.sts.example', 'mx.notls.example', 'mx.mismatch.example', 'mta-sts.sts.example', 'mta-sts.mismatch.example', 'mta-sts.notls.example', 'relay.example']);
  const ss = await ensureSelfSignedCertificate(join(dir, 'self'), 'mx.sts.example', []);
  selfSigned = { cert: ss.certPath, key: ss.keyPath };
  https = createServer({ cert: readFileSync(ca.cert), key: readFileSync(ca.key) }, (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    fetched.push(host);
    const body = policies[host];
    if (req.url !== '/.well-known/mta-sts.txt' || body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
  httpsPort = (https.address() as { port: number }).port;
  mx = new FakeMx({ cert: ca.cert, key: ca.key });
  await mx.start();
  h = await startSmtp({
    listeners: [],
    extraToml: `[egress]\nallow = ["127.0.0.1"]\n[smtp]\nmta_sts = true\ntls_ca_file = ${JSON.stringify(ca.caCert)}\n`,
    queue: { remotePort: mx.port, mtaStsPort: httpsPort, timeoutMs: 2000 },
    zone: { ...stsDomain('sts.example'), ...stsDomain('mismatch.example'), ...stsDomain('notls.example') },
  });
  await h.addUser('bob@example.com');
});
afterAll(async () => {
  await h?.stop();
  await mx?.stop();
  await new Promise<void>((r) => (https ? https.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  mx.offerTls = false;
  mx.received = [];
  mx.tlsFiles = { cert: ca.cert, key: ca.key };
  for (const m of await listQueue(h.ctx)) await deleteQueued(h.ctx, m.id);
});

describe('MTA-STS (RFC 8461) end to end', () => {
  it('enforce with no MX host matching the policy: nothing is sent, the message waits (4.7.5)', async () => {
    mx.offerTls = true;
    const before = mx.connections;
    await enqueue(h.ctx, { raw: msg('mismatch'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@mismatch.example' }] });
    await h.smtp.queue.runDue();
    expect(fetched).toContain('mta-sts.mismatch.example');
    expect(mx.connections).toBe(before);
    expect(mx.received).toHaveLength(0);
    const q = await listQueue(h.ctx);
    expect(q[0]!.recipients[0]!.status).toBe('pending');
    expect(q[0]!.recipients[0]!.lastReply).toMatch(/^451 4\.7\.5 no MX host of mismatch\.example matches its MTA-STS policy/);
  });

  it('enforce with a matching MX offering STARTTLS and a certificate of the trusted CA: delivered over TLS', async () => {
    mx.offerTls = true;
    await enqueue(h.ctx, { raw: msg('secure'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@sts.example' }] });
    await h.smtp.queue.runDue();
    expect(fetched).toContain('mta-sts.sts.example');
    expect(mx.received).toHaveLength(1);
    expect(mx.received[0]!.isTls).toBe(true);
    expect(mx.received[0]!.rcpts).toEqual(['x@sts.example']);
    expect(await listQueue(h.ctx)).toHaveLength(0);
  });

  it('enforce with a matching MX whose certificate no trusted CA signed: not delivered', async () => {
    mx.offerTls = true;
    mx.tlsFiles = selfSigned;
    await enqueue(h.ctx, { raw: msg('untrusted'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@sts.example' }] });
    await h.smtp.queue.runDue();
    expect(mx.received).toHaveLength(0);
    const q = await listQueue(h.ctx);
    expect(q[0]!.recipients[0]!.status).toBe('pending');
  });

  it('enforce with a matching MX that does not offer STARTTLS: not delivered', async () => {
    mx.offerTls = false;
    await enqueue(h.ctx, { raw: msg('plain'), mailFrom: 'bob@example.com', recipients: [{ address: 'x@notls.example' }] });
    await h.smtp.queue.runDue();
    expect(fetched).toContain('mta-sts.notls.example');
    expect(mx.received).toHaveLength(0);
    const q = await listQueue(h.ctx);
    expect(q[0]!.recipients[0]!.status).toBe('pending');
    expect(q[0]!.recipients[0]!.lastReply).toMatch(/4\.7\.5 TLS required by policy but not offered/);
  });
});

describe('smart host with AUTH over STARTTLS', () => {
  it('authenticates to the relay after verifying its certificate against smtp.tls_ca_file, and delivers', async () => {
    const authFile = join(dir, 'relay-auth.txt');
    writeFileSync(authFile, 'relay-user:relay-pass\n', { mode: 0o600 });
    const relay = new FakeMx({ cert: ca.cert, key: ca.key });
    relay.offerTls = true;
    relay.requireAuth = { username: 'relay-user', password: 'relay-pass' };
    await relay.start();
    const r = await startSmtp({
      listeners: [],
      extraToml: [
        '[egress]',
        'allow = ["127.0.0.1"]',
        '[smtp]',
        'relay = ["relay.example"]',
        `relay_port = ${relay.port}`,
        `relay_auth_file = ${JSON.stringify(authFile)}`,
        `tls_ca_file = ${JSON.stringify(ca.caCert)}`,
      ].join('\n'),
      queue: { timeoutMs: 2000 },
      zone: { 'relay.example': { A: ['127.0.0.1'] } },
    });
    try {
      await enqueue(r.ctx, { raw: msg('relayed'), mailFrom: 'bob@example.com', recipients: [{ address: 'a@anywhere.example' }, { address: 'b@elsewhere.example' }] });
      await r.smtp.queue.runDue();
      expect(relay.authLines).toHaveLength(1);
      expect(relay.received).toHaveLength(1);
      expect(relay.received[0]).toMatchObject({ isTls: true, user: 'relay-user', from: 'bob@example.com' });
      expect(relay.received[0]!.rcpts.sort()).toEqual(['a@anywhere.example', 'b@elsewhere.example']);
      expect(await listQueue(r.ctx)).toHaveLength(0);
    } finally {
      await r.stop();
      await relay.stop();
    }
  });
});
