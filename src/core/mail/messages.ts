/**
 * Reading and changing stored messages: listing a mailbox, flag changes (RFC 9051 §6.4.6,
 * with CONDSTORE's UNCHANGEDSINCE, RFC 7162 §3.1.3) and expunge (RFC 9051 §6.4.3).
 * Every change takes one modseq per call for all messages it touches.
 */
import { logChanges, nextModseq } from '../changes.js';
import type { Context } from '../context.js';
import { NotFound } from '../errors.js';
import type { Queryable, SqlValue } from '../../store/port.js';
import { applyFlags, parseStoredFlags, type FlagMode } from './flags.js';

/** One message as seen in one mailbox. */
export interface MailboxMessage {
  uid: number;
  emailId: string;
  modseq: number;
  flags: string[];
  size: number;
  savedAt: number;
}

/** Rows per IN (...) list, below every engine's parameter limit. */
const CHUNK = 500;

function chunks<T>(xs: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
}

async function mailboxOf(q: Queryable, accountId: string, mailboxId: string): Promise<void> {
  const r = await q.get('SELECT 1 AS x FROM mailboxes WHERE id = ? AND account_id = ? AND deleted_at IS NULL', [mailboxId, accountId]);
  if (!r) throw new NotFound('no such mailbox');
}

/** Every message in a mailbox, in UID order. */
export async function listMessages(ctx: Context, accountId: string, mailboxId: string): Promise<MailboxMessage[]> {
  return ctx.store.read(async (q) => {
    await mailboxOf(q, accountId, mailboxId);
    const rows = await q.all<{ uid: number; message_id: string; modseq: number; flags: string; size: number; saved_at: number }>(
      'SELECT uid, message_id, modseq, flags, size, saved_at FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid',
      [mailboxId],
    );
    return rows.map((r) => ({ uid: Number(r.uid), emailId: r.message_id, modseq: Number(r.modseq), flags: parseStoredFlags(r.flags), size: Number(r.size), savedAt: Number(r.saved_at) }));
  });
}

/** A stored message's blob and parsed structure. */
export interface StoredEmail {
  id: string;
  blobId: string;
  size: number;
  receivedAt: number;
  threadId: string;
  parseVersion: number;
  structure: unknown;
}

/** Reads one message of an account. */
export async function getEmail(ctx: Context, accountId: string, emailId: string): Promise<StoredEmail> {
  const r = await ctx.store.read((q) =>
    q.get<{ id: string; blob_id: string; size: number; received_at: number; thread_id: string; parse_version: number; structure: string }>(
      'SELECT id, blob_id, size, received_at, thread_id, parse_version, structure FROM messages WHERE id = ? AND account_id = ? AND deleted_at IS NULL',
      [emailId, accountId],
    ),
  );
  if (!r) throw new NotFound('no such message');
  return { id: r.id, blobId: r.blob_id, size: Number(r.size), receivedAt: Number(r.received_at), threadId: r.thread_id, parseVersion: Number(r.parse_version), structure: JSON.parse(r.structure) as unknown };
}

/** Result of a flag change. */
export interface FlagResult {
  modseq: number;
  changed: Array<{ uid: number; flags: string[] }>;
  /** UIDs whose modseq was above UNCHANGEDSINCE (RFC 7162 §3.1.3: the MODIFIED set). */
  modified: number[];
  /**
   * Every named message that exists and is not in `modified`, with its flags and modseq as
   * this change left them, by UID: what STORE reports without reading the rows again.
   */
  state: Map<number, { flags: string[]; modseq: number }>;
}

/** Changes flags of messages by UID. */
export async function setFlags(
  ctx: Context,
  accountId: string,
  mailboxId: string,
  uids: readonly number[],
  mode: FlagMode,
  flags: readonly string[],
  unchangedSince?: number,
): Promise<FlagResult> {
  const now = ctx.clock.now();
  const result = await ctx.store.write(async (q) => {
    await mailboxOf(q, accountId, mailboxId);
    const res: FlagResult = { modseq: 0, changed: [], modified: [], state: new Map() };
    const updates: Array<{ uid: number; messageId: string; stored: string }> = [];
    for (const part of chunks(uids)) {
      const rows = await q.all<{ uid: number; message_id: string; modseq: number; flags: string }>(
        `SELECT uid, message_id, modseq, flags FROM mailbox_messages WHERE mailbox_id = ? AND uid IN (${part.map(() => '?').join(',')})`,
        [mailboxId, ...part],
      );
      for (const r of rows) {
        if (unchangedSince !== undefined && Number(r.modseq) > unchangedSince) {
          res.modified.push(Number(r.uid));
          continue;
        }
        const next = applyFlags(r.flags, mode, flags);
        if (next !== r.flags) updates.push({ uid: Number(r.uid), messageId: r.message_id, stored: next });
        else res.state.set(Number(r.uid), { flags: parseStoredFlags(r.flags), modseq: Number(r.modseq) });
      }
    }
    if (updates.length === 0) return res;
    res.modseq = await nextModseq(q, accountId);
    for (const u of updates) {
      await q.run('UPDATE mailbox_messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?', [u.stored, res.modseq, mailboxId, u.uid]);
      const after = parseStoredFlags(u.stored);
      res.changed.push({ uid: u.uid, flags: after });
      res.state.set(u.uid, { flags: after, modseq: res.modseq });
    }
    await q.run('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?', [res.modseq, mailboxId]);
    await logChanges(q, accountId, res.modseq, now, updates.map((u) => ({ type: 'email' as const, op: 'update' as const, objectId: u.messageId, mailboxId, uid: u.uid })));
    return res;
  });
  if (result.modseq) await ctx.bus.publish({ accountId, modseq: result.modseq, types: ['email'], mailboxIds: [mailboxId] });
  return result;
}

/**
 * Removes messages from a mailbox. A message left in no mailbox is soft-deleted: kept for
 * the retention period, then removed by the garbage collector.
 */
export async function expunge(ctx: Context, accountId: string, mailboxId: string, uids: readonly number[]): Promise<{ modseq: number; expunged: number[] }> {
  const now = ctx.clock.now();
  const result = await ctx.store.write(async (q) => {
    await mailboxOf(q, accountId, mailboxId);
    const found: Array<{ uid: number; message_id: string; size: number }> = [];
    for (const part of chunks(uids)) {
      found.push(
        ...(await q.all<{ uid: number; message_id: string; size: number }>(
          `SELECT uid, message_id, size FROM mailbox_messages WHERE mailbox_id = ? AND uid IN (${part.map(() => '?').join(',')})`,
          [mailboxId, ...part],
        )),
      );
    }
    if (found.length === 0) return { modseq: 0, expunged: [] as number[] };
    const modseq = await nextModseq(q, accountId);
    let freed = 0;
    for (const part of chunks(found)) {
      const params: SqlValue[] = [mailboxId, ...part.map((f) => Number(f.uid))];
      await q.run(`DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid IN (${part.map(() => '?').join(',')})`, params);
    }
    for (const f of found) freed += Number(f.size);
    const messageIds = [...new Set(found.map((f) => f.message_id))];
    for (const part of chunks(messageIds)) {
      // Messages in no mailbox any more are soft-deleted.
      await q.run(
        `UPDATE messages SET deleted_at = ? WHERE id IN (${part.map(() => '?').join(',')})
         AND NOT EXISTS (SELECT 1 FROM mailbox_messages mm WHERE mm.message_id = messages.id)`,
        [now, ...part],
      );
    }
    await q.run('UPDATE accounts SET used_bytes = used_bytes - ? WHERE id = ?', [freed, accountId]);
    await q.run('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?', [modseq, mailboxId]);
    const expunged = found.map((f) => Number(f.uid)).sort((a, b) => a - b);
    await logChanges(q, accountId, modseq, now, found.map((f) => ({ type: 'email' as const, op: 'expunge' as const, objectId: f.message_id, mailboxId, uid: Number(f.uid) })));
    return { modseq, expunged };
  });
  if (result.modseq) await ctx.bus.publish({ accountId, modseq: result.modseq, types: ['email', 'mailbox'], mailboxIds: [mailboxId] });
  return result;
}
