/**
 * The per-account hourly submission limit lives in the store (send_counts, migration 5): it
 * holds across a restart of the server, two servers on one store share it, and a new clock
 * hour opens a new window.
 */
import { rmSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../src/core/clock.js';
import { sentThisHour } from '../src/core/delivery/index.js';
import { startSmtp, type Harness } from './fixtures/smtp/harness.js';

const clock = new FakeClock(Date.UTC(2026, 5, 1, 10, 15));
const toml = '[auth]\nloopback_is_secure = false\n[smtp]\nmax_messages_per_hour = 2\n';
let dataDir = '';
const running: Harness[] = [];

/** Starts a server on the shared data folder (the first start creates it). */
async function start(): Promise<Harness> {
  const h = await startSmtp({ listeners: ['submission'], clock, extraToml: toml, ...(dataDir ? { dataDir } : {}) });
  dataDir = h.dataDir;
  running.push(h);
  return h;
}

async function send(h: Harness, n: string): Promise<number> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: h.ports.submission!, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'bob@example.com', pass: 'secret-password' } });
  try {
    await t.sendMail({ from: 'bob@example.com', to: 'carol@example.com', subject: n, text: n });
    return 250;
  } catch (e) {
    return (e as { responseCode?: number }).responseCode ?? -1;
  }
}

afterAll(async () => {
  for (const h of running) await h.stop({ keepData: true });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('hourly sending limit in the store', () => {
  it('keeps counting across a restart and across two servers, and resets in the next hour', async () => {
    let a = await start();
    const bob = await a.addUser('bob@example.com');
    await a.addUser('carol@example.com');
    expect(await send(a, 'one')).toBe(250);
    expect(await send(a, 'two')).toBe(250);
    expect(await send(a, 'three')).toBe(450);
    expect(await sentThisHour(a.ctx, bob)).toBe(2);
    // Restart: the count is still there.
    await a.stop({ keepData: true });
    running.splice(running.indexOf(a), 1);
    a = await start();
    expect(await send(a, 'after restart')).toBe(450);
    // Next clock hour: a new window, shared by two servers on the same store.
    clock.advance(3_600_000);
    const b = await start();
    expect(await send(a, 'node a')).toBe(250);
    expect(await send(b, 'node b')).toBe(250);
    expect(await send(a, 'node a again')).toBe(450);
    expect(await send(b, 'node b again')).toBe(450);
    // Old windows are dropped as new ones are counted: one row per account.
    const rows = await a.ctx.store.read((q) => q.all<{ n: number }>('SELECT COUNT(*) AS n FROM send_counts WHERE account_id = ?', [bob]));
    expect(Number(rows[0]!.n)).toBe(1);
  });
});
