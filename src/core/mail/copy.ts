/**
 * COPY and MOVE between mailboxes of one account (RFC 9051 §6.4.7, RFC 6851 MOVE, RFC 4315
 * COPYUID): one transaction, one modseq. A copy adds one more reference to each message and
 * is charged to the quota (all or nothing, [OVERQUOTA]); a move is not charged, and removes
 * the source rows in the same transaction so no observer sees a message in both or neither.
 */
import { logChanges, nextModseq, type ChangeRow } from '../changes.js';
import type { Context } from '../context.js';
import { InvalidInput, NotFound } from '../errors.js';
import { chargeQuota, takeUid } from './store.js';

/** Result of a copy or move: the target's UIDVALIDITY and source -> target UID pairs. */
export interface CopyResult {
  uidValidity: number;
  pairs: Array<[source: number, target: number]>;
  modseq: number;
}

/** Copies (or moves) messages by UID from one mailbox to another. */
export async function copyMessages(ctx: Context, accountId: string, fromId: string, uids: readonly number[], toId: string, move: boolean): Promise<CopyResult> {
  const now = ctx.clock.now();
  const res = await ctx.store.write(async (q) => {
    const target = await q.get<{ uid_validity: number }>('SELECT uid_validity FROM mailboxes WHERE id = ? AND account_id = ? AND deleted_at IS NULL', [toId, accountId]);
    const source = await q.get('SELECT 1 AS x FROM mailboxes WHERE id = ? AND account_id = ? AND deleted_at IS NULL', [fromId, accountId]);
    if (!target || !source) throw new NotFound('no such mailbox');
    if (move && fromId === toId) throw new InvalidInput('cannot move a message to the mailbox it is in');
    const rows: Array<{ uid: number; message_id: string; size: number; flags: string }> = [];
    const sorted = [...uids].sort((a, b) => a - b);
    for (let i = 0; i < sorted.length; i += 500) {
      const part = sorted.slice(i, i + 500);
      rows.push(
        ...(await q.all<{ uid: number; message_id: string; size: number; flags: string }>(
          `SELECT uid, message_id, size, flags FROM mailbox_messages WHERE mailbox_id = ? AND uid IN (${part.map(() => '?').join(',')}) ORDER BY uid`,
          [fromId, ...part],
        )),
      );
    }
    rows.sort((a, b) => Number(a.uid) - Number(b.uid));
    if (rows.length === 0) return { uidValidity: Number(target.uid_validity), pairs: [], modseq: 0 };
    if (!move) await chargeQuota(q, accountId, rows.reduce((n, r) => n + Number(r.size), 0));
    const modseq = await nextModseq(q, accountId);
    const pairs: Array<[number, number]> = [];
    const changes: ChangeRow[] = [];
    for (const r of rows) {
      const uid = await takeUid(q, toId, modseq);
      await q.run(
        'INSERT INTO mailbox_messages (mailbox_id, uid, message_id, account_id, size, modseq, flags, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [toId, uid, r.message_id, accountId, Number(r.size), modseq, r.flags, now],
      );
      pairs.push([Number(r.uid), uid]);
      changes.push({ type: 'email', op: 'create', objectId: r.message_id, mailboxId: toId, uid });
      if (move) {
        await q.run('DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?', [fromId, Number(r.uid)]);
        changes.push({ type: 'email', op: 'expunge', objectId: r.message_id, mailboxId: fromId, uid: Number(r.uid) });
      }
    }
    if (move) await q.run('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?', [modseq, fromId]);
    await logChanges(q, accountId, modseq, now, changes);
    return { uidValidity: Number(target.uid_validity), pairs, modseq };
  });
  if (res.modseq) await ctx.bus.publish({ accountId, modseq: res.modseq, types: ['email', 'mailbox'], mailboxIds: move ? [fromId, toId] : [toId] });
  return res;
}

/** Moves every message of a mailbox into another (INBOX rename, RFC 9051 §6.3.6). */
export async function moveAllMessages(ctx: Context, accountId: string, fromId: string, toId: string): Promise<void> {
  const rows = await ctx.store.read((q) => q.all<{ uid: number }>('SELECT uid FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid', [fromId]));
  if (rows.length > 0) await copyMessages(ctx, accountId, fromId, rows.map((r) => Number(r.uid)), toId, true);
}
