/**
 * SEARCH, SORT and THREAD over one mailbox, for every protocol (IMAP SEARCH/SORT/THREAD,
 * JMAP Email/query). RFC 9051 §6.4.4 and RFC 3501 §6.4.4 (SEARCH keys), RFC 5256 (SORT,
 * THREAD), RFC 5957 (DISPLAYFROM/DISPLAYTO), RFC 5032 (OLDER/YOUNGER), RFC 7162 §3.1.5
 * (MODSEQ), RFC 8474 (EMAILID/THREADID), RFC 8514 (SAVEDBEFORE/SAVEDON/SAVEDSINCE).
 *
 * Invariants:
 * - Every query is scoped to one mailbox of one account, checked first; a mailbox of another
 *   account answers NotFound, as a missing one does.
 * - All of one call runs on one read snapshot.
 * - Non-text keys are SQL; text keys are narrowed by the text index (migration 2: FTS5
 *   trigram on SQLite, pg_trgm GIN on PostgreSQL) and then tested exactly in JavaScript, so
 *   both engines give the same answers (search/text.ts, search/fold.ts).
 * - Dates compare by calendar day: INTERNALDATE and SAVEDATE are stored as instants and take
 *   their day in UTC; the sent date takes the day written in the Date header (search/sent.ts).
 */
import type { Context } from '../context.js';
import { NotFound } from '../errors.js';
import type { Queryable, Store } from '../../store/port.js';
import type { AddressList } from '../../mime/index.js';
import type { SearchKey, SortCriterion, ThreadAlgorithm, ThreadNode } from './search-types.js';
import { Compiler, containsJs, needsJs, readsMessages, type Sql } from './search/compile.js';
import { caseClasses, caseClassOf, isFtsSafe, isTrustedTarget } from './search/fold.js';
import { sortMeta, type MessageMeta } from './search/order.js';
import { sentUids } from './search/sent.js';
import { textCondition, textUids, type TextScope } from './search/text.js';
import { orderedSubject, referencesThreads } from './search/thread.js';
import { uidList } from './uid-list.js';

export type { MessageMeta } from './search/order.js';

/** Options of searchMessages. */
export interface SearchOptions {
  /** "Now" for OLDER/YOUNGER (RFC 5032); defaults to ctx.clock.now(). */
  nowMs?: number;
}

async function assertMailbox(q: Queryable, accountId: string, mailboxId: string): Promise<void> {
  const r = await q.get('SELECT 1 AS x FROM mailboxes WHERE id = ? AND account_id = ? AND deleted_at IS NULL', [mailboxId, accountId]);
  if (!r) throw new NotFound('no such mailbox');
}

function flattenAnd(key: SearchKey): SearchKey[] {
  return key.op === 'and' ? key.keys.flatMap(flattenAnd) : [key];
}

function collectJsKeys(key: SearchKey, out: SearchKey[] = []): SearchKey[] {
  if (key.op === 'and') for (const k of key.keys) collectJsKeys(k, out);
  else if (key.op === 'or') {
    collectJsKeys(key.a, out);
    collectJsKeys(key.b, out);
  } else if (key.op === 'not') collectJsKeys(key.key, out);
  else if (needsJs(key)) out.push(key);
  return out;
}

function usesStar(key: SearchKey): boolean {
  switch (key.op) {
    case 'and':
      return key.keys.some(usesStar);
    case 'or':
      return usesStar(key.a) || usesStar(key.b);
    case 'not':
      return usesStar(key.key);
    case 'uid':
      return key.ranges.some(([lo, hi]) => lo === Infinity || hi === Infinity);
    default:
      return false;
  }
}

// PostgreSQL folds by the database's LC_CTYPE, which varies by installation: which case
// classes its lower() folds as foldCase does is asked once per store (one query).
const pgTrusted = new WeakMap<Store, Set<string>>();

async function pgSafety(store: Store, q: Queryable): Promise<(c: string) => boolean> {
  let trusted = pgTrusted.get(store);
  if (!trusted) {
    const classes = [...caseClasses()].filter(([t]) => isTrustedTarget(t));
    const probe = classes.flatMap(([, members]) => members);
    const r = await q.get<{ l: string }>('SELECT lower(?) AS l', [probe.join('\n')]);
    const lowered = (r?.l ?? '').split('\n');
    trusted = new Set<string>();
    if (lowered.length === probe.length) {
      let i = 0;
      for (const [target, members] of classes) {
        const folds = new Set(lowered.slice(i, i + members.length));
        i += members.length;
        const [only] = folds;
        if (folds.size === 1 && only !== undefined && [...only].length === 1) trusted.add(target);
      }
    }
    pgTrusted.set(store, trusted);
  }
  const t = trusted;
  return (c) => {
    const target = caseClassOf(c);
    return target === undefined || t.has(target);
  };
}

/**
 * UIDs, ascending, of the messages in a mailbox that match a search key (RFC 9051 §6.4.4).
 * Throws NotFound when the mailbox is not the account's.
 */
export async function searchMessages(ctx: Context, accountId: string, mailboxId: string, key: SearchKey, opts: SearchOptions = {}): Promise<number[]> {
  const nowMs = opts.nowMs ?? ctx.clock.now();
  const dialect = ctx.store.dialect;
  return ctx.store.read(async (q) => {
    await assertMailbox(q, accountId, mailboxId);
    const isSafe = dialect === 'sqlite' ? isFtsSafe : await pgSafety(ctx.store, q);
    let maxUid: number | null = null;
    if (usesStar(key)) {
      const r = await q.get<{ m: number | null }>('SELECT max(uid) AS m FROM mailbox_messages WHERE mailbox_id = ?', [mailboxId]);
      maxUid = r?.m === null || r?.m === undefined ? null : Number(r.m);
    }
    // Keys needing JavaScript are evaluated first. Those that are conditions of the top-level
    // AND only look at messages that pass its other conditions (and the ones settled before).
    const jsUids = new Map<SearchKey, number[]>();
    const compiler = new Compiler(dialect, jsUids, maxUid, nowMs);
    const top = flattenAnd(key);
    const settled: SearchKey[] = top.filter((k) => !containsJs(k));
    const topJs = new Set(top.filter(needsJs));
    for (const k of collectJsKeys(key)) {
      if (jsUids.has(k)) continue;
      const restrict: Sql | null = topJs.has(k) && settled.length > 0 ? compiler.compile({ op: 'and', keys: settled }) : null;
      const scope: TextScope = { q, dialect, accountId, mailboxId, restrict, isSafe };
      const uids = k.op === 'date' ? await sentUids(scope, k) : k.op === 'text' || k.op === 'header' ? await textUids(scope, textCondition(k)) : [];
      jsUids.set(k, uids);
      if (topJs.has(k)) settled.push(k);
    }
    const where = compiler.compile(key);
    // The messages table only when a condition reads it (most keys are on mailbox_messages).
    const join = readsMessages(where.sql) ? ' JOIN messages m ON m.id = mm.message_id' : '';
    return uidList(q, {
      uid: 'mm.uid',
      from: `FROM mailbox_messages mm${join} WHERE mm.mailbox_id = ? AND mm.account_id = ? AND (${where.sql})`,
      params: [mailboxId, accountId, ...where.params],
    });
  });
}

/** UIDs per metadata query, below every engine's statement limits. */
const META_CHUNK = 500;

interface MetaRow {
  uid: number;
  received_at: number;
  sent_at: number | null;
  size: number;
  subject: string | null;
  base_subject: string | null;
  from_json: string | null;
  to_json: string | null;
  cc_json: string | null;
  message_id: string | null;
  in_reply_to_json: string | null;
  references_json: string | null;
}

function parseJson<T>(s: string | null, fallback: T): T {
  if (s === null || s === undefined) return fallback;
  return JSON.parse(s) as T;
}

/** Loads what SORT and THREAD need of the given UIDs of a mailbox (missing UIDs are skipped). */
async function loadMeta(ctx: Context, q: Queryable, mailboxId: string, uids: readonly number[]): Promise<MessageMeta[]> {
  // Only the few fields needed are taken out of the stored structure, in the engine.
  const cols =
    ctx.store.dialect === 'sqlite'
      ? `json_extract(m.structure, '$.envelope.subject') AS subject, json_extract(m.structure, '$.baseSubject') AS base_subject,
         json_extract(m.structure, '$.envelope.from') AS from_json, json_extract(m.structure, '$.envelope.to') AS to_json,
         json_extract(m.structure, '$.envelope.cc') AS cc_json, json_extract(m.structure, '$.messageId') AS message_id,
         json_extract(m.structure, '$.inReplyTo') AS in_reply_to_json, json_extract(m.structure, '$.references') AS references_json`
      : `j #>> '{envelope,subject}' AS subject, j ->> 'baseSubject' AS base_subject,
         CAST(j #> '{envelope,from}' AS text) AS from_json, CAST(j #> '{envelope,to}' AS text) AS to_json,
         CAST(j #> '{envelope,cc}' AS text) AS cc_json, j ->> 'messageId' AS message_id,
         CAST(j -> 'inReplyTo' AS text) AS in_reply_to_json, CAST(j -> 'references' AS text) AS references_json`;
  const from =
    ctx.store.dialect === 'sqlite'
      ? 'FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id'
      : 'FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id CROSS JOIN LATERAL (SELECT CAST(m.structure AS jsonb) AS j) x';
  const wanted = [...new Set(uids.filter((u) => Number.isSafeInteger(u) && u > 0))];
  const out: MessageMeta[] = [];
  for (let i = 0; i < wanted.length; i += META_CHUNK) {
    const part = wanted.slice(i, i + META_CHUNK);
    const rows = await q.all<MetaRow>(
      `SELECT mm.uid AS uid, m.received_at AS received_at, m.sent_at AS sent_at, mm.size AS size, ${cols} ${from}
       WHERE mm.mailbox_id = ? AND mm.uid IN (${part.join(',')})`,
      [mailboxId],
    );
    for (const r of rows) {
      out.push({
        uid: Number(r.uid),
        receivedAt: Number(r.received_at),
        sentAt: r.sent_at === null ? null : Number(r.sent_at),
        size: Number(r.size),
        subject: r.subject ?? null,
        baseSubject: r.base_subject ?? '',
        from: parseJson<AddressList | null>(r.from_json, null),
        to: parseJson<AddressList | null>(r.to_json, null),
        cc: parseJson<AddressList | null>(r.cc_json, null),
        messageId: r.message_id ?? null,
        inReplyTo: parseJson<string[]>(r.in_reply_to_json, []),
        references: parseJson<string[]>(r.references_json, []),
      });
    }
  }
  return out;
}

/**
 * Sorts UIDs of a mailbox by SORT criteria (RFC 5256 §3, RFC 5957 §4); UIDs not in the
 * mailbox are dropped. Ties fall back to ascending UID.
 */
export async function sortMessages(ctx: Context, accountId: string, mailboxId: string, uids: readonly number[], criteria: readonly SortCriterion[]): Promise<number[]> {
  const metas = await ctx.store.read(async (q) => {
    await assertMailbox(q, accountId, mailboxId);
    return loadMeta(ctx, q, mailboxId, uids);
  });
  return sortMeta(metas, criteria).map((m) => m.uid);
}

/** Threads UIDs of a mailbox by a THREAD algorithm (RFC 5256 §3); UIDs not in the mailbox are dropped. */
export async function threadMessages(ctx: Context, accountId: string, mailboxId: string, uids: readonly number[], algorithm: ThreadAlgorithm): Promise<ThreadNode[]> {
  const metas = await ctx.store.read(async (q) => {
    await assertMailbox(q, accountId, mailboxId);
    return loadMeta(ctx, q, mailboxId, uids);
  });
  return algorithm === 'orderedsubject' ? orderedSubject(metas) : referencesThreads(metas);
}
