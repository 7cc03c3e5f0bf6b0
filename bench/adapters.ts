/**
 * Runs a benchmark once per store adapter: SQLite in a temporary folder always, PostgreSQL in
 * a fresh schema of its own when BULWARK_TEST_PG holds a connection string (said when not).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../src/store/migrations/index.js';
import type { Store } from '../src/store/port.js';
import { SqliteStore } from '../src/store/sqlite/store.js';

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
