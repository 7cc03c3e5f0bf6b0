/**
 * The per-account change log (DESIGN.md "One change log"). Every change to account data takes
 * the account's next modseq in the same transaction and writes one row per changed object.
 * IMAP CONDSTORE/QRESYNC, JMAP /changes, DAV sync tokens and push are views of these rows.
 */
import { NotFound } from './errors.js';
import type { Queryable } from '../store/port.js';

/** Kinds of object in the change log. */
export type ChangeType = 'account' | 'mailbox' | 'email' | 'thread' | 'calendar' | 'event' | 'addressbook' | 'card' | 'rule';
/** What happened to the object. */
export type ChangeOp = 'create' | 'update' | 'destroy' | 'expunge';

/** One change-log entry. */
export interface ChangeRow {
  type: ChangeType;
  op: ChangeOp;
  objectId: string;
  mailboxId?: string | null;
  uid?: number | null;
}

/**
 * Takes the account's next modseq. Its UPDATE also locks the account row, serialising
 * writers to one account on PostgreSQL (SQLite has one writer anyway).
 */
export async function nextModseq(q: Queryable, accountId: string): Promise<number> {
  const row = await q.get<{ modseq: number }>(
    'UPDATE accounts SET modseq = modseq + 1 WHERE id = ? AND deleted_at IS NULL RETURNING modseq',
    [accountId],
  );
  if (!row) throw new NotFound('no such account');
  return Number(row.modseq);
}

/** Writes change-log rows, all with one modseq. */
export async function logChanges(
  q: Queryable,
  accountId: string,
  modseq: number,
  nowMs: number,
  rows: readonly ChangeRow[],
): Promise<void> {
  for (const r of rows) {
    await q.run(
      'INSERT INTO changes (account_id, modseq, type, op, object_id, mailbox_id, uid, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [accountId, modseq, r.type, r.op, r.objectId, r.mailboxId ?? null, r.uid ?? null, nowMs],
    );
  }
}

/** Change-log rows of an account after a modseq, oldest first. */
export async function changesSince(
  q: Queryable,
  accountId: string,
  sinceModseq: number,
  limit = 10_000,
): Promise<Array<ChangeRow & { modseq: number }>> {
  const rows = await q.all<{ modseq: number; type: ChangeType; op: ChangeOp; object_id: string; mailbox_id: string | null; uid: number | null }>(
    'SELECT modseq, type, op, object_id, mailbox_id, uid FROM changes WHERE account_id = ? AND modseq > ? ORDER BY modseq, id LIMIT ?',
    [accountId, sinceModseq, limit],
  );
  return rows.map((r) => ({ modseq: Number(r.modseq), type: r.type, op: r.op, objectId: r.object_id, mailboxId: r.mailbox_id, uid: r.uid === null ? null : Number(r.uid) }));
}
