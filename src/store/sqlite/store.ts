/**
 * SQLite adapter of the Store port (better-sqlite3, WAL).
 *
 * better-sqlite3 is synchronous and a transaction cannot await real I/O, so:
 * - one writer connection runs write jobs one after another in BEGIN IMMEDIATE transactions.
 *   Jobs that queue up while a commit is on disk run together in the next transaction, each
 *   inside its own SAVEPOINT, and share its one fsync (group commit). A job that throws rolls
 *   back only its savepoint.
 * - reads run on a small pool of read-only connections, each read in its own snapshot.
 * Durability: journal_mode=WAL, and a COMMIT is on disk before `write` resolves. SQLite's own
 * way (synchronous=FULL) fsyncs the WAL inside COMMIT, on the event loop, where it stalled
 * every session for the length of a disk flush. Instead the writer runs synchronous=NORMAL
 * (COMMIT writes the WAL into the page cache without a flush) and the store then fsyncs the
 * WAL file in the thread pool, resolving the batch's jobs only after that: the same bytes
 * reach the disk before any acknowledgement, and the event loop keeps serving meanwhile.
 * A commit that is written but not yet flushed must not be seen either (a client could be
 * shown a message that a power cut then takes back, and its UID handed out again): a read
 * starts only when no flush is pending, and pins its snapshot at once (see `read`).
 */
import Database from 'better-sqlite3';
import { closeSync, fstatSync, fsync, openSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Dialect, Queryable, RunResult, SqlValue, Store } from '../port.js';

type Db = Database.Database;
const fsyncFd = promisify(fsync);
type Statement = Database.Statement;

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  /** Path of the database file. */
  path: string;
  /** Most read connections kept open (default 4). */
  maxReaders?: number;
  /** Most write jobs that share one commit (default 512). */
  maxBatch?: number;
}

interface WriteJob {
  fn: (q: Queryable) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** A Queryable over one connection, caching prepared statements by SQL text. */
class Connection implements Queryable {
  private readonly cache = new Map<string, Statement>();
  constructor(readonly db: Db) {}

  private prepare(sql: string): Statement {
    let st = this.cache.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      if (this.cache.size > 500) this.cache.clear();
      this.cache.set(sql, st);
    }
    return st;
  }

  /** Statements run on this connection through the Queryable (see SqliteStore.read). */
  statements = 0;

  /** Runs a statement without results (BEGIN, COMMIT, SAVEPOINT …), prepared once. */
  control(sql: string): void {
    this.prepare(sql).run();
  }

  /** Makes the open transaction take its read snapshot now. */
  pinSnapshot(): void {
    this.prepare('SELECT 1 FROM sqlite_schema LIMIT 1').get();
  }

  all<R>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    this.statements++;
    try {
      return Promise.resolve(this.prepare(sql).all(...params) as R[]);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  get<R>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> {
    this.statements++;
    try {
      const st = this.prepare(sql);
      return Promise.resolve((st.reader ? st.get(...params) : (st.run(...params), undefined)) as R | undefined);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    this.statements++;
    try {
      const st = this.prepare(sql);
      if (st.reader) {
        // A statement with RETURNING, run for its effect.
        const rows = st.all(...params);
        return Promise.resolve({ changes: rows.length });
      }
      return Promise.resolve({ changes: st.run(...params).changes });
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

function open(path: string, readonly: boolean): Db {
  const db = new Database(path, { readonly, fileMustExist: readonly });
  db.defaultSafeIntegers(false);
  db.pragma('busy_timeout = 10000');
  if (!readonly) {
    db.pragma('journal_mode = WAL');
    // COMMIT writes the WAL without flushing it; SqliteStore flushes it before acknowledging.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // Checkpoints are done by SQLite automatically every 1000 pages; keep the default.
    // Planner statistics (see SqliteStore.keepStatistics): bounded ANALYZE work per index.
    db.pragma('analysis_limit = 400');
  }
  return db;
}

/** Committed write jobs between two checks of the planner statistics. */
const STATISTICS_EVERY_JOBS = 1000;

/** The SQLite Store. */
export class SqliteStore implements Store {
  readonly dialect: Dialect = 'sqlite';
  private readonly writer: Connection;
  private readonly readers: Connection[] = [];
  private readonly idleReaders: Connection[] = [];
  private readonly readerWaiters: Array<(c: Connection) => void> = [];
  private readonly queue: WriteJob[] = [];
  private running = false;
  private closed = false;
  private drained: (() => void) | null = null;
  private readonly maxReaders: number;
  private readonly maxBatch: number;
  private jobsSinceStatistics = 0;
  /** The flush of the last commit, while it runs: reads wait for it (see the header). */
  private flushing: Promise<void> | null = null;
  /** An open descriptor of the WAL file, for flushing it, and its inode. */
  private wal: { fd: number; ino: number } | null = null;

  constructor(private readonly options: SqliteStoreOptions) {
    this.writer = new Connection(open(options.path, false));
    this.maxReaders = options.maxReaders ?? 4;
    this.maxBatch = options.maxBatch ?? 512;
    this.keepStatistics();
  }

  /**
   * Keeps the query planner's statistics (sqlite_stat1) current, as SQLite advises for
   * long-lived connections: PRAGMA optimize analyses only tables without statistics or whose
   * size changed a lot since, so it costs ~0.1 ms when there is nothing to do. Without
   * statistics the planner may drive a text search from every row of the mailbox instead of
   * from the index's hits (a 10,000-message mailbox: 4 ms instead of 0.5 ms per SEARCH).
   */
  private keepStatistics(): void {
    this.jobsSinceStatistics = 0;
    this.writer.db.pragma('optimize = 0x10002');
  }

  async read<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    const conn = await this.acquireReader();
    // (A failed flush fails its own batch's writes; the read then goes on to what is on disk.)
    while (this.flushing) await this.flushing.catch(() => undefined);
    // No await from the check above to the snapshot: only this thread commits, so the
    // snapshot holds flushed commits only. A WAL read transaction takes its snapshot at its
    // first read; fn runs synchronously up to its first await, which is nearly always a
    // query. If it was not, the snapshot is taken here, still before anything else runs.
    conn.control('BEGIN');
    try {
      const before = conn.statements;
      const result = fn(conn);
      if (conn.statements === before) conn.pinSnapshot();
      return await result;
    } finally {
      conn.control('COMMIT');
      this.releaseReader(conn);
    }
  }

  write<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      await this.runBatch(batch);
      // Let I/O callbacks queue more jobs so that they share the next commit.
      if (this.queue.length === 0) await new Promise((r) => setImmediate(r));
    }
    this.running = false;
    this.drained?.();
  }

  private async runBatch(batch: WriteJob[]): Promise<void> {
    const db = this.writer.db;
    const results: Array<{ ok: boolean; value: unknown }> = [];
    try {
      this.writer.control('BEGIN IMMEDIATE');
    } catch (e) {
      for (const job of batch) job.reject(e);
      return;
    }
    for (const job of batch) {
      this.writer.control('SAVEPOINT job');
      try {
        const value = await job.fn(this.writer);
        this.writer.control('RELEASE job');
        results.push({ ok: true, value });
      } catch (e) {
        this.writer.control('ROLLBACK TO job');
        this.writer.control('RELEASE job');
        results.push({ ok: false, value: e });
      }
    }
    try {
      this.writer.control('COMMIT');
      const flush = this.flushWal();
      this.flushing = flush;
      try {
        await flush;
      } finally {
        this.flushing = null;
      }
    } catch (e) {
      if (db.inTransaction) db.exec('ROLLBACK');
      for (const job of batch) job.reject(e);
      return;
    }
    batch.forEach((job, i) => {
      const r = results[i]!;
      if (r.ok) job.resolve(r.value);
      else job.reject(r.value);
    });
    this.jobsSinceStatistics += batch.length;
    if (this.jobsSinceStatistics >= STATISTICS_EVERY_JOBS) this.keepStatistics();
  }

  /**
   * Flushes the WAL file to disk (fsync in the thread pool). The descriptor is reopened when
   * the file was replaced (SQLite keeps it while a connection is open, so rarely if ever).
   */
  private async flushWal(): Promise<void> {
    const path = `${this.options.path}-wal`;
    const ino = statSync(path).ino;
    if (this.wal?.ino !== ino) {
      if (this.wal) closeSync(this.wal.fd);
      const fd = openSync(path, 'r');
      this.wal = { fd, ino: fstatSync(fd).ino };
    }
    await fsyncFd(this.wal.fd);
  }

  private async acquireReader(): Promise<Connection> {
    const idle = this.idleReaders.pop();
    if (idle) return idle;
    if (this.readers.length < this.maxReaders) {
      const c = new Connection(open(this.options.path, true));
      this.readers.push(c);
      return c;
    }
    return new Promise((resolve) => this.readerWaiters.push(resolve));
  }

  private releaseReader(c: Connection): void {
    const waiter = this.readerWaiters.shift();
    if (waiter) waiter(c);
    else this.idleReaders.push(c);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.running) await new Promise<void>((r) => (this.drained = r));
    for (const r of this.readers) r.db.close();
    this.writer.db.close();
    if (this.wal) closeSync(this.wal.fd);
  }
}
