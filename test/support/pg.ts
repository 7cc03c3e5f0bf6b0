/**
 * PostgreSQL for tests: the server named by BULWARK_TEST_PG, and a fresh schema per test run
 * (the database outlives runs, so no run sees another's tables).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The test database's connection string, or undefined when PostgreSQL tests are off. */
export function pgTestUrl(): string | undefined {
  const url = process.env.BULWARK_TEST_PG;
  return url !== undefined && url.length > 0 ? url : undefined;
}

/** A schema made for one test run. */
export interface PgTestSchema {
  /** Connection string of the test database. */
  url: string;
  /** The schema's name, unique to this run. */
  schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** Creates a uniquely named schema (`t_<pid>_<random>`) in the test database. */
export async function createPgTestSchema(): Promise<PgTestSchema> {
  const url = pgTestUrl();
  if (url === undefined) throw new Error('BULWARK_TEST_PG is not set');
  const schema = `t_${process.pid}_${randomBytes(6).toString('hex')}`;
  await withClient(url, (c) => c.query(`CREATE SCHEMA "${schema}"`));
  return {
    url,
    schema,
    drop: () => withClient(url, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).then(() => undefined),
  };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
