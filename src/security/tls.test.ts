import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateLoadError,
  TlsCertificates,
  certificateInfo,
  ensureSelfSignedCertificate,
  type SelfSignedResult,
} from './tls.js';

let root: string;
let main: SelfSignedResult;
let org: SelfSignedResult;
let net: SelfSignedResult;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'bulwark-tls-'));
  [main, org, net] = await Promise.all([
    ensureSelfSignedCertificate(join(root, 'default'), 'mail.example.com', ['mx.example.com', '192.0.2.10']),
    ensureSelfSignedCertificate(join(root, 'org'), 'mail.example.org', []),
    ensureSelfSignedCertificate(join(root, 'net'), 'any.example.net', ['*.example.net']),
  ]);
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function fingerprint(path: string): string {
  return new X509Certificate(readFileSync(path)).fingerprint256;
}

describe('ensureSelfSignedCertificate', () => {
  it('creates a certificate and a key readable only by the owner', () => {
    expect(main.created).toBe(true);
    expect(statSync(main.keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(main.keyPath, 'utf8')).toMatch(/^-----BEGIN (RSA )?PRIVATE KEY-----/);
    expect(readFileSync(main.certPath, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    // No temporary files are left behind.
    expect(readdirSync(join(root, 'default')).sort()).toEqual(['cert.pem', 'key.pem']);
  });

  it('names the host, the extra names and the loopback names, valid about a year', () => {
    const info = certificateInfo(main.certPath);
    expect(info.subject).toContain('CN=mail.example.com');
    expect(info.altNames).toEqual(
      expect.arrayContaining(['mail.example.com', 'mx.example.com', '192.0.2.10', 'localhost', '127.0.0.1']),
    );
    expect(info.altNames.some((n) => n === '::1' || n === '0:0:0:0:0:0:0:1')).toBe(true);
    expect(info.isSelfSigned).toBe(true);
    const days = (info.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(360);
    expect(days).toBeLessThan(370);
    expect(info.notBefore.getTime()).toBeLessThan(Date.now());
    expect(info.fingerprint256).toBe(fingerprint(main.certPath));
  });

  it('leaves existing files alone on a second call', async () => {
    const before = [readFileSync(main.certPath, 'utf8'), readFileSync(main.keyPath, 'utf8')];
    const again = await ensureSelfSignedCertificate(join(root, 'default'), 'other.example.com', []);
    expect(again).toEqual({ certPath: main.certPath, keyPath: main.keyPath, created: false });
    expect([readFileSync(main.certPath, 'utf8'), readFileSync(main.keyPath, 'utf8')]).toEqual(before);
  });

  it('refuses to complete a lone certificate or key', async () => {
    const dir = join(root, 'half');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cert.pem'), 'mine');
    await expect(ensureSelfSignedCertificate(dir, 'mail.example.com', [])).rejects.toThrow(/key\.pem is missing/);
    expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe('mine');
    expect(existsSync(join(dir, 'key.pem'))).toBe(false);
  });
});

describe('TlsCertificates', () => {
  let certs: TlsCertificates;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    certs = new TlsCertificates({
      cert: main.certPath,
      key: main.keyPath,
      certificates: [
        { domains: ['mail.example.org', 'Example.ORG'], cert: org.certPath, key: org.keyPath },
        { domains: ['*.example.net'], cert: net.certPath, key: net.keyPath },
      ],
    });
    server = createServer(certs.serverOptions(), (socket) => socket.end('hello\r\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Handshakes with the test server and returns the fingerprint of the certificate it sent. */
  function served(servername?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        // The certificates are self-signed; the test checks which one came, not who signed it.
        rejectUnauthorized: false,
        ...(servername !== undefined ? { servername } : {}),
      });
      socket.once('secureConnect', () => {
        const peer = socket.getPeerX509Certificate();
        expect(socket.getProtocol()).toMatch(/^TLSv1\.[23]$/);
        socket.end();
        if (peer === undefined) reject(new Error('no peer certificate'));
        else resolve(peer.fingerprint256);
      });
      socket.once('error', reject);
    });
  }

  it('a handshake with a listed name gets that domain certificate', async () => {
    expect(await served('mail.example.org')).toBe(fingerprint(org.certPath));
    expect(await served('EXAMPLE.org')).toBe(fingerprint(org.certPath));
  });

  it('a wildcard covers one label, no more', async () => {
    expect(await served('imap.example.net')).toBe(fingerprint(net.certPath));
    expect(await served('a.b.example.net')).toBe(fingerprint(main.certPath));
    expect(await served('example.net')).toBe(fingerprint(main.certPath));
  });

  it('an unknown name, or no SNI at all, gets the default certificate', async () => {
    expect(await served('unknown.example.com')).toBe(fingerprint(main.certPath));
    expect(await served()).toBe(fingerprint(main.certPath));
  });

  it('refuses TLS 1.1 and older', async () => {
    const attempt = new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
      socket.once('secureConnect', () => {
        socket.end();
        resolve();
      });
      socket.once('error', reject);
    });
    await expect(attempt).rejects.toThrow();
  });

  it('reload keeps the old certificates when a file has gone bad', () => {
    const dir = join(root, 'reload');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cert.pem'), readFileSync(org.certPath));
    writeFileSync(join(dir, 'key.pem'), readFileSync(org.keyPath));
    const local = new TlsCertificates({ cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') });
    const before = local.secureContextFor('x.example.com');
    writeFileSync(join(dir, 'key.pem'), readFileSync(main.keyPath));
    expect(() => local.reload()).toThrow(CertificateLoadError);
    expect(local.secureContextFor('x.example.com')).toBe(before);
    writeFileSync(join(dir, 'cert.pem'), readFileSync(main.certPath));
    local.reload();
    expect(local.secureContextFor('x.example.com')).not.toBe(before);
  });

  it('names the missing file', () => {
    expect(() => new TlsCertificates({ cert: join(root, 'nope.pem'), key: main.keyPath })).toThrow(
      /cannot read .*nope\.pem \(ENOENT\)/,
    );
  });
});
