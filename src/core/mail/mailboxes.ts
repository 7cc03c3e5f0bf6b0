/**
 * Mailboxes of an account: listing, lookup, creation, rename (with children; INBOX rename
 * moves its messages), deletion, subscriptions and counters (RFC 9051 §5.1 naming rules,
 * §6.3.3-6.3.8, §6.3.11).
 */
import { newId } from '../clock.js';
import { logChanges, nextModseq } from '../changes.js';
import type { Context } from '../context.js';
import { AlreadyExists, Forbidden, InvalidInput, NotFound } from '../errors.js';

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

/** A mailbox without its counters (cheap to read). */
export interface MailboxInfo {
  id: string;
  name: string;
  role: string | null;
  uidValidity: number;
  subscribed: boolean;
}

/** Finds a live mailbox by name (INBOX case-insensitive) without counting its messages, or undefined. */
export async function findMailbox(ctx: Context, accountId: string, name: string): Promise<MailboxInfo | undefined> {
  let canonical: string;
  try {
    canonical = validateMailboxName(name);
  } catch {
    // An invalid name names no mailbox; the caller answers "no such mailbox".
    return undefined;
  }
  const r = await ctx.store.read((q) =>
    q.get<{ id: string; name: string; role: string | null; uid_validity: number; subscribed: number }>(
      'SELECT id, name, role, uid_validity, subscribed FROM mailboxes WHERE account_id = ? AND name = ? AND deleted_at IS NULL',
      [accountId, canonical],
    ),
  );
  return r ? { id: r.id, name: r.name, role: r.role, uidValidity: Number(r.uid_validity), subscribed: Number(r.subscribed) === 1 } : undefined;
}

/** Counters of one mailbox (RFC 9051 §6.3.11 STATUS, RFC 8438 SIZE). */
export interface MailboxCounters {
  messages: number;
  unseen: number;
  deleted: number;
  sizeBytes: number;
  uidNext: number;
  uidValidity: number;
  highestModseq: number;
}

/** Reads a mailbox's counters in one snapshot. */
export async function mailboxCounters(ctx: Context, accountId: string, mailboxId: string): Promise<MailboxCounters> {
  return ctx.store.read(async (q) => {
    const m = await q.get<{ uid_next: number; uid_validity: number; highest_modseq: number }>(
      'SELECT uid_next, uid_validity, highest_modseq FROM mailboxes WHERE id = ? AND account_id = ? AND deleted_at IS NULL',
      [mailboxId, accountId],
    );
    if (!m) throw new NotFound('no such mailbox');
    const c = await q.get<{ n: number; bytes: number | null; unseen: number | null; deleted: number | null }>(
      `SELECT COUNT(*) AS n, SUM(size) AS bytes,
              SUM(CASE WHEN (' ' || flags || ' ') LIKE '% \\Seen %' ESCAPE '!' THEN 0 ELSE 1 END) AS unseen,
              SUM(CASE WHEN (' ' || flags || ' ') LIKE '% \\Deleted %' ESCAPE '!' THEN 1 ELSE 0 END) AS deleted
       FROM mailbox_messages WHERE mailbox_id = ?`,
      [mailboxId],
    );
    return {
      messages: Number(c?.n ?? 0),
      unseen: Number(c?.unseen ?? 0),
      deleted: Number(c?.deleted ?? 0),
      sizeBytes: Number(c?.bytes ?? 0),
      uidNext: Number(m.uid_next),
      uidValidity: Number(m.uid_validity),
      highestModseq: Number(m.highest_modseq),
    };
  });
}

/** Subscribes to or unsubscribes from a mailbox (RFC 9051 §6.3.7-6.3.8). */
export async function setSubscribed(ctx: Context, accountId: string, mailboxId: string, subscribed: boolean): Promise<void> {
  const now = ctx.clock.now();
  const modseq = await ctx.store.write(async (q) => {
    const r = await q.run('UPDATE mailboxes SET subscribed = ? WHERE id = ? AND account_id = ? AND deleted_at IS NULL', [subscribed ? 1 : 0, mailboxId, accountId]);
    if (r.changes === 0) throw new NotFound('no such mailbox');
    const modseq = await nextModseq(q, accountId);
    await logChanges(q, accountId, modseq, now, [{ type: 'mailbox', op: 'update', objectId: mailboxId }]);
    return modseq;
  });
  await ctx.bus.publish({ accountId, modseq, types: ['mailbox'], mailboxIds: [mailboxId] });
}

/**
 * Renames a mailbox and every mailbox below it (RFC 9051 §6.3.6). Renaming INBOX moves its
 * messages into a new mailbox of the new name and leaves INBOX in place, empty.
 */
export async function renameMailbox(ctx: Context, accountId: string, fromName: string, toName: string): Promise<void> {
  const from = validateMailboxName(fromName);
  const to = validateMailboxName(toName);
  if (to === 'INBOX') throw new AlreadyExists('INBOX exists');
  if (to === from) throw new AlreadyExists(`mailbox ${to} exists`);
  if (to.startsWith(from + HIERARCHY_SEPARATOR)) throw new InvalidInput('cannot rename a mailbox below itself');
  if (from === 'INBOX') {
    const inbox = await findMailbox(ctx, accountId, 'INBOX');
    if (!inbox) throw new NotFound('no such mailbox');
    const newId = await createMailbox(ctx, accountId, to);
    const { moveAllMessages } = await import('./copy.js');
    await moveAllMessages(ctx, accountId, inbox.id, newId);
    return;
  }
  const now = ctx.clock.now();
  const { modseq, ids } = await ctx.store.write(async (q) => {
    const rows = await q.all<{ id: string; name: string }>('SELECT id, name FROM mailboxes WHERE account_id = ? AND deleted_at IS NULL', [accountId]);
    const names = new Set(rows.map((r) => r.name));
    const moving = rows.filter((r) => r.name === from || r.name.startsWith(from + HIERARCHY_SEPARATOR));
    if (!moving.some((r) => r.name === from)) throw new NotFound('no such mailbox');
    const renamed = moving.map((r) => ({ id: r.id, name: to + r.name.slice(from.length) }));
    for (const r of renamed) {
      if (names.has(r.name)) throw new AlreadyExists(`mailbox ${r.name} exists`);
      validateMailboxName(r.name);
    }
    const modseq = await nextModseq(q, accountId);
    for (const r of renamed) await q.run('UPDATE mailboxes SET name = ? WHERE id = ?', [r.name, r.id]);
    await logChanges(q, accountId, modseq, now, renamed.map((r) => ({ type: 'mailbox' as const, op: 'update' as const, objectId: r.id })));
    return { modseq, ids: renamed.map((r) => r.id) };
  });
  await ctx.bus.publish({ accountId, modseq, types: ['mailbox'], mailboxIds: ids });
}

/**
 * Deletes a mailbox and expunges its messages (RFC 9051 §6.3.4). INBOX cannot be deleted;
 * mailboxes below it are kept (their names stay valid without a parent).
 */
export async function deleteMailbox(ctx: Context, accountId: string, mailboxId: string): Promise<void> {
  const now = ctx.clock.now();
  const modseq = await ctx.store.write(async (q) => {
    const mb = await q.get<{ name: string }>('SELECT name FROM mailboxes WHERE id = ? AND account_id = ? AND deleted_at IS NULL', [mailboxId, accountId]);
    if (!mb) throw new NotFound('no such mailbox');
    if (mb.name === 'INBOX') throw new Forbidden('INBOX cannot be deleted');
    const msgs = await q.all<{ uid: number; message_id: string; size: number }>('SELECT uid, message_id, size FROM mailbox_messages WHERE mailbox_id = ?', [mailboxId]);
    const modseq = await nextModseq(q, accountId);
    await q.run('DELETE FROM mailbox_messages WHERE mailbox_id = ?', [mailboxId]);
    for (const m of msgs) {
      await q.run('UPDATE messages SET deleted_at = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM mailbox_messages mm WHERE mm.message_id = messages.id)', [now, m.message_id]);
    }
    const freed = msgs.reduce((n, m) => n + Number(m.size), 0);
    if (freed) await q.run('UPDATE accounts SET used_bytes = used_bytes - ? WHERE id = ?', [freed, accountId]);
    await q.run('UPDATE mailboxes SET deleted_at = ?, role = NULL WHERE id = ?', [now, mailboxId]);
    await logChanges(q, accountId, modseq, now, [
      ...msgs.map((m) => ({ type: 'email' as const, op: 'expunge' as const, objectId: m.message_id, mailboxId, uid: Number(m.uid) })),
      { type: 'mailbox', op: 'destroy', objectId: mailboxId },
    ]);
    return modseq;
  });
  await ctx.bus.publish({ accountId, modseq, types: ['mailbox', 'email'], mailboxIds: [mailboxId] });
}
