/**
 * PostgreSQL adapter of the Store port (node-postgres pool).
 *
 * - Every transaction runs on one pooled connection. `read` is READ ONLY at REPEATABLE READ,
 *   so all its statements see one snapshot. `write` is READ COMMITTED: writers to one account
 *   serialise on the account row (`UPDATE accounts … RETURNING` first), which is enough because
 *   core makes every check-and-change a single conditional statement.
 * - A write that fails with a serialization failure or a deadlock (SQLSTATE 40001, 40P01) was
 *   rolled back by the server, so it runs again from the start, up to `maxRetries` times with
 *   random backoff. Any other error rolls back and is rethrown as is; a connection lost during
 *   COMMIT is never retried, because the commit may have happened.
 * - COMMIT uses the server's synchronous_commit (never off: see connection.ts), so a resolved
 *   `write` is durable, as the port requires.
 * - Portable `?` placeholders become `$1..$n`; int8 and numeric come back as numbers and
 *   BYTEA as Buffer (a Uint8Array), through type parsers set on this pool only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { migrate } from '../migrations/index.js';
import type { Dialect, Queryable, RunResult, SqlValue, Store } from '../port.js';
import { createIfMissing, createPool, quoteIdent, sqlState, validateSchema, type PgLog } from './connection.js';
import { numberPlaceholders } from './placeholders.js';

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions {
  /** Connection string, e.g. postgres://bulwark@db:5432/bulwark. */
  url: string;
  /** Schema that holds the tables (default: the server's search_path, usually public). */
  schema?: string;
  /** Pool size (default 10). */
  max?: number;
  /** How many times a write that hit a serialization failure or deadlock runs again (default 5). */
  maxRetries?: number;
  /** Where recoverable connection errors go. */
  log?: PgLog;
}

/** Options of `createPostgresStore`. */
export interface CreatePostgresStoreOptions extends PostgresStoreOptions {
  /** The clock recorded in schema_migrations (default Date.now). */
  now?: () => number;
}

/** Statements PostgreSQL aborts on purpose, so that running the transaction again may succeed. */
const RETRYABLE = new Set(['40001', '40P01']);

/** Thrown when COMMIT found the transaction already aborted by a statement whose error fn caught. */
export class TransactionAborted extends Error {
  constructor(cause: unknown) {
    super('the transaction was aborted by a failed statement; nothing was committed', { cause });
    this.name = 'TransactionAborted';
  }
}

/** Numbered forms of portable statements, kept because the same texts recur. */
class SqlCache {
  private readonly texts = new Map<string, string>();

  toPg(sql: string): string {
    let text = this.texts.get(sql);
    if (text === undefined) {
      text = numberPlaceholders(sql);
      if (this.texts.size >= 2000) this.texts.clear();
      this.texts.set(sql, text);
    }
    return text;
  }
}

/** A Queryable bound to one transaction; it refuses work once the transaction has ended. */
class Transaction implements Queryable {
  private isOpen = true;
  /** The first statement error, reported if COMMIT finds the transaction aborted. */
  firstError: unknown = undefined;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly sql: SqlCache,
  ) {}

  end(): void {
    this.isOpen = false;
  }

  private async query(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult> {
    if (!this.isOpen) throw new Error('query on a transaction that has already ended');
    try {
      return await this.client.query(this.sql.toPg(sql), params as unknown[]);
    } catch (e) {
      if (this.firstError === undefined) this.firstError = e;
      throw e;
    }
  }

  async all<R = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    return (await this.query(sql, params)).rows as R[];
  }

  async get<R = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> {
    return (await this.query(sql, params)).rows[0] as R | undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return { changes: (await this.query(sql, params)).rowCount ?? 0 };
  }
}

/** The PostgreSQL Store. */
export class PostgresStore implements Store {
  readonly dialect: Dialect = 'postgres';
  /** The pool; a PostgresBus may publish through it. Ended by `close`. */
  readonly pool: pg.Pool;
  /** The schema holding the tables, if one was given. */
  readonly schema: string | undefined;
  private readonly maxRetries: number;
  private readonly sql = new SqlCache();
  private inFlight = 0;
  private isClosed = false;
  private idle: (() => void) | null = null;

  constructor(options: PostgresStoreOptions) {
    this.schema = options.schema === undefined ? undefined : validateSchema(options.schema);
    this.maxRetries = options.maxRetries ?? 5;
    this.pool = createPool({
      url: options.url,
      ...(this.schema !== undefined && { schema: this.schema }),
      max: options.max ?? 10,
      ...(options.log && { log: options.log }),
    });
  }

  read<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.track(() => this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn));
  }

  write<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.track(async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.transaction('BEGIN', fn);
        } catch (e) {
          const state = sqlState(e);
          if (attempt >= this.maxRetries || state === undefined || !RETRYABLE.has(state)) throw e;
          // Jittered exponential backoff, so the transactions that collided do not collide again.
          await sleep(Math.random() * 5 * 2 ** attempt);
        }
      }
    });
  }

  /** Counts a call as in flight until it settles, so `close` can wait for it. */
  private async track<T>(run: () => Promise<T>): Promise<T> {
    if (this.isClosed) throw new Error('store is closed');
    this.inFlight++;
    try {
      return await run();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.idle?.();
    }
  }

  private async transaction<T>(begin: string, fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx = new Transaction(client, this.sql);
    // Set when the connection can no longer be trusted; the pool then discards it.
    let broken: Error | undefined;
    try {
      await client.query(begin);
      let result: T;
      try {
        result = await fn(tx);
      } finally {
        // Statements fn started but did not await are queued ahead of COMMIT/ROLLBACK; nothing
        // may be queued after them.
        tx.end();
      }
      const done = await client.query('COMMIT');
      // COMMIT of an aborted transaction answers ROLLBACK instead of failing: fn caught a
      // statement's error and went on. Nothing was written, so the caller must not hear success.
      if (done.command === 'ROLLBACK') throw new TransactionAborted(tx.firstError);
      return result;
    } catch (e) {
      try {
        // Harmless when no transaction is open (after a failed COMMIT): a warning, not an error.
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.pool.end();
  }
}

/**
 * Opens a PostgreSQL store: creates its schema if missing and applies every pending migration.
 * Nodes that start together take turns (an advisory lock), so each migration runs once.
 */
export async function createPostgresStore(options: CreatePostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresStore(options);
  try {
    const lockKey = `bulwark.migrate.${store.schema ?? 'public'}`;
    // The lock lives on its own connection, so that a pool of size 1 can still run migrate.
    const client = new pg.Client({ connectionString: options.url });
    await client.connect();
    try {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
      try {
        if (store.schema !== undefined) {
          const schema = store.schema;
          await createIfMissing(() => client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`));
        }
        await migrate(store, options.now ?? Date.now);
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]);
      }
    } finally {
      await client.end();
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}
