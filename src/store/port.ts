/**
 * The storage ports: Store (metadata, async and transactional), BlobStore (content-addressed
 * raw bytes) and Bus (change announcements across sessions and nodes).
 *
 * Invariants every adapter keeps:
 * - SQL is written once, portably: `?` placeholders (the PostgreSQL adapter numbers them),
 *   integers for booleans and for timestamps (milliseconds since the epoch), TEXT for JSON,
 *   BLOB/BYTEA for bytes. 64-bit integers come back as JavaScript numbers.
 * - `write` runs its function in one transaction. It commits durably (SQLite
 *   `synchronous=FULL`, PostgreSQL's default commit) before its promise resolves, so a caller
 *   may acknowledge to a client as soon as it resolves. The function must not await anything
 *   but the Queryable it is given: no file, network or blob I/O inside a transaction.
 * - Writes to one account are serialised by the account row (`UPDATE accounts ...` first),
 *   which is also where the account's modseq counter lives.
 */

/** A value that can be bound to a SQL parameter. */
export type SqlValue = string | number | bigint | null | Uint8Array;

/** The result of a statement that changes rows. */
export interface RunResult {
  /** Number of rows inserted, updated or deleted. */
  changes: number;
}

/** Runs SQL inside a transaction (or a read snapshot). */
export interface Queryable {
  /** Every row the statement returns. */
  all<R = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  /** The first row, or undefined. */
  get<R = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined>;
  /** Runs a statement for its effect. */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
}

/** Which SQL engine is behind a Store, for the few statements that differ. */
export type Dialect = 'sqlite' | 'postgres';

/** The transactional metadata store. */
export interface Store {
  /** The engine, for migrations and the rare dialect-specific statement. */
  readonly dialect: Dialect;
  /** Runs fn on a consistent read snapshot; fn must not write. */
  read<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs fn in one write transaction and resolves after a durable commit. If fn throws, the
   * transaction rolls back and the error is rethrown. Concurrent writes may share one commit
   * (group commit); each still succeeds or fails on its own.
   *
   * fn may run more than once (the PostgreSQL adapter retries after a serialization failure
   * or deadlock), so it must have no effect outside the Queryable. A failed statement aborts
   * the whole transaction on PostgreSQL: never catch a SQL error inside fn and continue.
   */
  write<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Waits for in-flight transactions, then closes every connection. */
  close(): Promise<void>;
}

/** A reference to a stored blob: its SHA-256 (lowercase hex) and size. */
export interface BlobRef {
  /** Lowercase hex SHA-256 of the content; the blob's name. */
  id: string;
  /** Size in bytes. */
  size: number;
}

/** Content-addressed storage of raw bytes. Reference counts live in the Store. */
export interface BlobStore {
  /** Stores bytes durably (file and directory fsynced) and returns their reference. */
  put(data: Uint8Array): Promise<BlobRef>;
  /**
   * Stores a stream durably; rejects with TooLarge (and keeps nothing) when it exceeds
   * maxBytes.
   */
  putStream(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<BlobRef>;
  /** The whole blob, or undefined if it does not exist. */
  get(id: string): Promise<Uint8Array | undefined>;
  /** Bytes [start, end) of the blob (end clamped to its size), or undefined. */
  getRange(id: string, start: number, end: number): Promise<Uint8Array | undefined>;
  /** Whether the blob exists. */
  has(id: string): Promise<boolean>;
  /**
   * Removes the blob; only the garbage collector calls this. Answers false, keeping the blob,
   * when it was put so recently that an in-flight write may still commit a reference to it.
   */
  delete(id: string): Promise<boolean>;
  /** Every stored blob id with the time it was last written, for the orphan sweep. */
  list(): AsyncIterable<{ id: string; writtenAtMs: number }>;
  /** Releases resources. */
  close(): Promise<void>;
}

/** What the Bus carries: an account changed, up to this modseq. */
export interface ChangeEvent {
  /** The account whose data changed. */
  accountId: string;
  /** The modseq of the committed change. */
  modseq: number;
  /** Which kinds of object changed (e.g. "mailbox", "email"). */
  types: string[];
  /** Mailboxes touched, when known, so that sessions elsewhere can ignore the rest. */
  mailboxIds?: string[];
}

/** Handler for bus events; `resync` is true when notifications may have been lost. */
export type BusHandler = (event: ChangeEvent | null, resync: boolean) => void;

/** Announces committed changes to listeners in this process and on other nodes. */
export interface Bus {
  /** Announces a committed change. Call only after commit. */
  publish(event: ChangeEvent): Promise<void>;
  /** Listens to changes of one account ('*' for all); returns the unsubscribe function. */
  subscribe(accountId: string, handler: BusHandler): () => void;
  /** Stops listening and releases connections. */
  close(): Promise<void>;
}
