/** The server process wiring: PROXY protocol on a listener, and the client address it yields. */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../src/core/audit/index.js';
import { encodeProxyV1 } from '../src/security/proxy.js';
import { startTestServer, type TestServer } from './support/server.js';

function rawRequest(port: number, prefix: Uint8Array, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(prefix);
      s.write(request);
    });
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

describe('PROXY protocol', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ listeners: ['admin'], listenerKeys: ['proxy_protocol = ["admin"]', 'proxy_trusted = ["127.0.0.0/8"]'] });
  });
  afterAll(() => t.stop());

  const basic = 'Basic ' + Buffer.from('nobody@example.com:wrong').toString('base64');
  const request = `GET /api/v1/domains HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic}\r\nConnection: close\r\n\r\n`;

  it('takes the client address from a trusted PROXY header, for rate limits and the audit trail', async () => {
    const header = encodeProxyV1({ source: { address: '203.0.113.7', port: 40000 }, destination: { address: '127.0.0.1', port: t.ports.admin! } });
    const res = await rawRequest(t.ports.admin!, header, request);
    expect(res).toMatch(/^HTTP\/1\.1 401/);
    const events = await readAudit(t.server.ctx, { event: 'auth.failure' });
    expect(events.map((e) => e.source)).toContain('203.0.113.7');
  });

  it('closes a connection that sends no valid PROXY header, and keeps serving', async () => {
    const res = await rawRequest(t.ports.admin!, new Uint8Array(), request);
    expect(res).toBe('');
    const header = encodeProxyV1({ source: { address: '198.51.100.1', port: 1 }, destination: { address: '127.0.0.1', port: 2 } });
    expect(await rawRequest(t.ports.admin!, header, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe('graceful stop', () => {
  it('ends connected IMAP, POP3 and SMTP sessions with their goodbye and resolves', async () => {
    const t = await startTestServer({ listeners: ['imap', 'pop3', 'smtp', 'http'], extraToml: '[smtp]\ngreeting_delay_ms = 0' });
    const sockets = (['imap', 'pop3', 'smtp'] as const).map((name) => {
      const s = connect(t.ports[name]!, '127.0.0.1');
      let text = '';
      s.on('data', (d) => (text += d.toString()));
      s.on('error', () => undefined);
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      return { name, closed, text: () => text };
    });
    // Let each greeting arrive, so the sessions are established.
    const deadline = Date.now() + 5_000;
    while (sockets.some((s) => s.text() === '') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await t.stop();
    await Promise.all(sockets.map((s) => s.closed));
    const byName = Object.fromEntries(sockets.map((s) => [s.name, s.text()]));
    expect(byName.imap).toMatch(/\* BYE /);
    expect(byName.pop3).toMatch(/-ERR /);
    expect(byName.smtp).toMatch(/421 /);
  });
});
