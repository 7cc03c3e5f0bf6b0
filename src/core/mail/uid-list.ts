/**
 * UID lists read as one aggregated row instead of one row per UID.
 *
 * Drivers pay per row (better-sqlite3 builds a JavaScript object for each, about 0.5 µs; pg
 * parses each): on a 10,000-message mailbox one comma-separated string is several times
 * cheaper than 10,000 rows (bench/imap, SELECT and SEARCH). `string_agg` is the same SQL on
 * SQLite (3.44 and later) and PostgreSQL. The list is sorted here, not by an ORDER BY inside
 * the aggregate: SQLite would sort even rows that an index already gives in order.
 */
import type { Queryable, SqlValue } from '../../store/port.js';

/** What a UID-list query is made of. */
export interface UidQuery {
  /** A WITH clause to put first (its parameters come first in `params`). */
  with?: string;
  /** The UID expression, e.g. "mm.uid". */
  uid: string;
  /** Everything after the select list: "FROM … WHERE …" (no ORDER BY). */
  from: string;
  params: readonly SqlValue[];
}

/** Runs the query and returns its UIDs, ascending. */
export async function uidList(q: Queryable, query: UidQuery): Promise<number[]> {
  const row = await q.get<{ u: string | null }>(`${query.with ?? ''} SELECT string_agg(CAST(${query.uid} AS TEXT), ',') AS u ${query.from}`, query.params);
  const uids = parseUidList(row?.u ?? null);
  for (let i = 1; i < uids.length; i++) if (uids[i - 1]! > uids[i]!) return uids.sort((a, b) => a - b);
  return uids;
}

/** Parses "1,2,30" (digits and commas only, as string_agg of integers gives). */
export function parseUidList(s: string | null): number[] {
  if (!s) return [];
  const out: number[] = [];
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 44) {
      out.push(n);
      n = 0;
    } else n = n * 10 + (c - 48);
  }
  out.push(n);
  return out;
}
