/**
 * The queue's rows (migration 3): enqueue, claim, per-recipient results, listing and the
 * admin actions. Enqueue is durable before it resolves: blob fsynced first, then one
 * committed transaction for the message row, its recipients and the blob reference.
 */
import { newId } from '../clock.js';
import type { Context } from '../context.js';
import { InvalidInput, NotFound } from '../errors.js';
import { addBlobRefs } from '../mail/store.js';
import type { Queryable } from '../../store/port.js';

/** DSN NOTIFY of one recipient (RFC 3461 §4.1); null = default (FAILURE). */
export type Notify = 'NEVER' | Array<'SUCCESS' | 'FAILURE' | 'DELAY'> | null;

/** A recipient to queue. */
export interface QueueRecipientInput {
  address: string;
  notify?: Notify;
  /** RFC 3461 §4.2 ORCPT as given (type;xtext). */
  orcpt?: string | null;
}

/** What enqueue takes. */
export interface EnqueueInput {
  raw: Uint8Array;
  /** MAIL FROM; "" for the null reverse-path (DSNs). */
  mailFrom: string;
  recipients: QueueRecipientInput[];
  /** The submitting account, for limits and `queue list`. */
  accountId?: string | null;
  envid?: string | null;
  ret?: 'FULL' | 'HDRS' | null;
  isDsn?: boolean;
}

/** Status of a queued recipient. */
export type RecipientStatus = 'pending' | 'delivered' | 'failed';

/** A queued recipient as listed. */
export interface QueuedRecipient {
  address: string;
  domain: string;
  status: RecipientStatus;
  notify: Notify;
  orcpt: string | null;
  lastReply: string | null;
  remoteMta: string | null;
  lastAttemptAt: number | null;
}

/** A queued message as listed. */
export interface QueuedMessage {
  id: string;
  blobId: string;
  size: number;
  mailFrom: string;
  accountId: string | null;
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  isDsn: boolean;
  createdAt: number;
  nextAttemptAt: number;
  attempts: number;
  isDelayNotified: boolean;
  recipients: QueuedRecipient[];
}

interface MessageRow {
  id: string;
  blob_id: string;
  size: number;
  mail_from: string;
  account_id: string | null;
  envid: string | null;
  ret: string | null;
  is_dsn: number;
  created_at: number;
  next_attempt_at: number;
  attempts: number;
  delay_notified: number;
}

interface RecipientRow {
  message_id: string;
  address: string;
  domain: string;
  status: RecipientStatus;
  notify: string | null;
  orcpt: string | null;
  last_reply: string | null;
  remote_mta: string | null;
  last_attempt_at: number | null;
}

function toNotify(s: string | null): Notify {
  if (!s) return null;
  if (s === 'NEVER') return 'NEVER';
  return s.split(',') as Array<'SUCCESS' | 'FAILURE' | 'DELAY'>;
}

function toMessage(m: MessageRow, rs: RecipientRow[]): QueuedMessage {
  return {
    id: m.id,
    blobId: m.blob_id,
    size: Number(m.size),
    mailFrom: m.mail_from,
    accountId: m.account_id,
    envid: m.envid,
    ret: (m.ret as 'FULL' | 'HDRS' | null) ?? null,
    isDsn: Number(m.is_dsn) === 1,
    createdAt: Number(m.created_at),
    nextAttemptAt: Number(m.next_attempt_at),
    attempts: Number(m.attempts),
    isDelayNotified: Number(m.delay_notified) === 1,
    recipients: rs.map((r) => ({
      address: r.address,
      domain: r.domain,
      status: r.status,
      notify: toNotify(r.notify),
      orcpt: r.orcpt,
      lastReply: r.last_reply,
      remoteMta: r.remote_mta,
      lastAttemptAt: r.last_attempt_at === null ? null : Number(r.last_attempt_at),
    })),
  };
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) throw new InvalidInput(`not an address: ${address}`);
  return address.slice(at + 1).toLowerCase();
}

/** Queues a message; resolves once blob, rows and blob reference are durable. Returns its id. */
export async function enqueue(ctx: Context, input: EnqueueInput): Promise<string> {
  if (input.recipients.length === 0) throw new InvalidInput('no recipients');
  const blob = await ctx.blobs.put(input.raw);
  const id = newId('q');
  const now = ctx.clock.now();
  await ctx.store.write(async (q) => {
    await q.run('INSERT INTO blobs (id, size, refcount, created_at, zero_since) VALUES (?, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING', [blob.id, blob.size, now, now]);
    await addBlobRefs(q, blob.id, 1);
    await q.run(
      `INSERT INTO queue_messages (id, blob_id, size, mail_from, account_id, envid, ret, is_dsn, created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, blob.id, blob.size, input.mailFrom, input.accountId ?? null, input.envid ?? null, input.ret ?? null, input.isDsn ? 1 : 0, now, now],
    );
    const seen = new Set<string>();
    for (const r of input.recipients) {
      if (seen.has(r.address)) continue;
      seen.add(r.address);
      const notify = r.notify ? (r.notify === 'NEVER' ? 'NEVER' : r.notify.join(',')) : null;
      await q.run('INSERT INTO queue_recipients (message_id, address, domain, orcpt, notify, status) VALUES (?, ?, ?, ?, ?, ?)', [
        id,
        r.address,
        domainOf(r.address),
        r.orcpt ?? null,
        notify,
        'pending',
      ]);
    }
  });
  return id;
}

async function load(q: Queryable, id: string): Promise<QueuedMessage | undefined> {
  const m = await q.get<MessageRow>('SELECT * FROM queue_messages WHERE id = ?', [id]);
  if (!m) return undefined;
  const rs = await q.all<RecipientRow>('SELECT * FROM queue_recipients WHERE message_id = ? ORDER BY address', [id]);
  return toMessage(m, rs);
}

/** Every queued message, oldest first. */
export async function listQueue(ctx: Context): Promise<QueuedMessage[]> {
  return ctx.store.read(async (q) => {
    const ms = await q.all<MessageRow>('SELECT * FROM queue_messages ORDER BY created_at, id');
    const rs = await q.all<RecipientRow>('SELECT * FROM queue_recipients ORDER BY address');
    return ms.map((m) => toMessage(m, rs.filter((r) => r.message_id === m.id)));
  });
}

/** One queued message. */
export async function getQueued(ctx: Context, id: string): Promise<QueuedMessage> {
  const m = await ctx.store.read((q) => load(q, id));
  if (!m) throw new NotFound(`no queued message ${id}`);
  return m;
}

/** Makes a queued message due now (clears any claim). */
export async function retryQueued(ctx: Context, id: string): Promise<void> {
  const r = await ctx.store.write((q) => q.run('UPDATE queue_messages SET next_attempt_at = ?, claimed_until = 0 WHERE id = ?', [ctx.clock.now(), id]));
  if (r.changes === 0) throw new NotFound(`no queued message ${id}`);
}

/** Removes a queued message without notice; its blob reference is released. */
export async function deleteQueued(ctx: Context, id: string): Promise<void> {
  const ok = await ctx.store.write((q) => removeIn(q, id, ctx.clock.now()));
  if (!ok) throw new NotFound(`no queued message ${id}`);
}

/** Deletes the rows of a message and drops its blob reference; false when it was gone. */
export async function removeIn(q: Queryable, id: string, now: number): Promise<boolean> {
  const m = await q.get<{ blob_id: string }>('SELECT blob_id FROM queue_messages WHERE id = ?', [id]);
  if (!m) return false;
  await q.run('DELETE FROM queue_recipients WHERE message_id = ?', [id]);
  await q.run('DELETE FROM queue_messages WHERE id = ?', [id]);
  await q.run('UPDATE blobs SET refcount = refcount - 1, zero_since = CASE WHEN refcount - 1 <= 0 THEN ? ELSE zero_since END WHERE id = ?', [now, m.blob_id]);
  return true;
}

/**
 * Claims up to `limit` due messages for this node until `now + leaseMs`. The conditional
 * UPDATE (claimed_until < now) is what keeps two nodes from sending the same message.
 */
export async function claimDue(ctx: Context, nodeId: string, limit: number, leaseMs: number): Promise<QueuedMessage[]> {
  const now = ctx.clock.now();
  const candidates = await ctx.store.read((q) =>
    q.all<{ id: string }>('SELECT id FROM queue_messages WHERE next_attempt_at <= ? AND claimed_until < ? ORDER BY next_attempt_at LIMIT ?', [now, now, limit]),
  );
  const claimed: QueuedMessage[] = [];
  for (const c of candidates) {
    const m = await ctx.store.write(async (q) => {
      const r = await q.run('UPDATE queue_messages SET claimed_until = ?, claimed_by = ? WHERE id = ? AND claimed_until < ? AND next_attempt_at <= ?', [
        now + leaseMs,
        nodeId,
        c.id,
        now,
        now,
      ]);
      return r.changes === 1 ? load(q, c.id) : undefined;
    });
    if (m) claimed.push(m);
  }
  return claimed;
}

/** One recipient's result of an attempt. */
export interface RecipientResult {
  address: string;
  status: RecipientStatus | 'deferred';
  reply: string;
  remoteMta: string | null;
}

/** Records an attempt: recipient results, then either reschedules or removes the message. */
export async function recordAttempt(
  ctx: Context,
  id: string,
  results: readonly RecipientResult[],
  next: { nextAttemptAt: number | null; delayNotified?: boolean },
): Promise<void> {
  const now = ctx.clock.now();
  await ctx.store.write(async (q) => {
    for (const r of results) {
      await q.run('UPDATE queue_recipients SET status = ?, last_reply = ?, remote_mta = ?, last_attempt_at = ? WHERE message_id = ? AND address = ?', [
        r.status === 'deferred' ? 'pending' : r.status,
        r.reply.slice(0, 1000),
        r.remoteMta,
        now,
        id,
        r.address,
      ]);
    }
    if (next.nextAttemptAt === null) {
      await removeIn(q, id, now);
    } else {
      await q.run('UPDATE queue_messages SET attempts = attempts + 1, next_attempt_at = ?, claimed_until = 0, delay_notified = CASE WHEN ? = 1 THEN 1 ELSE delay_notified END WHERE id = ?', [
        next.nextAttemptAt,
        next.delayNotified ? 1 : 0,
        id,
      ]);
    }
  });
}
