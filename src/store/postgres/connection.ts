/**
 * What the PostgreSQL adapters share: schema names, the per-pool type parsers, and pools whose
 * every connection is set up the same way (search_path, durable commits).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { isSchemaName } from './names.js';

/** The logger the adapters write to (a subset of core's pino-shaped Logger). */
export interface PgLog {
  /** Something went wrong but the adapter recovers. */
  warn(obj: object, msg?: string): void;
  /** Something went wrong that an operator should see. */
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything. */
export const silentPgLog: PgLog = { warn() {}, error() {} };

/** Returns the schema name if it is acceptable, or throws. */
export function validateSchema(schema: string): string {
  if (!isSchemaName(schema)) {
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)}: use [a-z_][a-z0-9_]*, at most 63 characters`);
  }
  return schema;
}

/** Quotes an identifier for SQL text (doubling any embedded double quote). */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/**
 * The NOTIFY channel for a schema. Channels are database-wide, so they carry the schema's name;
 * a channel name longer than 63 bytes would be cut by LISTEN but refused by pg_notify, so long
 * names end in a hash instead.
 */
export function channelName(schema?: string): string {
  const name = 'bulwark_' + (schema === undefined ? 'public' : validateSchema(schema));
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return name.slice(0, 46) + '_' + hash;
}

/** Parses int8 text as a JavaScript number, refusing values that a number cannot hold exactly. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} is outside the safe integer range`);
  return n;
}

/** Parses numeric text (e.g. a SUM of BIGINT) as a number; whole values must be exact. */
function parseNumeric(text: string): number {
  return /^-?\d+$/.test(text) ? parseInt8(text) : Number(text);
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Type parsers for one pool: int8 (COUNT, BIGINT columns) and numeric (SUM of BIGINT) come back
 * as numbers, as the Store port promises. Set per pool, never on the global `pg.types`, so other
 * users of pg in the process keep their parsers.
 */
export const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === undefined || format === 'text') {
      if (oid === INT8_OID) return parseInt8;
      if (oid === NUMERIC_OID) return parseNumeric;
    }
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Options of a pool made by `createPool`. */
export interface PoolOptions {
  /** Connection string, e.g. postgres://user@host:5432/db. */
  url: string;
  /** Schema to put first on the search_path of every connection. */
  schema?: string;
  /** Most connections (default 10). */
  max?: number;
  /** Where connection errors of idle clients go. */
  log?: PgLog;
}

/**
 * A pool whose connections each start with `SET search_path TO <schema>` (when a schema is
 * given) and durable commits: if the server default is synchronous_commit=off, the session turns
 * it on, because an acknowledged message must survive a crash (DESIGN.md).
 */
export function createPool(o: PoolOptions): pg.Pool {
  const schema = o.schema === undefined ? undefined : validateSchema(o.schema);
  const log = o.log ?? silentPgLog;
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.max ?? 10,
    types: pgTypes,
    keepAlive: true,
    // pg-pool awaits this before handing the connection out; a failure fails the checkout.
    onConnect: async (client: pg.ClientBase) => {
      if (schema !== undefined) await client.query(`SET search_path TO ${quoteIdent(schema)}`);
      const r = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      if (r.rows[0]?.synchronous_commit === 'off') await client.query('SET synchronous_commit TO on');
    },
  });
  // An idle connection that the server closes emits here; without a listener it would crash
  // the process. The pool drops the client and opens a new one on the next checkout.
  pool.on('error', (err) => log.warn({ err }, 'postgres.pool.idleError'));
  return pool;
}

/** The SQLSTATE of a PostgreSQL error, if it has one. */
export function sqlState(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Runs DDL that may race with another node doing the same (CREATE … IF NOT EXISTS is not
 * atomic in PostgreSQL): a duplicate-object error from the loser means the object exists.
 */
export async function createIfMissing(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (e) {
    // 23505 unique_violation (on the catalog), 42P06 duplicate_schema, 42P07 duplicate_table.
    const state = sqlState(e);
    if (state !== '23505' && state !== '42P06' && state !== '42P07') throw e;
  }
}
