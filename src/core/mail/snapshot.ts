/**
 * What an IMAP session (or any client keeping a view of a mailbox) needs to stay in sync:
 * the mailbox's UIDs at one modseq, the changes after a modseq read from the change log
 * (RFC 7162 §3.1 CONDSTORE, §3.2 QRESYNC VANISHED), and per-message rows for FETCH.
 */
import type { Context } from '../context.js';
import { NotFound } from '../errors.js';
import type { Queryable } from '../../store/port.js';
import { parseStoredFlags, systemFlagSql, type SYSTEM_FLAGS } from './flags.js';
import { uidList } from './uid-list.js';
import type { ParsedMessage } from '../../mime/index.js';

/** The UIDs of a mailbox at one modseq, ascending. */
export interface MailboxSnapshot {
  uids: Uint32Array;
  highestModseq: number;
  uidNext: number;
  uidValidity: number;
}

async function mailboxHead(q: Queryable, accountId: string, mailboxId: string) {
  const m = await q.get<{ highest_modseq: number; uid_next: number; uid_validity: number }>(
    'SELECT highest_modseq, uid_next, uid_validity FROM mailboxes WHERE id = ? AND account_id = ? AND deleted_at IS NULL',
    [mailboxId, accountId],
  );
  if (!m) throw new NotFound('no such mailbox');
  return { highestModseq: Number(m.highest_modseq), uidNext: Number(m.uid_next), uidValidity: Number(m.uid_validity) };
}

/**
 * What this process last read of each mailbox, so that many sessions on one mailbox do not
 * each re-read it (one per context; no module-wide state across servers):
 * - `snapshots`: a mailbox's exact UID list at a modseq. A later snapshot is that list plus the
 *   change log since (UIDs only grow, so created UIDs go at the end), so SELECT reads the log,
 *   not every row. Bounded by the UIDs held (least recently used dropped first).
 * - `deltas`: the answer of mailboxChangesSince for (mailbox, since) at a head modseq. Every
 *   session woken by one change asks the same question; while the head has not moved, the
 *   answer is the same (a flag change moves the head too).
 * Entries are checked against the mailbox's head, read in the same snapshot, so they are never
 * served stale, also when another node changed the mailbox. Values are shared: never mutate.
 */
interface MailboxCaches {
  snapshots: Map<string, MailboxSnapshot>;
  snapshotUids: number;
  deltas: Map<string, MailboxDelta>;
}

/** Most UIDs held in cached snapshots per context (4 bytes each). */
const SNAPSHOT_CACHE_UIDS = 2_000_000;
/** Most cached change answers per context. */
const DELTA_CACHE_ENTRIES = 512;

const mailboxCaches = new WeakMap<Context, MailboxCaches>();

function cachesOf(ctx: Context): MailboxCaches {
  let c = mailboxCaches.get(ctx);
  if (!c) mailboxCaches.set(ctx, (c = { snapshots: new Map(), snapshotUids: 0, deltas: new Map() }));
  return c;
}

function keepSnapshot(c: MailboxCaches, mailboxId: string, snap: MailboxSnapshot): void {
  const old = c.snapshots.get(mailboxId);
  if (old) {
    c.snapshots.delete(mailboxId);
    c.snapshotUids -= old.uids.length;
  }
  c.snapshots.set(mailboxId, snap);
  c.snapshotUids += snap.uids.length;
  for (const [id, s] of c.snapshots) {
    if (c.snapshotUids <= SNAPSHOT_CACHE_UIDS || id === mailboxId) break;
    c.snapshots.delete(id);
    c.snapshotUids -= s.uids.length;
  }
}

/**
 * Reads every UID of a mailbox with the mailbox's highest modseq, in one snapshot. The array is
 * shared with other callers: never mutate it.
 */
export async function mailboxSnapshot(ctx: Context, accountId: string, mailboxId: string): Promise<MailboxSnapshot> {
  const caches = cachesOf(ctx);
  return ctx.store.read(async (q) => {
    const head = await mailboxHead(q, accountId, mailboxId);
    const known = caches.snapshots.get(mailboxId);
    if (known && known.uidValidity === head.uidValidity && known.highestModseq === head.highestModseq) {
      keepSnapshot(caches, mailboxId, known);
      return known;
    }
    let snap: MailboxSnapshot | null = null;
    if (known && known.uidValidity === head.uidValidity && known.highestModseq < head.highestModseq) {
      const delta = await readChanges(q, accountId, mailboxId, known.highestModseq, head);
      if (!delta.truncated) snap = { ...head, uids: applyChanges(known.uids, delta) };
    }
    snap ??= { ...head, uids: Uint32Array.from(await uidList(q, { uid: 'uid', from: 'FROM mailbox_messages WHERE mailbox_id = ?', params: [mailboxId] })) };
    keepSnapshot(caches, mailboxId, snap);
    return snap;
  });
}

/** A snapshot's UIDs with a delta applied: expunged ones out, created ones (all newer) appended. */
function applyChanges(uids: Uint32Array, delta: MailboxDelta): Uint32Array {
  const gone = new Set(delta.expunged);
  const last = uids.length > 0 ? uids[uids.length - 1]! : 0;
  const added = delta.created.filter((u) => u > last);
  const out = new Uint32Array(uids.length + added.length);
  let i = 0;
  for (const u of uids) if (!gone.has(u)) out[i++] = u;
  for (const u of added) out[i++] = u;
  return i === out.length ? out : out.slice(0, i);
}

/** Changes to one mailbox's messages after a modseq. */
export interface MailboxDelta {
  highestModseq: number;
  uidNext: number;
  /** UIDs added (may include ones expunged again since). */
  created: number[];
  /** UIDs whose flags changed and that still exist, with their flags and modseq now. */
  updated: Array<{ uid: number; flags: string[]; modseq: number }>;
  /** UIDs expunged. */
  expunged: number[];
  /** The log held more rows than the limit: the caller should reload the whole snapshot. */
  truncated: boolean;
}

/** Most change-log rows read for one delta before the caller is told to reload instead. */
const DELTA_LIMIT = 5000;

/**
 * Reads what changed in a mailbox after sinceModseq, from the change log. The answer may be
 * shared with other callers: never mutate it.
 */
export async function mailboxChangesSince(ctx: Context, accountId: string, mailboxId: string, sinceModseq: number): Promise<MailboxDelta> {
  const caches = cachesOf(ctx);
  return ctx.store.read(async (q) => {
    const head = await mailboxHead(q, accountId, mailboxId);
    const key = `${mailboxId}:${sinceModseq}`;
    const known = caches.deltas.get(key);
    if (known && known.highestModseq === head.highestModseq) return known;
    const delta = await readChanges(q, accountId, mailboxId, sinceModseq, head);
    if (!delta.truncated && delta.highestModseq > sinceModseq) {
      caches.deltas.delete(key);
      caches.deltas.set(key, delta);
      if (caches.deltas.size > DELTA_CACHE_ENTRIES) caches.deltas.delete(caches.deltas.keys().next().value!);
    }
    return delta;
  });
}

async function readChanges(q: Queryable, accountId: string, mailboxId: string, sinceModseq: number, head: { highestModseq: number; uidNext: number }): Promise<MailboxDelta> {
  const out: MailboxDelta = { highestModseq: head.highestModseq, uidNext: head.uidNext, created: [], updated: [], expunged: [], truncated: false };
  if (head.highestModseq <= sinceModseq) return out;
  const rows = await q.all<{ op: string; uid: number | null }>(
    "SELECT op, uid FROM changes WHERE mailbox_id = ? AND account_id = ? AND modseq > ? AND type = 'email' ORDER BY modseq, id LIMIT ?",
    [mailboxId, accountId, sinceModseq, DELTA_LIMIT + 1],
  );
  if (rows.length > DELTA_LIMIT) {
    out.truncated = true;
    return out;
  }
  const created = new Set<number>();
  const updated = new Set<number>();
  const expunged = new Set<number>();
  for (const r of rows) {
    if (r.uid === null) continue;
    const uid = Number(r.uid);
    if (r.op === 'create') created.add(uid);
    else if (r.op === 'update') updated.add(uid);
    else if (r.op === 'expunge' || r.op === 'destroy') expunged.add(uid);
  }
  out.created = [...created].filter((u) => !expunged.has(u)).sort((a, b) => a - b);
  out.expunged = [...expunged].sort((a, b) => a - b);
  const live = [...updated].filter((u) => !expunged.has(u));
  for (let i = 0; i < live.length; i += 500) {
    const part = live.slice(i, i + 500);
    const fr = await q.all<{ uid: number; flags: string; modseq: number }>(
      `SELECT uid, flags, modseq FROM mailbox_messages WHERE mailbox_id = ? AND uid IN (${part.map(() => '?').join(',')})`,
      [mailboxId, ...part],
    );
    for (const r of fr) out.updated.push({ uid: Number(r.uid), flags: parseStoredFlags(r.flags), modseq: Number(r.modseq) });
  }
  out.updated.sort((a, b) => a.uid - b.uid);
  return out;
}

/**
 * UIDs (ascending) of a mailbox's messages whose modseq is above `modseq`: added or changed
 * since (RFC 7162 §3.1.4.1 CHANGEDSINCE, §3.2.5.1 QRESYNC), found through the
 * (mailbox_id, modseq) index rather than by reading every message.
 */
export async function uidsChangedSince(ctx: Context, accountId: string, mailboxId: string, modseq: number): Promise<number[]> {
  return ctx.store.read((q) => uidList(q, { uid: 'uid', from: 'FROM mailbox_messages WHERE mailbox_id = ? AND modseq > ? AND account_id = ?', params: [mailboxId, modseq, accountId] }));
}

/** UIDs expunged from a mailbox after a modseq (RFC 7162 §3.2.5.1 VANISHED (EARLIER)). */
export async function expungedSince(ctx: Context, accountId: string, mailboxId: string, sinceModseq: number): Promise<number[]> {
  const rows = await ctx.store.read((q) =>
    q.all<{ uid: number }>(
      "SELECT DISTINCT uid FROM changes WHERE mailbox_id = ? AND account_id = ? AND modseq > ? AND type = 'email' AND op = 'expunge' AND uid IS NOT NULL ORDER BY uid",
      [mailboxId, accountId, sinceModseq],
    ),
  );
  return rows.map((r) => Number(r.uid));
}

/** One message in a mailbox, as FETCH reads it. */
export interface FetchRow {
  uid: number;
  emailId: string;
  threadId: string;
  blobId: string;
  size: number;
  flags: string[];
  modseq: number;
  receivedAt: number;
  savedAt: number;
  /**
   * The stored ParsedMessage (without search text), when asked for. Shared between commands
   * and sessions through a cache: read it, never change it.
   */
  message: ParsedMessage | null;
}

/** Most parsed structures kept per context (a few KiB each). */
const STRUCTURE_CACHE_ENTRIES = 4096;

/**
 * Parsed structures by email id and parser version, least recently used first. A message's
 * structure changes only when a re-parse raises its parse_version (reparse.ts), which changes
 * the key, so an entry is never stale. One per context (no module-wide state across servers).
 */
const structureCaches = new WeakMap<Context, Map<string, ParsedMessage>>();

function structureCache(ctx: Context): Map<string, ParsedMessage> {
  let c = structureCaches.get(ctx);
  if (!c) structureCaches.set(ctx, (c = new Map()));
  return c;
}

/** Reads FETCH rows for UIDs of a mailbox (missing UIDs are left out), in UID order. */
export async function fetchRows(ctx: Context, accountId: string, mailboxId: string, uids: readonly number[], withStructure: boolean): Promise<FetchRow[]> {
  const out: FetchRow[] = [];
  const cache = structureCache(ctx);
  await ctx.store.read(async (q) => {
    const missing: Array<{ row: FetchRow; key: string }> = [];
    for (let i = 0; i < uids.length; i += 500) {
      const part = uids.slice(i, i + 500);
      const rows = await q.all<{ uid: number; message_id: string; thread_id: string; blob_id: string; size: number; flags: string; modseq: number; received_at: number; saved_at: number; parse_version: number }>(
        `SELECT mm.uid, mm.message_id, m.thread_id, m.blob_id, mm.size, mm.flags, mm.modseq, m.received_at, mm.saved_at, m.parse_version
         FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id
         WHERE mm.mailbox_id = ? AND mm.account_id = ? AND mm.uid IN (${part.map(() => '?').join(',')})`,
        [mailboxId, accountId, ...part],
      );
      for (const r of rows) {
        const row: FetchRow = {
          uid: Number(r.uid),
          emailId: r.message_id,
          threadId: r.thread_id,
          blobId: r.blob_id,
          size: Number(r.size),
          flags: parseStoredFlags(r.flags),
          modseq: Number(r.modseq),
          receivedAt: Number(r.received_at),
          savedAt: Number(r.saved_at),
          message: null,
        };
        out.push(row);
        if (!withStructure) continue;
        const key = `${r.message_id}:${Number(r.parse_version)}`;
        const hit = cache.get(key);
        if (hit) {
          // Mark as recently used.
          cache.delete(key);
          cache.set(key, hit);
          row.message = hit;
        } else missing.push({ row, key });
      }
    }
    // Structures not cached: one more query in the same read transaction, so they match the rows.
    for (let i = 0; i < missing.length; i += 500) {
      const part = missing.slice(i, i + 500);
      const ids = [...new Set(part.map((m) => m.row.emailId))];
      // By primary key only: the ids come from this account's rows above, and a filter on
      // account_id lets SQLite's planner pick the account index and scan the whole account.
      const rows = await q.all<{ id: string; parse_version: number; structure: string }>(
        `SELECT id, parse_version, structure FROM messages WHERE id IN (${ids.map(() => '?').join(',')})`,
        ids,
      );
      const byKey = new Map<string, ParsedMessage>();
      for (const r of rows) byKey.set(`${r.id}:${Number(r.parse_version)}`, JSON.parse(r.structure) as ParsedMessage);
      for (const m of part) {
        const parsed = byKey.get(m.key);
        if (!parsed) continue;
        m.row.message = parsed;
        cache.set(m.key, parsed);
      }
    }
    while (cache.size > STRUCTURE_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  });
  return out.sort((a, b) => a.uid - b.uid);
}

/** The account's quota usage (RFC 9208 STORAGE, in bytes; quotaBytes 0 = unlimited). */
export async function accountQuota(ctx: Context, accountId: string): Promise<{ usedBytes: number; quotaBytes: number }> {
  const r = await ctx.store.read((q) => q.get<{ used_bytes: number; quota_bytes: number }>('SELECT used_bytes, quota_bytes FROM accounts WHERE id = ? AND deleted_at IS NULL', [accountId]));
  if (!r) throw new NotFound('no such account');
  return { usedBytes: Number(r.used_bytes), quotaBytes: Number(r.quota_bytes) };
}

/** The lowest UID without \Seen in a mailbox, or null (RFC 3501 §6.3.1 OK [UNSEEN]). */
export async function firstUnseenUid(ctx: Context, accountId: string, mailboxId: string): Promise<number | null> {
  const r = await ctx.store.read((q) =>
    // In UID order with LIMIT 1, so the scan stops at the first unseen message.
    q.get<{ uid: number | null }>(
      `SELECT uid FROM mailbox_messages WHERE mailbox_id = ? AND account_id = ? AND ${systemFlagSql('flags', '\\Seen', false)} ORDER BY uid LIMIT 1`,
      [mailboxId, accountId],
    ),
  );
  return r?.uid === null || r?.uid === undefined ? null : Number(r.uid);
}

/**
 * UIDs of a mailbox's messages that carry a flag (RFC 9051 §6.4.3: EXPUNGE removes those with
 * \Deleted), ascending; one indexed scan instead of reading every row of the mailbox.
 */
export async function uidsWithFlag(ctx: Context, accountId: string, mailboxId: string, flag: (typeof SYSTEM_FLAGS)[number]): Promise<number[]> {
  return ctx.store.read((q) =>
    uidList(q, { uid: 'uid', from: `FROM mailbox_messages WHERE mailbox_id = ? AND account_id = ? AND ${systemFlagSql('flags', flag, true)}`, params: [mailboxId, accountId] }),
  );
}
