/**
 * SIGKILL during inbound load: the built server (`bin/bulwark.cjs serve`) takes
 * concurrent SMTP deliveries, is killed mid-load, restarted, and every message that got 250
 * is in the mailbox exactly once (found by its Message-ID in the store). `npm test` builds dist/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LISTENER_NAMES } from '../src/config/index.js';
import { openStorage } from '../src/store/index.js';
import { freePort } from './support/server.js';

const BIN = resolve(import.meta.dirname, '../bin/bulwark.cjs');
const root = mkdtempSync(join(tmpdir(), 'bulwark-smtp-crash-'));
const env = { ...process.env, BULWARK_DATA: '', USER: 'tester' };
afterAll(() => rmSync(root, { recursive: true, force: true }));

function serve(data: string): ChildProcess {
  // stderr carries the JSON log; it is drained (ignored) so a full pipe can never block the server.
  return spawn(process.execPath, [BIN, 'serve', '--data', data], { env, stdio: ['ignore', 'ignore', 'ignore'] });
}

async function waitPort(port: number, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) throw new Error('server exited');
    const ok = await new Promise<boolean>((r) => {
      const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error('server did not open its port');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One client sending messages until its connection dies; returns Message-IDs that got 250. */
async function client(port: number, prefix: string, acked: Set<string>, stop: () => boolean): Promise<void> {
  const s = connect({ host: '127.0.0.1', port });
  s.on('error', () => undefined);
  let buf = '';
  let waiter: (() => void) | null = null;
  let isClosed = false;
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    waiter?.();
  });
  s.on('close', () => {
    isClosed = true;
    waiter?.();
  });
  const reply = async (): Promise<string | null> => {
    for (;;) {
      const m = /^(\d{3}) .*\r\n/m.exec(buf);
      if (m) {
        const end = m.index + m[0].length;
        const out = buf.slice(0, end);
        buf = buf.slice(end);
        return out;
      }
      if (isClosed) return null;
      const timedOut = await new Promise<boolean>((r) => {
        const t = setTimeout(() => r(true), 15_000);
        waiter = () => (clearTimeout(t), r(false));
      });
      waiter = null;
      if (timedOut) return null;
    }
  };
  if (!(await reply())?.startsWith('220')) return;
  s.write('EHLO load.example\r\n');
  if (!(await reply())?.startsWith('250')) return;
  for (let i = 0; !stop() && !isClosed; i++) {
    const id = `${prefix}-${i}@crash.test`;
    s.write('MAIL FROM:<load@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n');
    const r1 = await reply();
    const r2 = await reply();
    const r3 = await reply();
    if (!r1 || !r2 || !r3?.startsWith('354')) return;
    s.write(`From: load@sender.example\r\nSubject: ${id}\r\nMessage-ID: <${id}>\r\n\r\n${'x'.repeat(2000)}\r\n.\r\n`);
    const r4 = await reply();
    if (!r4) return;
    if (r4.startsWith('250')) acked.add(id);
  }
  s.destroy();
}

describe('SMTP durability', () => {
  it('every message acknowledged with 250 survives SIGKILL exactly once', async () => {
    expect(existsSync(BIN), 'dist/ is built (npm test builds it)').toBe(true);
    const data = join(root, 'data');
    const port = await freePort();
    const listen = LISTENER_NAMES.flatMap((n) => ['--listen', n === 'smtp' ? `smtp=127.0.0.1:${port}` : `${n}=`]);
    const init = spawnSync(process.execPath, [BIN, 'init', '--data', data, '--domain', 'example.com', '--hostname', 'mail.example.com', '--dev', ...listen], { env, encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    const add = spawnSync(process.execPath, [BIN, 'user', 'add', 'bob@example.com', '--password-stdin', '--data', data], { env, input: 'pw\n', encoding: 'utf8' });
    expect(add.status, add.stderr).toBe(0);
    const tomlPath = join(data, 'bulwark.toml');
    writeFileSync(tomlPath, readFileSync(tomlPath, 'utf8').replace(/^\[smtp\]$/m, '[smtp]\ngreeting_delay_ms = 0\ncheck_authentication = false\nmax_connections_per_ip = 1000'));

    let server = serve(data);
    await waitPort(port, server);
    const acked = new Set<string>();
    let isKilled = false;
    const clients = Array.from({ length: 24 }, (_, i) => client(port, `c${i}`, acked, () => isKilled));
    const killAt = Date.now() + 10_000;
    while (acked.size < 200 && Date.now() < killAt) await new Promise((r) => setTimeout(r, 20));
    server.kill('SIGKILL');
    isKilled = true;
    await Promise.all(clients);
    await new Promise<void>((r) => (server.exitCode !== null || server.signalCode !== null ? r() : server.on('exit', () => r())));
    expect(acked.size).toBeGreaterThan(0);

    // Restart on the same folder: it opens, recovers and serves again.
    server = serve(data);
    await waitPort(port, server);
    const after = new Set<string>();
    await client(port, 'after', after, () => after.size >= 1);
    expect(after.size).toBe(1);
    const exited = new Promise<void>((r) => server.on('exit', () => r()));
    server.kill('SIGTERM');
    const t0 = Date.now();
    await exited;
    // A graceful stop with idle SMTP sessions takes well under the 10 s session grace.
    expect(Date.now() - t0).toBeLessThan(12_000);

    const storage = await openStorage({ dataDir: data, store: { type: 'sqlite', url: '' }, blobs: { type: 'fs' }, bus: { type: 'local' }, blobPinMs: 3_600_000, now: () => Date.now() });
    try {
      const rows = await storage.store.read((q) =>
        q.all<{ structure: string }>("SELECT m.structure AS structure FROM messages m JOIN accounts a ON a.id = m.account_id WHERE a.address = 'bob@example.com'"),
      );
      const counts = new Map<string, number>();
      for (const r of rows) {
        const id = (JSON.parse(r.structure) as { messageId: string | null }).messageId ?? '';
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      const missing = [...acked].filter((id) => counts.get(`<${id}>`) !== 1 && counts.get(id) !== 1);
      expect(missing, `acknowledged but not stored exactly once (of ${acked.size})`).toEqual([]);
      for (const [id, n] of counts) expect(n, id).toBe(1);
    } finally {
      await storage.close();
    }
  }, 120_000);
});
