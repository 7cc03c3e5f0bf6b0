/**
 * PostgreSQL adapter of the BlobStore port: content-addressed bytes in one table,
 * `blob_data (id TEXT PRIMARY KEY, data BYTEA NOT NULL, written_at BIGINT NOT NULL)`.
 *
 * The adapter creates its own table (blobs may live in another database than the metadata).
 * Every put is one autocommit statement, durable when it returns (the server's commit). A put
 * of bytes already stored only refreshes written_at: that time pins the blob against the
 * garbage collector for `pinMs`, because the delivery that found it may not have committed its
 * reference yet (the same rule as FsBlobStore). The pin check and the delete are one statement,
 * so a put that refreshes the time concurrently either wins or finds the row gone and inserts.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { TooLarge } from '../../core/errors.js';
import type { BlobRef, BlobStore } from '../port.js';
import { createIfMissing, createPool, quoteIdent, validateSchema, type PgLog } from './connection.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** Options of the PostgreSQL blob store. */
export interface PostgresBlobStoreOptions {
  /** Connection string; a pool of `max` connections is opened on it (unless `pool` is given). */
  url?: string;
  /** A pool to use instead of opening one; the caller ends it. */
  pool?: pg.Pool;
  /** Schema of the blob_data table (default: the search_path, usually public). */
  schema?: string;
  /** How long after a put the blob may not be deleted, in ms (default one hour). */
  pinMs?: number;
  /** The clock (default Date.now). */
  now?: () => number;
  /** Pool size when the store opens its own pool (default 4). */
  max?: number;
  /** Rows fetched per page by `list` (default 1000). */
  listPageSize?: number;
  /** Where recoverable connection errors go. */
  log?: PgLog;
}

/** Blob store on a PostgreSQL table. */
export class PostgresBlobStore implements BlobStore {
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly schema: string | undefined;
  private readonly table: string;
  private readonly pinMs: number;
  private readonly now: () => number;
  private readonly listPageSize: number;

  constructor(options: PostgresBlobStoreOptions) {
    this.schema = options.schema === undefined ? undefined : validateSchema(options.schema);
    // The table is qualified by its schema, so a pool with any search_path works.
    this.table = (this.schema === undefined ? '' : quoteIdent(this.schema) + '.') + 'blob_data';
    this.pinMs = options.pinMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
    this.listPageSize = options.listPageSize ?? 1000;
    if (options.pool) {
      this.pool = options.pool;
      this.ownsPool = false;
    } else {
      if (options.url === undefined) throw new Error('PostgresBlobStore needs a url or a pool');
      this.pool = createPool({ url: options.url, max: options.max ?? 4, ...(options.log && { log: options.log }) });
      this.ownsPool = true;
    }
  }

  /** Creates the schema (if one was given) and the table, if missing; call once before use. */
  async init(): Promise<void> {
    if (this.schema !== undefined) {
      const schema = this.schema;
      await createIfMissing(() => this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`));
    }
    await createIfMissing(() =>
      this.pool.query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (id TEXT PRIMARY KEY, data BYTEA NOT NULL, written_at BIGINT NOT NULL)`,
      ),
    );
  }

  async put(data: Uint8Array): Promise<BlobRef> {
    const id = createHash('sha256').update(data).digest('hex');
    const writtenAt = this.now();
    // A dedup hit refreshes the pin without sending the bytes again.
    const touched = await this.pool.query(`UPDATE ${this.table} SET written_at = $2 WHERE id = $1`, [id, writtenAt]);
    if ((touched.rowCount ?? 0) === 0) {
      await this.pool.query(
        `INSERT INTO ${this.table} (id, data, written_at) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at`,
        [id, data, writtenAt],
      );
    }
    return { id, size: data.byteLength };
  }

  async putStream(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<BlobRef> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of source) {
      size += chunk.byteLength;
      // Leaving the loop by throwing also ends the source (its iterator's return()).
      if (size > maxBytes) throw new TooLarge(`blob exceeds ${maxBytes} bytes`);
      chunks.push(chunk);
    }
    return this.put(Buffer.concat(chunks, size));
  }

  async get(id: string): Promise<Uint8Array | undefined> {
    const r = await this.pool.query<{ data: Buffer }>(`SELECT data FROM ${this.table} WHERE id = $1`, [checkId(id)]);
    return r.rows[0]?.data;
  }

  async getRange(id: string, start: number, end: number): Promise<Uint8Array | undefined> {
    // A BYTEA holds at most 1 GiB, so clamping to int4 range changes no answer.
    const from = clampInt(start, 0, MAX_INT4 - 1);
    const length = clampInt(end - from, 0, MAX_INT4);
    // substring counts from 1 and stops at the end of the value, which clamps `end`.
    const r = await this.pool.query<{ part: Buffer }>(
      `SELECT substring(data from $2::int for $3::int) AS part FROM ${this.table} WHERE id = $1`,
      [checkId(id), from + 1, length],
    );
    return r.rows[0]?.part;
  }

  async has(id: string): Promise<boolean> {
    const r = await this.pool.query(`SELECT 1 FROM ${this.table} WHERE id = $1`, [checkId(id)]);
    return (r.rowCount ?? 0) > 0;
  }

  async delete(id: string): Promise<boolean> {
    const cutoff = this.now() - this.pinMs;
    // One statement: the DELETE spares a pinned row, and a put that refreshes the pin at the
    // same moment is waited for and re-checked by it. `present` reads the snapshot from before
    // the DELETE, so "present and not gone" means pinned. A missing blob counts as deleted, as
    // in FsBlobStore.
    const r = await this.pool.query<{ gone: boolean; present: boolean }>(
      `WITH gone AS (DELETE FROM ${this.table} WHERE id = $1 AND written_at <= $2 RETURNING id)
       SELECT EXISTS (SELECT 1 FROM gone) AS gone, EXISTS (SELECT 1 FROM ${this.table} WHERE id = $1) AS present`,
      [checkId(id), cutoff],
    );
    const row = r.rows[0];
    return row === undefined || row.gone || !row.present;
  }

  async *list(): AsyncIterable<{ id: string; writtenAtMs: number }> {
    // Keyset pages by id: each page is one short query, so no cursor holds a connection
    // between pages while the caller works.
    let after = '';
    for (;;) {
      const r = await this.pool.query<{ id: string; written_at: number }>(
        `SELECT id, written_at FROM ${this.table} WHERE id > $1 ORDER BY id LIMIT $2`,
        [after, this.listPageSize],
      );
      for (const row of r.rows) yield { id: row.id, writtenAtMs: row.written_at };
      if (r.rows.length < this.listPageSize) return;
      after = r.rows[r.rows.length - 1]!.id;
    }
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}

/** Opens a PostgreSQL blob store and creates its table if missing. */
export async function createPostgresBlobStore(options: PostgresBlobStoreOptions): Promise<PostgresBlobStore> {
  const blobs = new PostgresBlobStore(options);
  try {
    await blobs.init();
  } catch (e) {
    await blobs.close();
    throw e;
  }
  return blobs;
}

const MAX_INT4 = 2 ** 31 - 1;

/** n rounded down into [min, max]; NaN counts as min. */
function clampInt(n: number, min: number, max: number): number {
  return Number.isNaN(n) ? min : Math.min(max, Math.max(min, Math.floor(n)));
}

function checkId(id: string): string {
  if (!HEX64.test(id)) throw new Error('invalid blob id');
  return id;
}
