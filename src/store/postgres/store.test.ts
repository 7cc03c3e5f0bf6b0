import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPgTestSchema, pgTestUrl, type PgTestSchema } from '../../../test/support/pg.js';
import { MIGRATIONS, migrate } from '../migrations/index.js';
import type { Queryable } from '../port.js';
import { createPostgresStore, PostgresStore, TransactionAborted } from './store.js';

if (!pgTestUrl()) console.warn('BULWARK_TEST_PG not set: skipping PostgreSQL tests');

const NOW = Date.UTC(2026, 0, 1);

/** Inserts a domain and an account, as the schema requires before anything account-owned. */
async function seedAccount(q: Queryable, accountId: string): Promise<void> {
  await q.run('INSERT INTO domains (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING', ['d1', 'example.org', NOW]);
  await q.run('INSERT INTO accounts (id, domain_id, kind, address, created_at) VALUES (?, ?, ?, ?, ?)', [
    accountId,
    'd1',
    'user',
    `${accountId}@example.org`,
    NOW,
  ]);
}

describe.skipIf(!pgTestUrl())('PostgresStore', () => {
  let t: PgTestSchema;
  let store: PostgresStore;

  beforeAll(async () => {
    t = await createPgTestSchema();
    store = await createPostgresStore({ url: t.url, schema: t.schema, now: () => NOW });
  });

  afterAll(async () => {
    await store?.close();
    await t?.drop();
  });

  it('applies every migration once, and a second run applies none', async () => {
    const rows = await store.read((q) => q.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version'));
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(store, () => NOW)).toEqual([]);
    const again = await createPostgresStore({ url: t.url, schema: t.schema, now: () => NOW });
    await again.close();
    const count = await store.read((q) => q.get<{ n: number }>('SELECT COUNT(*) AS n FROM schema_migrations'));
    expect(count?.n).toBe(MIGRATIONS.length);
  });

  it('keeps its tables in its own schema', async () => {
    const r = await store.read((q) =>
      q.get<{ schema: string }>("SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'accounts' AND table_schema = ?", [t.schema]),
    );
    expect(r?.schema).toBe(t.schema);
  });

  it('migrates a fresh schema once when two nodes start together', async () => {
    const t2 = await createPgTestSchema();
    try {
      const [a, b] = await Promise.all([
        createPostgresStore({ url: t2.url, schema: t2.schema + '_x', now: () => NOW }),
        createPostgresStore({ url: t2.url, schema: t2.schema + '_x', now: () => NOW }),
      ]);
      const n = await a.read((q) => q.get<{ n: number }>('SELECT COUNT(*) AS n FROM schema_migrations'));
      expect(n?.n).toBe(MIGRATIONS.length);
      await a.close();
      await b.close();
    } finally {
      const c = new pg.Client({ connectionString: t2.url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${t2.schema}_x" CASCADE`);
      await c.end();
      await t2.drop();
    }
  });

  it('returns int8, COUNT and SUM as numbers and leaves the global pg parsers alone', async () => {
    await store.write((q) => seedAccount(q, 'a_int8'));
    await store.write((q) => q.run('UPDATE accounts SET quota_bytes = ? WHERE id = ?', [2 ** 40, 'a_int8']));
    const r = await store.read((q) =>
      q.get<{ quota_bytes: unknown; n: unknown; total: unknown; big: unknown }>(
        'SELECT quota_bytes, (SELECT COUNT(*) FROM accounts) AS n, (SELECT SUM(quota_bytes) FROM accounts WHERE id = ?) AS total, ?::bigint AS big FROM accounts WHERE id = ?',
        ['a_int8', BigInt(2 ** 50), 'a_int8'],
      ),
    );
    expect(r).toEqual({ quota_bytes: 2 ** 40, n: expect.any(Number), total: 2 ** 40, big: 2 ** 50 });
    expect(await store.read((q) => q.get("SELECT 1.5::numeric AS x, '-12'::numeric AS y"))).toEqual({ x: 1.5, y: -12 });
    expect(pg.types.getTypeParser(20, 'text')('5')).toBe('5');
  });

  it('refuses int8 values a number cannot hold exactly', async () => {
    await expect(store.read((q) => q.get("SELECT '9007199254740993'::bigint AS x"))).rejects.toThrow(RangeError);
  });

  it('round-trips bytes as BYTEA', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255, 0]);
    const r = await store.read((q) => q.get<{ b: Uint8Array }>('SELECT ?::bytea AS b', [bytes]));
    expect(r?.b).toBeInstanceOf(Uint8Array);
    expect([...r!.b]).toEqual([...bytes]);
  });

  it('commits a write and shows it to later reads', async () => {
    const changes = await store.write(async (q) => {
      await seedAccount(q, 'a_commit');
      return (await q.run('UPDATE accounts SET display_name = ? WHERE id = ?', ['Ann', 'a_commit'])).changes;
    });
    expect(changes).toBe(1);
    const r = await store.read((q) => q.get<{ display_name: string }>('SELECT display_name FROM accounts WHERE id = ?', ['a_commit']));
    expect(r?.display_name).toBe('Ann');
    expect(await store.read((q) => q.get('SELECT id FROM accounts WHERE id = ?', ['nobody']))).toBeUndefined();
  });

  it('rolls back a write whose function throws, and rethrows that error', async () => {
    const boom = new Error('boom');
    await expect(
      store.write(async (q) => {
        await seedAccount(q, 'a_rollback');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await store.read((q) => q.get('SELECT id FROM accounts WHERE id = ?', ['a_rollback']))).toBeUndefined();
  });

  it('rethrows a failing statement and rolls back what came before it', async () => {
    const err = await store
      .write(async (q) => {
        await seedAccount(q, 'a_dup');
        await seedAccount(q, 'a_dup');
      })
      .catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('23505');
    expect(await store.read((q) => q.get('SELECT id FROM accounts WHERE id = ?', ['a_dup']))).toBeUndefined();
  });

  it('does not report success when the function swallowed a failed statement', async () => {
    const err = await store
      .write(async (q) => {
        await seedAccount(q, 'a_swallow');
        await q.run('SELECT * FROM no_such_table').catch(() => undefined);
        return 'done';
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransactionAborted);
    expect(await store.read((q) => q.get('SELECT id FROM accounts WHERE id = ?', ['a_swallow']))).toBeUndefined();
  });

  it('refuses writes inside read', async () => {
    const err = await store.read((q) => q.run('DELETE FROM accounts')).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('25006');
  });

  it('reads one snapshot even while a write commits', async () => {
    await store.write((q) => seedAccount(q, 'a_snap'));
    const seen = await store.read(async (q) => {
      const before = await q.get<{ modseq: number }>('SELECT modseq FROM accounts WHERE id = ?', ['a_snap']);
      await store.write((w) => w.run('UPDATE accounts SET modseq = modseq + 1 WHERE id = ?', ['a_snap']));
      const after = await q.get<{ modseq: number }>('SELECT modseq FROM accounts WHERE id = ?', ['a_snap']);
      return [before?.modseq, after?.modseq];
    });
    expect(seen).toEqual([0, 0]);
  });

  it('keeps a counter exact under 50 concurrent writers', async () => {
    await store.write((q) => seedAccount(q, 'a_count'));
    const modseqs = await Promise.all(
      Array.from({ length: 50 }, () =>
        store.write(async (q) => {
          const r = await q.get<{ modseq: number }>('UPDATE accounts SET modseq = modseq + 1 WHERE id = ? AND deleted_at IS NULL RETURNING modseq', ['a_count']);
          await q.run('INSERT INTO changes (account_id, modseq, type, op, object_id, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
            'a_count',
            r!.modseq,
            'email',
            'created',
            'x',
            NOW,
          ]);
          return r!.modseq;
        }),
      ),
    );
    expect([...modseqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const r = await store.read((q) => q.get<{ modseq: number; n: number }>(
      "SELECT a.modseq, (SELECT COUNT(DISTINCT modseq) FROM changes WHERE account_id = 'a_count') AS n FROM accounts a WHERE id = ?",
      ['a_count'],
    ));
    expect(r).toEqual({ modseq: 50, n: 50 });
  });

  it('runs the core statements that differ between engines', async () => {
    await store.write((q) => seedAccount(q, 'a_core'));
    const uids = await store.write(async (q) => {
      await q.run('INSERT INTO mailboxes (id, account_id, name, role, uid_validity, uid_next, highest_modseq, subscribed, created_at) VALUES (?, ?, ?, ?, ?, 1, ?, 1, ?)', [
        'm_core',
        'a_core',
        'INBOX',
        'inbox',
        1,
        0,
        NOW,
      ]);
      const a = await q.get<{ uid: number }>('UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = ? WHERE id = ? RETURNING uid_next - 1 AS uid', [5, 'm_core']);
      const b = await q.get<{ uid: number }>('UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = ? WHERE id = ? RETURNING uid_next - 1 AS uid', [6, 'm_core']);
      return [a?.uid, b?.uid];
    });
    expect(uids).toEqual([1, 2]);
    const upsert = `INSERT INTO blobs (id, size, refcount, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET refcount = blobs.refcount + excluded.refcount, zero_since = NULL`;
    await store.write((q) => q.run(upsert, ['b1', 10, 1, NOW]));
    await store.write((q) => q.run('UPDATE blobs SET refcount = refcount - 1, zero_since = CASE WHEN refcount - 1 <= 0 THEN ? ELSE zero_since END WHERE id = ?', [NOW, 'b1']));
    await store.write((q) => q.run(upsert, ['b1', 10, 2, NOW]));
    const blob = await store.read((q) => q.get('SELECT refcount, zero_since FROM blobs WHERE id = ?', ['b1']));
    expect(blob).toEqual({ refcount: 2, zero_since: null });
    // Partial unique index: a deleted row frees the name.
    await store.write((q) => q.run('UPDATE domains SET deleted_at = ? WHERE id = ?', [NOW, 'd1']));
    await store.write((q) => q.run('INSERT INTO domains (id, name, created_at) VALUES (?, ?, ?)', ['d2', 'example.org', NOW]));
    await expect(store.write((q) => q.run('INSERT INTO domains (id, name, created_at) VALUES (?, ?, ?)', ['d3', 'example.org', NOW]))).rejects.toMatchObject({ code: '23505' });
    await store.write(async (q) => {
      await q.run('DELETE FROM domains WHERE id = ?', ['d2']);
      await q.run('UPDATE domains SET deleted_at = NULL WHERE id = ?', ['d1']);
    });
  });

  it('runs a write again after a serialization failure', async () => {
    let attempts = 0;
    const r = await store.write(async () => {
      attempts++;
      if (attempts < 3) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      return 'ok';
    });
    expect(r).toBe('ok');
    expect(attempts).toBe(3);
  });

  it('gives up after maxRetries serialization failures', async () => {
    let attempts = 0;
    const err = await store
      .write(async () => {
        attempts++;
        throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      })
      .catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('40P01');
    expect(attempts).toBe(6);
  });

  it('survives a real deadlock by running the loser again', async () => {
    await store.write(async (q) => {
      await seedAccount(q, 'a_dl1');
      await seedAccount(q, 'a_dl2');
    });
    let attempts = 0;
    // Two writers lock the same two rows in opposite orders; the server kills one (40P01).
    const lockBoth = (first: string, second: string) =>
      store.write(async (q) => {
        attempts++;
        await q.run('UPDATE accounts SET modseq = modseq + 1 WHERE id = ?', [first]);
        await q.run('SELECT pg_sleep(0.2)');
        await q.run('UPDATE accounts SET modseq = modseq + 1 WHERE id = ?', [second]);
      });
    await Promise.all([lockBoth('a_dl1', 'a_dl2'), lockBoth('a_dl2', 'a_dl1')]);
    expect(attempts).toBeGreaterThanOrEqual(3);
    const r = await store.read((q) => q.all<{ modseq: number }>("SELECT modseq FROM accounts WHERE id IN ('a_dl1', 'a_dl2') ORDER BY id"));
    expect(r).toEqual([{ modseq: 2 }, { modseq: 2 }]);
  });
});

describe.skipIf(!pgTestUrl())('PostgresStore.close', () => {
  let t: PgTestSchema;
  afterEach(async () => {
    await t?.drop();
  });

  it('waits for a transaction in flight, then refuses new work', async () => {
    t = await createPgTestSchema();
    const store = await createPostgresStore({ url: t.url, schema: t.schema, max: 1 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = store.write(async (q) => {
      await gate;
      await q.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['k', 'v']);
      return 'written';
    });
    await new Promise((r) => setTimeout(r, 20));
    const closing = store.close();
    await expect(store.read((q) => q.get('SELECT 1'))).rejects.toThrow(/closed/);
    release();
    expect(await slow).toBe('written');
    await closing;
    const c = new pg.Client({ connectionString: t.url });
    await c.connect();
    const r = await c.query(`SELECT value FROM "${t.schema}".meta WHERE key = 'k'`);
    await c.end();
    expect(r.rows).toEqual([{ value: 'v' }]);
  });

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => new PostgresStore({ url: 'postgres://x@127.0.0.1/x', schema: 'a"; DROP' })).toThrow(/invalid PostgreSQL schema name/);
    expect(() => new PostgresStore({ url: 'postgres://x@127.0.0.1/x', schema: 'Upper' })).toThrow(/invalid/);
  });
});
