/**
 * Runs a benchmark once per store adapter: SQLite in a temporary folder always, PostgreSQL in
 * a fresh schema of its own when BULWARK_TEST_PG holds a connection string (said when not).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as accounts from '../src/core/accounts/index.js';
import { systemClock } from '../src/core/clock.js';
import { defaultSettings, silentLogger, type Context } from '../src/core/context.js';
import { listMailboxes } from '../src/core/mail/mailboxes.js';
import { FsBlobStore } from '../src/store/blobs/fs.js';
import { LocalBus } from '../src/store/bus/local.js';
import { migrate } from '../src/store/migrations/index.js';
import type { Store } from '../src/store/port.js';
import { SqliteStore } from '../src/store/sqlite/store.js';

/** A core context over `store` (blobs under `dir`) with the account load@bench.example, unlimited quota. */
export async function benchAccount(store: Store, dir: string): Promise<{ ctx: Context; accountId: string; inboxId: string }> {
  const blobs = new FsBlobStore(join(dir, 'blobs'));
  await blobs.init();
  const ctx: Context = { clock: systemClock, store, blobs, bus: new LocalBus(), log: silentLogger, settings: { ...defaultSettings, defaultQuotaBytes: 0 } };
  const actor = { name: 'bench', protocol: 'bench' };
  await accounts.addDomain(ctx, 'bench.example', actor);
  const acc = await accounts.addAccount(ctx, { address: 'load@bench.example' }, actor);
  const inboxId = (await listMailboxes(ctx, acc.id)).find((b) => b.role === 'inbox')!.id;
  return { ctx, accountId: acc.id, inboxId };
}

/** Calls run(name, store, scratchDir) for each available adapter and collects the results. */
export async function forEachAdapter<R>(run: (name: 'sqlite' | 'postgres', store: Store, dir: string) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-'));
  try {
    const sqlite = new SqliteStore({ path: join(dir, 'bulwark.db') });
    await migrate(sqlite, () => Date.now());
    results.push(await run('sqlite', sqlite, join(dir, 'sqlite')));
    await sqlite.close();
    if (process.env.BULWARK_TEST_PG) {
      const { createPgTestSchema } = await import('../test/support/pg.js');
      const { createPostgresStore } = await import('../src/store/postgres/index.js');
      const schema = await createPgTestSchema();
      try {
        const pg = await createPostgresStore({ url: schema.url, schema: schema.schema });
        results.push(await run('postgres', pg, join(dir, 'pg')));
        await pg.close();
      } finally {
        await schema.drop();
      }
    } else {
      console.log('postgres: skipped (set BULWARK_TEST_PG to a connection string to include it)');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
