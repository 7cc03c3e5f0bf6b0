/**
 * Durability: SIGKILL a process in the middle of a burst of stores, reopen the store, and
 * check that every acknowledged write is there and the store is consistent (quota usage,
 * modseqs, blob references and files).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as accounts from '../src/core/accounts/index.js';
import { systemClock } from '../src/core/clock.js';
import { defaultSettings, silentLogger, type Context } from '../src/core/context.js';
import { openStorage } from '../src/store/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const cli = { name: 'cli:test', protocol: 'cli' };

async function open(dataDir: string) {
  const storage = await openStorage({ dataDir, store: { type: 'sqlite', url: '' }, blobs: { type: 'fs' }, bus: { type: 'local' }, blobPinMs: 3_600_000, now: () => Date.now() });
  const ctx: Context = { clock: systemClock, store: storage.store, blobs: storage.blobs, bus: storage.bus, log: silentLogger, settings: defaultSettings };
  return { ctx, close: () => storage.close() };
}

describe('crash safety', () => {
  it('keeps every acknowledged message after SIGKILL in the middle of a burst, with a consistent store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-crash-'));
    try {
      let s = await open(dir);
      await accounts.addDomain(s.ctx, 'example.com', cli);
      const bob = await accounts.addAccount(s.ctx, { address: 'bob@example.com' }, cli);
      await s.close();

      const acked = new Map<string, { uid: number; size: number }>();
      for (let round = 0; round < 3; round++) {
        const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'support/crash-writer.ts'), dir, bob.id, '24'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let buf = '';
        const target = acked.size + 150 + round * 50;
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => {
            buf += d.toString();
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              const m = /^ack (\S+) (\d+) (\d+)$/.exec(line);
              if (m) acked.set(m[1]!, { uid: Number(m[2]), size: Number(m[3]) });
              if (acked.size >= target && !child.killed) {
                child.kill('SIGKILL');
              }
            }
          });
          child.on('exit', () => resolve());
          child.on('error', reject);
        });
      }
      expect(acked.size).toBeGreaterThanOrEqual(450);

      s = await open(dir);
      const { ctx } = s;
      const rows = await ctx.store.read((q) =>
        q.all<{ message_id: string; uid: number; size: number; modseq: number; blob_id: string }>(
          `SELECT mm.message_id, mm.uid, mm.size, mm.modseq, m.blob_id FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id WHERE mm.account_id = ?`,
          [bob.id],
        ),
      );
      const present = new Map(rows.map((r) => [r.message_id, r]));
      for (const [id, a] of acked) {
        const r = present.get(id);
        expect(r, `acknowledged message ${id} is present`).toBeDefined();
        expect(Number(r!.uid)).toBe(a.uid);
      }
      // UIDs unique; quota usage equals the sum of stored sizes.
      expect(new Set(rows.map((r) => Number(r.uid))).size).toBe(rows.length);
      const acc = (await accounts.getAccount(ctx, bob.id))!;
      expect(acc.usedBytes).toBe(rows.reduce((n, r) => n + Number(r.size), 0));
      // The account's modseq is at least every modseq it handed out; change-log modseqs are per-transaction unique.
      const maxLog = await ctx.store.read((q) => q.get<{ m: number }>('SELECT MAX(modseq) AS m FROM changes WHERE account_id = ?', [bob.id]));
      expect(acc.modseq).toBeGreaterThanOrEqual(Number(maxLog!.m));
      expect(acc.modseq).toBeGreaterThanOrEqual(Math.max(...rows.map((r) => Number(r.modseq))));
      const inbox = await ctx.store.read((q) => q.get<{ uid_next: number }>("SELECT uid_next FROM mailboxes WHERE account_id = ? AND role = 'inbox'", [bob.id]));
      expect(Number(inbox!.uid_next)).toBeGreaterThan(Math.max(...rows.map((r) => Number(r.uid))));
      // Blob reference counts match the messages that use them, and every referenced file exists.
      const refs = await ctx.store.read((q) =>
        q.all<{ id: string; refcount: number; used: number }>('SELECT b.id, b.refcount, (SELECT COUNT(*) FROM messages m WHERE m.blob_id = b.id) AS used FROM blobs b'),
      );
      for (const r of refs) {
        expect(Number(r.refcount)).toBe(Number(r.used));
        if (Number(r.used) > 0) expect(existsSync(join(dir, 'blobs', r.id.slice(0, 2), r.id.slice(2, 4), r.id))).toBe(true);
      }
      const integrity = await ctx.store.read((q) => q.get<{ integrity_check: string }>('PRAGMA integrity_check'));
      expect(integrity!.integrity_check).toBe('ok');
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
