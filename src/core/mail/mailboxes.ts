/** Mailboxes of an account: listing, lookup and creation (RFC 9051 §5.1 naming rules). */
import { newId } from '../clock.js';
import { logChanges, nextModseq } from '../changes.js';
import type { Context } from '../context.js';
import { AlreadyExists, InvalidInput } from '../errors.js';

/** A mailbox with its counters. */
export interface Mailbox {
  id: string;
  accountId: string;
  name: string;
  role: string | null;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  subscribed: boolean;
  messages: number;
  sizeBytes: number;
}

/** The hierarchy separator (RFC 9051 §5.1.1). */
export const HIERARCHY_SEPARATOR = '/';

/** Lists an account's mailboxes with message counts. */
export async function listMailboxes(ctx: Context, accountId: string): Promise<Mailbox[]> {
  const rows = await ctx.store.read((q) =>
    q.all<{ id: string; name: string; role: string | null; uid_validity: number; uid_next: number; highest_modseq: number; subscribed: number; n: number; bytes: number | null }>(
      `SELECT m.id, m.name, m.role, m.uid_validity, m.uid_next, m.highest_modseq, m.subscribed,
              (SELECT COUNT(*) FROM mailbox_messages mm WHERE mm.mailbox_id = m.id) AS n,
              (SELECT SUM(size) FROM mailbox_messages mm WHERE mm.mailbox_id = m.id) AS bytes
       FROM mailboxes m WHERE m.account_id = ? AND m.deleted_at IS NULL ORDER BY m.name`,
      [accountId],
    ),
  );
  return rows.map((r) => ({
    id: r.id,
    accountId,
    name: r.name,
    role: r.role,
    uidValidity: Number(r.uid_validity),
    uidNext: Number(r.uid_next),
    highestModseq: Number(r.highest_modseq),
    subscribed: r.subscribed === 1,
    messages: Number(r.n),
    sizeBytes: Number(r.bytes ?? 0),
  }));
}

/** Validates a mailbox name: no empty levels, no control characters, bounded length. */
export function validateMailboxName(name: string): string {
  const n = name.normalize('NFC');
  if (n.length === 0 || n.length > 1000) throw new InvalidInput('mailbox name must be 1 to 1000 characters');
  if (/[\x00-\x1f\x7f]/.test(n)) throw new InvalidInput('mailbox name contains control characters');
  if (n.split(HIERARCHY_SEPARATOR).some((level) => level.length === 0)) throw new InvalidInput('mailbox name has an empty level');
  if (n.split(HIERARCHY_SEPARATOR).length > 32) throw new InvalidInput('mailbox hierarchy is too deep');
  // INBOX is case-insensitive (RFC 9051 §5.1).
  return n.toUpperCase() === 'INBOX' ? 'INBOX' : n.replace(/^inbox\//i, 'INBOX/');
}

/** Creates a mailbox (a special-use role optional, RFC 6154 §3). */
export async function createMailbox(ctx: Context, accountId: string, name: string, role: string | null = null): Promise<string> {
  const canonical = validateMailboxName(name);
  const now = ctx.clock.now();
  const id = newId('m');
  const modseq = await ctx.store.write(async (q) => {
    if (await q.get('SELECT 1 AS x FROM mailboxes WHERE account_id = ? AND name = ? AND deleted_at IS NULL', [accountId, canonical])) {
      throw new AlreadyExists(`mailbox ${canonical} exists`);
    }
    if (role && (await q.get('SELECT 1 AS x FROM mailboxes WHERE account_id = ? AND role = ? AND deleted_at IS NULL', [accountId, role]))) {
      throw new AlreadyExists(`a mailbox with role ${role} exists`);
    }
    const modseq = await nextModseq(q, accountId);
    await q.run(
      'INSERT INTO mailboxes (id, account_id, name, role, uid_validity, uid_next, highest_modseq, subscribed, created_at) VALUES (?, ?, ?, ?, ?, 1, ?, 1, ?)',
      [id, accountId, canonical, role, Math.floor(now / 1000) >>> 0, modseq, now],
    );
    await logChanges(q, accountId, modseq, now, [{ type: 'mailbox', op: 'create', objectId: id }]);
    return modseq;
  });
  await ctx.bus.publish({ accountId, modseq, types: ['mailbox'], mailboxIds: [id] });
  return id;
}
