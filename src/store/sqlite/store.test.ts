import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from './store.js';

describe('SqliteStore', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-sqlite-'));
    store = new SqliteStore({ path: join(dir, 'db') });
    await store.write((q) => q.run('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits durably: WAL, flushed by the store before a write resolves', async () => {
    const mode = await store.write((q) => q.get<{ journal_mode: string }>('PRAGMA journal_mode'));
    expect(mode!.journal_mode).toBe('wal');
    // NORMAL: COMMIT does not flush on the event loop; the store fsyncs the WAL itself.
    const sync = await store.write((q) => q.get<{ synchronous: number }>('PRAGMA synchronous'));
    expect(sync!.synchronous).toBe(1);
    const internals = store as unknown as { flushing: Promise<void> | null };
    let flushingWhenAsked = false;
    let flushingWhenRead = true;
    let read: Promise<number | undefined> | null = null;
    const written = store.write(async (q) => {
      await q.run("INSERT INTO t (k, v) VALUES ('f', 7)");
      // Runs after COMMIT, while the WAL flush is in the thread pool.
      setImmediate(() => {
        flushingWhenAsked = internals.flushing !== null;
        read = store.read(async (r) => {
          flushingWhenRead = internals.flushing !== null;
          return (await r.get<{ v: number }>("SELECT v FROM t WHERE k = 'f'"))?.v;
        });
      });
    });
    await written;
    while (!read) await new Promise((r) => setImmediate(r));
    expect(await read).toBe(7);
    // The read was asked for during the flush, and began only after it.
    expect(flushingWhenAsked).toBe(true);
    expect(flushingWhenRead).toBe(false);
  });

  it('runs concurrent writes in shared commits, each rolled back alone when it throws', async () => {
    const jobs = Array.from({ length: 50 }, (_, i) =>
      store.write(async (q) => {
        await q.run('INSERT INTO t (k, v) VALUES (?, ?)', [`k${i}`, i]);
        if (i % 5 === 0) throw new Error(`job ${i} fails`);
        return i;
      }),
    );
    const results = await Promise.allSettled(jobs);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(10);
    const rows = await store.read((q) => q.all<{ k: string }>('SELECT k FROM t ORDER BY v'));
    expect(rows).toHaveLength(40);
    expect(rows.map((r) => r.k)).not.toContain('k0');
  });

  it('reads a consistent snapshot while a write commits', async () => {
    await store.write((q) => q.run("INSERT INTO t (k, v) VALUES ('a', 1)"));
    const seen = await store.read(async (q) => {
      const before = await q.get<{ v: number }>("SELECT v FROM t WHERE k = 'a'");
      await store.write((w) => w.run("UPDATE t SET v = 2 WHERE k = 'a'"));
      const after = await q.get<{ v: number }>("SELECT v FROM t WHERE k = 'a'");
      return [before!.v, after!.v];
    });
    expect(seen).toEqual([1, 1]);
    expect((await store.read((q) => q.get<{ v: number }>("SELECT v FROM t WHERE k = 'a'")))!.v).toBe(2);
  });

  it('finishes queued writes before close resolves', async () => {
    const p = Array.from({ length: 20 }, (_, i) => store.write((q) => q.run('INSERT INTO t (k, v) VALUES (?, ?)', [`c${i}`, i])));
    await store.close();
    await Promise.all(p);
    const again = new SqliteStore({ path: join(dir, 'db') });
    expect((await again.read((q) => q.get<{ n: number }>('SELECT COUNT(*) AS n FROM t')))!.n).toBe(20);
    store = again;
  });
});
