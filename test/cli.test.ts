/**
 * End to end through the built `bulwark` binary: init, administration commands, error exits,
 * config validation, and `serve` (health, metrics, admin API, the data-folder lock, SIGTERM).
 * `npm test` builds dist/ first.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve(__dirname, '../bin/bulwark.cjs');
const root = mkdtempSync(join(tmpdir(), 'bulwark-cli-'));
const env = { ...process.env, BULWARK_DATA: '', USER: 'tester' };

function run(args: string[], input?: string, extraEnv: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, env: { ...env, ...extraEnv }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('bulwark CLI', () => {
  const data = join(root, 'data');
  const d = ['--data', data];

  beforeAll(() => {
    expect(existsSync(BIN), 'dist/ is built (npm test builds it)').toBe(true);
  });

  it('prints help for the tool and for every command', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['serve', 'init', 'domain add', 'user add', 'app-password add', 'alias add', 'group members', 'dns', 'doctor', 'audit', 'version']) {
      expect(r.stdout).toContain(word);
    }
    const u = run(['user', 'add', '--help']);
    expect(u.code).toBe(0);
    expect(u.stdout).toContain('usage: bulwark user add ADDRESS');
    expect(run(['version']).stdout).toMatch(/^bulwark \d+\.\d+\.\d+/);
  });

  it('refuses unknown commands and options with one line and exit 64', () => {
    const a = run(['frobnicate']);
    expect(a.code).toBe(64);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    const b = run(['user', 'add', 'x@y.z', '--bogus']);
    expect(b.code).toBe(64);
    expect(b.stderr).toMatch(/^bulwark: .*--bogus/);
  });

  it('init validates everything before it writes anything', () => {
    const bad = run(['init', ...d, '--domain', 'not a domain', '--hostname', 'mail.example.com']);
    expect(bad.code).toBe(64);
    expect(existsSync(data)).toBe(false);
    const badListen = run(['init', ...d, '--domain', 'example.com', '--hostname', 'mail.example.com', '--listen', 'imap=nonsense']);
    expect(badListen.code).toBe(2);
    expect(badListen.stderr).toContain('listeners.imap');
    expect(existsSync(data)).toBe(false);
    expect(readdirSync(root).filter((n) => n.includes('init'))).toEqual([]);
  });

  it('init creates config, certificate, domain with DKIM keys and an admin from stdin', async () => {
    const [http, admin] = [await freePort(), await freePort()];
    const r = run(
      ['init', ...d, '--domain', 'Example.COM', '--hostname', 'mail.example.com', '--admin-password-stdin', '--dev', '--listen', `http=127.0.0.1:${http}`, '--listen', `admin=127.0.0.1:${admin}`,
        // The other --dev ports are fixed; off here so that nothing else on the machine collides.
        ...['https', 'smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'managesieve'].flatMap((n) => ['--listen', `${n}=`]), '--json'],
      'admin secret\n',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ domain: 'example.com', admin: 'postmaster@example.com' });
    expect(JSON.parse(r.stdout).password).toBeUndefined();
    const toml = readFileSync(join(data, 'bulwark.toml'), 'utf8');
    expect(toml).toContain(`http = "127.0.0.1:${http}"`);
    expect(toml).toMatch(/^# /m);
    expect(statSync(join(data, 'tls/key.pem')).mode & 0o077).toBe(0);
    expect(run(['init', ...d, '--domain', 'example.com', '--hostname', 'mail.example.com']).code).toBe(64);
    const dns = run(['dns', 'example.com', ...d]);
    expect(dns.code).toBe(0);
    for (const s of ['IN\tMX\t10 mail.example.com.', 'v=spf1', 'bulwark-rsa._domainkey.example.com.', 'k=ed25519', '_dmarc.example.com.', '_mta-sts.example.com.', '_smtp._tls.example.com.', '_submissions._tcp.example.com.', '_imaps._tcp.example.com.']) {
      expect(dns.stdout).toContain(s);
    }
  });

  it('manages users, quotas, aliases, groups and app passwords, and audits them', () => {
    const add = run(['user', 'add', 'Alice@example.com', ...d, '--name', 'Alice', '--quota', '1G', '--json']);
    expect(add.code).toBe(0);
    const alice = JSON.parse(add.stdout) as { address: string; password: string; quotaBytes: number };
    expect(alice).toMatchObject({ address: 'alice@example.com', quotaBytes: 1024 ** 3 });
    expect(alice.password.length).toBeGreaterThanOrEqual(16);
    expect(run(['user', 'add', 'bob@example.com', '--password-stdin', ...d], 'bob pw\n').code).toBe(0);
    expect(run(['user', 'add', 'bob@example.com', '--password-stdin', ...d], 'x\n').code).toBe(1);
    expect(run(['user', 'add', 'x@nowhere.org', '--password-stdin', ...d], 'x\n').stderr).toMatch(/nowhere\.org is not a local domain/);
    const list = JSON.parse(run(['user', 'list', ...d, '--json']).stdout) as Array<{ address: string }>;
    expect(list.map((u) => u.address)).toEqual(['alice@example.com', 'bob@example.com', 'postmaster@example.com']);
    expect(run(['user', 'quota', 'alice@example.com', '2G', ...d]).stdout).toContain('of 2G');
    expect(run(['user', 'quota', 'alice@example.com', 'lots', ...d]).code).toBe(64);
    expect(run(['alias', 'add', 'sales@example.com', 'alice@example.com', ...d]).code).toBe(0);
    expect(run(['alias', 'add', '@example.com', 'bob@example.com', ...d]).code).toBe(0);
    expect(run(['alias', 'list', ...d]).stdout).toContain('sales@example.com');
    expect(run(['group', 'add', 'team@example.com', ...d]).code).toBe(0);
    const members = run(['group', 'members', 'team@example.com', '--add', 'alice@example.com', '--add', 'bob@example.com', ...d]);
    expect(members.stdout.trim().split('\n')).toEqual(['alice@example.com', 'bob@example.com']);
    const app = JSON.parse(run(['app-password', 'add', 'alice@example.com', 'phone', ...d, '--json']).stdout) as { id: string; password: string };
    expect(run(['app-password', 'list', 'alice@example.com', ...d]).stdout).toContain(app.id);
    expect(run(['app-password', 'revoke', 'alice@example.com', app.id, ...d]).code).toBe(0);
    expect(run(['app-password', 'revoke', 'alice@example.com', app.id, ...d]).code).toBe(1);
    expect(run(['user', 'passwd', 'bob@example.com', '--password-stdin', ...d], 'new bob pw\n').code).toBe(0);
    const audit = run(['audit', ...d, '--json']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; actor: string });
    const events = audit.map((e) => e.event);
    for (const e of ['admin.domain.add', 'admin.account.add', 'admin.alias.add', 'admin.group.members', 'account.app_password.add', 'account.app_password.revoke', 'account.password.change', 'admin.account.quota']) {
      expect(events).toContain(e);
    }
    expect(audit.find((e) => e.event === 'admin.account.add')!.actor).toBe('cli:tester');
    expect(run(['audit', ...d, '--account', 'alice@example.com', '--since', '1h']).stdout).toContain('admin.alias.add');
  });

  it('doctor checks config, permissions, ports, certificate expiry and the store', () => {
    const r = run(['doctor', ...d, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
    expect(report.ok).toBe(true);
    const names = report.checks.map((c) => c.name);
    for (const n of ['config', 'permissions', 'tls', 'listener http', 'listener admin', 'store']) expect(names).toContain(n);
    expect(report.checks.find((c) => c.name === 'tls')!.detail).toMatch(/expires in 36\d days \(self-signed/);
    expect(report.checks.find((c) => c.name === 'permissions')!.ok).toBe(true);
  });

  it('stops with exit 2 and one line naming the key when the config is invalid', () => {
    const bad = join(root, 'bad');
    expect(run(['init', '--data', bad, '--domain', 'example.org', '--hostname', 'mail.example.org'], undefined).code).toBe(0);
    const text = readFileSync(join(bad, 'bulwark.toml'), 'utf8');
    expect(text).toMatch(/^# level = "info"$/m);
    writeFileSync(join(bad, 'bulwark.toml'), text.replace(/^# level = "info"$/m, 'level = "loud"'));
    const r = run(['user', 'list', '--data', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('log.level');
    expect(r.stderr).toContain('"loud"');
    const e = run(['serve', '--data', data], undefined, { BULWARK_ADMIN_LISTEN: '0.0.0.0:9' });
    expect(e.code).toBe(2);
    expect(e.stderr).toContain('BULWARK_ADMIN_LISTEN');
  });

  describe('serve', () => {
    let server: ChildProcess;
    let stderr = '';
    const port = (name: string) => Number(new RegExp(`^${name} = "127\\.0\\.0\\.1:(\\d+)"`, 'm').exec(readFileSync(join(data, 'bulwark.toml'), 'utf8'))![1]);

    beforeAll(async () => {
      server = spawn(process.execPath, [BIN, 'serve', ...d], { env: { ...env, BULWARK_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
      server.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      const deadline = Date.now() + 20_000;
      while (!/admin\s+127\.0\.0\.1:\d+/.test(stderr)) {
        if (Date.now() > deadline || server.exitCode !== null) throw new Error(`server did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    afterAll(() => {
      if (server.exitCode === null) server.kill('SIGKILL');
    });

    it('answers /healthz on HTTP and /metrics on ADMIN only', async () => {
      const h = await fetch(`http://127.0.0.1:${port('http')}/healthz`);
      expect(h.status).toBe(200);
      expect(await h.json()).toEqual({ status: 'ok' });
      expect((await fetch(`http://127.0.0.1:${port('http')}/metrics`)).status).toBe(404);
      const m = await (await fetch(`http://127.0.0.1:${port('admin')}/metrics`)).text();
      expect(m).toMatch(/^bulwark_accounts \d+$/m);
      expect(m).toContain('bulwark_process_cpu_seconds_total');
    });

    it('serves the admin API to admins only, through core/auth', async () => {
      const url = `http://127.0.0.1:${port('admin')}/api/v1/domains`;
      expect((await fetch(url)).status).toBe(401);
      const basic = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
      expect((await fetch(url, { headers: basic('postmaster@example.com', 'wrong') })).status).toBe(401);
      expect((await fetch(url, { headers: basic('bob@example.com', 'new bob pw') })).status).toBe(403);
      const ok = await fetch(url, { headers: basic('postmaster@example.com', 'admin secret') });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as Array<{ name: string }>).map((x) => x.name)).toEqual(['example.com']);
      const bad = await fetch(url, { method: 'POST', headers: { ...basic('postmaster@example.com', 'admin secret'), 'content-type': 'application/json' }, body: '{"name":"bad name"}' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: 'InvalidInput' });
      const events = run(['audit', ...d, '--event', 'auth.failure', '--json']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { protocol: string; source: string });
      expect(events.some((e) => e.protocol === 'admin-api' && e.source === '127.0.0.1')).toBe(true);
    });

    it('refuses a second serve on the same data folder', () => {
      const r = run(['serve', ...d]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('in use by another bulwark process');
    });

    it('stops gracefully on SIGTERM', async () => {
      const exited = new Promise<number | null>((r) => server.on('exit', (code) => r(code)));
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain('"event":"server.stopped"');
      // The lock died with the process: the folder can be served again.
      const again = spawn(process.execPath, [BIN, 'serve', ...d], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let out = '';
      again.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      const deadline = Date.now() + 20_000;
      while (!/admin\s+127\.0\.0\.1/.test(out) && Date.now() < deadline && again.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(/admin\s+127\.0\.0\.1/);
      again.kill('SIGKILL');
    });
  });
});
