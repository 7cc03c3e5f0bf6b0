/**
 * Text keys of SEARCH (RFC 9051 §6.4.4 BODY, TEXT, HEADER, SUBJECT, FROM, TO, CC, BCC):
 * the UIDs of one mailbox whose stored search text contains a string.
 *
 * Two phases, both inside the caller's read snapshot:
 * 1. Candidates. SQLite: the FTS5 trigram index (migration 2) via MATCH; PostgreSQL: ILIKE,
 *    which the pg_trgm GIN indexes serve. The needle is cut into pieces the index is trusted
 *    with (fold.ts); a needle with no piece of three or more characters cannot use a trigram
 *    index, and the candidates are then every message of the mailbox that passes the query's
 *    other top-level conditions: a bounded scan of one mailbox, read in pages.
 * 2. The exact test: case-insensitive substring (foldCase) on each candidate's text, read in
 *    pages of PAGE messages, so memory stays bounded by the page and not the mailbox. On
 *    SQLite, an ASCII needle on whole columns is tested exactly in SQL instead (textUids).
 */
import type { Dialect, Queryable, SqlValue } from '../../../store/port.js';
import type { TextField } from '../search-types.js';
import { containsFolded, foldCase, indexSegments } from './fold.js';
import { uidList } from '../uid-list.js';
import { readsMessages } from './compile.js';

/** Messages whose text is read per query in phase 2. */
const PAGE = 100;

/** A text condition, normalised: which stored column(s), which header field, what needle. */
export interface TextCondition {
  /** Header field name (lower case) the value must be in, or null for whole columns. */
  field: string | null;
  /** Columns searched when field is null. */
  columns: ReadonlyArray<'headers' | 'body'>;
  /** The needle, folded. */
  needle: string;
}

/** Turns a text or header key into a TextCondition. */
export function textCondition(key: { op: 'text'; field: TextField; value: string } | { op: 'header'; field: string; value: string }): TextCondition {
  const needle = foldCase(key.value);
  if (key.op === 'header') return { field: key.field.toLowerCase(), columns: ['headers'], needle };
  switch (key.field) {
    case 'body':
      return { field: null, columns: ['body'], needle };
    case 'text':
      // RFC 9051 §6.4.4 TEXT: "in the header or body of the message".
      return { field: null, columns: ['headers', 'body'], needle };
    default:
      // SUBJECT/FROM/TO/CC/BCC: the named header field's (RFC 2047 decoded) value.
      return { field: key.field, columns: ['headers'], needle };
  }
}

/** Whether one message's stored text satisfies the condition (the exact phase). */
export function matchesText(cond: TextCondition, headers: string, body: string): boolean {
  if (cond.field === null) {
    return (cond.columns.includes('headers') && containsFolded(headers, cond.needle)) || (cond.columns.includes('body') && containsFolded(body, cond.needle));
  }
  // The stored header text is one "Name: value" line per field, unfolded (mime/text.ts).
  for (const line of headers.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.slice(0, colon).toLowerCase() !== cond.field) continue;
    const value = line.charCodeAt(colon + 1) === 0x20 ? line.slice(colon + 2) : line.slice(colon + 1);
    // RFC 9051 §6.4.4 HEADER: an empty string matches every message that has the field.
    if (containsFolded(value, cond.needle)) return true;
  }
  return false;
}

/**
 * Header fields (nearly) every message has: "name:" narrows nothing for them, and looking it up
 * costs as much as matching every message (a 10,000-message mailbox: ~19 ms on SQLite).
 */
const UBIQUITOUS_FIELDS = new Set(['from', 'to', 'subject', 'date', 'message-id', 'received', 'content-type', 'mime-version']);

/** The pieces an index lookup may use: the needle's, and for a rarer header field "name:". */
function lookupGroups(cond: TextCondition, isSafe: (c: string) => boolean): string[][] {
  const groups = [indexSegments(cond.needle, isSafe)];
  if (cond.field !== null && !UBIQUITOUS_FIELDS.has(cond.field)) groups.push(indexSegments(`${cond.field}:`, isSafe));
  return groups.filter((g) => g.length > 0);
}

const chars = (s: string): number => [...s].length;

/** The SQL fragment (and its parameters) that narrows candidates through the index, or null. */
/** An index condition; `with` (a CTE, whose parameters come first in `params`) when it needs one. */
interface IndexFilter {
  with?: string;
  sql: string;
  params: SqlValue[];
}

function indexFilter(dialect: Dialect, accountId: string, cond: TextCondition, isSafe: (c: string) => boolean): IndexFilter | null {
  const groups = lookupGroups(cond, isSafe);
  if (!groups.some((g) => g.some((s) => chars(s) >= 3))) return null;
  if (dialect === 'sqlite') {
    // FTS5 query syntax: a column filter before a double-quoted phrase ("" escapes a quote);
    // the trigram tokenizer matches a phrase as a substring.
    const cols = `{${cond.columns.join(' ')}}`;
    const phrases = groups.flat().filter((s) => chars(s) >= 3).map((s) => `${cols} : "${s.replace(/"/g, '""')}"`);
    // Messages the background indexer has not reached yet (search-index.ts) are candidates too.
    return {
      sql: `(mm.message_id IN (SELECT d.message_id FROM message_search_fts f JOIN message_search_docs d ON d.doc = f.rowid WHERE message_search_fts MATCH ?)
        OR mm.message_id IN (SELECT message_id FROM message_search_pending))`,
      params: [phrases.join(' AND ')],
    };
  }
  // PostgreSQL: one ILIKE pattern per group, the pieces in order with % between.
  const esc = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
  const conds: string[] = [];
  const params: SqlValue[] = [accountId];
  for (const g of groups) {
    const pattern = `%${g.map(esc).join('%')}%`;
    conds.push(`(${cond.columns.map((c) => `s2.${c} ILIKE ? ESCAPE '\\'`).join(' OR ')})`);
    for (let i = 0; i < cond.columns.length; i++) params.push(pattern);
  }
  // A MATERIALIZED CTE (PostgreSQL 12+) runs the index lookup once, on its own: inlined, the
  // planner may instead re-run the ILIKE per message of the mailbox, or per row of a semi-join.
  return {
    with: `WITH hits AS MATERIALIZED (SELECT s2.message_id FROM message_search s2 WHERE s2.account_id = ? AND ${conds.join(' AND ')})`,
    sql: 'mm.message_id IN (SELECT message_id FROM hits)',
    params,
  };
}

/** What a text evaluation runs against. */
export interface TextScope {
  q: Queryable;
  dialect: Dialect;
  accountId: string;
  mailboxId: string;
  /** Extra SQL over mm (mailbox_messages) and m (messages) every candidate must pass. */
  restrict: { sql: string; params: SqlValue[] } | null;
  /** Which folded characters the index can be trusted with (fold.ts). */
  isSafe: (c: string) => boolean;
}

/** UIDs (ascending) of the scope's mailbox whose text satisfies the condition. */
export async function textUids(scope: TextScope, cond: TextCondition): Promise<number[]> {
  const { q, mailboxId } = scope;
  // RFC 9051 §6.4.4: the empty string is a substring of every text.
  if (cond.field === null && cond.needle === '') return candidateUids(scope, null);
  const filter = indexFilter(scope.dialect, scope.accountId, cond, scope.isSafe);
  const inEngine = sqliteSubstring(scope.dialect, cond.needle);
  if (inEngine && cond.field === null) {
    // The whole condition runs in the engine.
    const exact = { sql: `(${cond.columns.map((c) => inEngine.sql(`s.${c}`)).join(' OR ')})`, params: cond.columns.map(() => inEngine.param) };
    return candidateUids(scope, filter, exact);
  }
  // A header field's value is part of the whole header text: the same test on the whole column
  // is a necessary condition that runs in the engine, and narrows a needle too short for the
  // index (or a common one) before the exact per-field test below.
  const prefilter = inEngine && cond.needle !== '' ? { sql: inEngine.sql('s.headers'), params: [inEngine.param] } : undefined;
  const candidates = await candidateUids(scope, filter, prefilter);
  const out: number[] = [];
  const cols = cond.field === null ? cond.columns : ['headers'];
  const select = `mm.uid AS uid, ${cols.includes('headers') ? 's.headers' : "''"} AS headers, ${cols.includes('body') ? 's.body' : "''"} AS body`;
  for (let i = 0; i < candidates.length; i += PAGE) {
    // Between pages, let other sessions run (SQLite answers on the event loop).
    if (i > 0) await yieldToEventLoop();
    const page = candidates.slice(i, i + PAGE);
    const rows = await q.all<{ uid: number; headers: string; body: string }>(
      `SELECT ${select} FROM mailbox_messages mm JOIN message_search s ON s.message_id = mm.message_id
       WHERE mm.mailbox_id = ? AND mm.uid IN (${page.join(',')}) ORDER BY mm.uid`,
      [mailboxId],
    );
    for (const r of rows) if (matchesText(cond, r.headers ?? '', r.body ?? '')) out.push(Number(r.uid));
  }
  return out;
}

/** Messages per statement when SQLite scans a mailbox's text (see candidateUids). */
const SCAN_WINDOW = 2000;

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/** Longest needle tested with LIKE (SQLite refuses patterns over 50,000 bytes by default). */
const LIKE_MAX = 1000;

/**
 * On SQLite, the foldCase substring test as SQL, when one exists. SQLite's LIKE folds ASCII
 * only, and the one non-ASCII character whose fold is ASCII is U+212A KELVIN SIGN ("k"): for
 * an ASCII needle without "k", LIKE '%needle%' is exactly containsFolded. LIKE compares in
 * place, where instr(lower(col), ?) first copies the whole text (about twice as slow).
 */
function sqliteSubstring(dialect: Dialect, needle: string): { sql: (col: string) => string; param: string } | null {
  if (dialect !== 'sqlite' || !/^[\x01-\x7f]*$/.test(needle) || needle.includes('k')) return null;
  if (needle.length > LIKE_MAX) return { sql: (col) => `instr(lower(${col}), ?) > 0`, param: needle };
  return { sql: (col) => `${col} LIKE ? ESCAPE '\\'`, param: `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
}

async function candidateUids(scope: TextScope, filter: IndexFilter | null, exact?: { sql: string; params: SqlValue[] }): Promise<number[]> {
  const where = ['mm.mailbox_id = ?'];
  // Parameters in the order their `?` appear: the CTE's first.
  const params: SqlValue[] = filter?.with ? [...filter.params, scope.mailboxId] : [scope.mailboxId];
  if (filter) {
    where.push(filter.sql);
    if (!filter.with) params.push(...filter.params);
  }
  if (exact) {
    where.push(exact.sql);
    params.push(...exact.params);
  }
  if (scope.restrict) {
    where.push(`(${scope.restrict.sql})`);
    params.push(...scope.restrict.params);
  }
  // The messages table only when a restricting condition reads it.
  const join = `${scope.restrict && readsMessages(scope.restrict.sql) ? 'JOIN messages m ON m.id = mm.message_id' : ''}${exact ? ' JOIN message_search s ON s.message_id = mm.message_id' : ''}`;
  const run = (w: string[], p: SqlValue[]) =>
    uidList(scope.q, { ...(filter?.with ? { with: filter.with } : {}), uid: 'mm.uid', from: `FROM mailbox_messages mm ${join} WHERE ${w.join(' AND ')}`, params: p });
  if (scope.dialect !== 'sqlite' || !exact || filter) return run(where, params);
  // SQLite runs a statement to its end on the event loop. A needle the index cannot narrow
  // (under three characters) is tested on every message that passes the other conditions, and
  // over a large mailbox (10,000 messages: ~10-50 ms) that would stall every session as long.
  // So the test runs over windows of SCAN_WINDOW messages by UID, yielding between them; all
  // in the caller's read transaction, so in one snapshot.
  const all = await uidList(scope.q, { uid: 'uid', from: 'FROM mailbox_messages WHERE mailbox_id = ?', params: [scope.mailboxId] });
  if (all.length <= SCAN_WINDOW) return run(where, params);
  const out: number[] = [];
  for (let i = 0; i < all.length; i += SCAN_WINDOW) {
    if (i > 0) await yieldToEventLoop();
    const range = [all[i]!, all[Math.min(all.length, i + SCAN_WINDOW) - 1]!];
    for (const u of await run([...where, 'mm.uid BETWEEN ? AND ?'], [...params, ...range])) out.push(u);
  }
  return out;
}
