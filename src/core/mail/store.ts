/**
 * Storing messages into mailboxes: delivery (SMTP, LMTP) and APPEND (IMAP, JMAP) share this
 * one path.
 *
 * Order (DESIGN.md "Durable before acknowledged"): blob write + fsync + folder fsync, then
 * one transaction for the metadata of every target (quota, modseq, UID, change log, blob
 * reference), then the caller acknowledges. The message is parsed once, here, and what FETCH
 * and search need is stored beside it (DESIGN.md "Parse once").
 *
 * Quota usage counts every mailbox copy of a message (as COPY must be refused over quota);
 * the check-and-add is one conditional UPDATE, so it stays exact with concurrent writers.
 */
import { newId } from '../clock.js';
import { logChanges, nextModseq } from '../changes.js';
import type { Context } from '../context.js';
import { CoreError, InvalidInput, NotFound, OverQuota, TooLarge } from '../errors.js';
import type { Queryable } from '../../store/port.js';
import { MIME_PARSER_VERSION, parseMessage, type ParsedMessage } from '../../mime/index.js';
import { normaliseFlags } from './flags.js';

/** Where one copy of a message goes. */
export interface StoreTarget {
  accountId: string;
  /** A mailbox id; when absent, the account's mailbox with `role` (default inbox). */
  mailboxId?: string;
  role?: string;
  flags?: readonly string[];
}

/** What happened for one target. */
export type StoreOutcome =
  | { ok: true; accountId: string; mailboxId: string; uid: number; emailId: string; threadId: string; modseq: number; uidValidity: number }
  | { ok: false; accountId: string; error: CoreError };

/** Options of storeMessage. */
export interface StoreOptions {
  /** INTERNALDATE; defaults to now. */
  receivedAt?: number;
}

/** Longest search text kept per message (headers and body each). */
export const MAX_SEARCH_CHARS = 256 * 1024;

/**
 * Stores one raw message into each target. Each target succeeds or fails on its own (a full
 * mailbox does not stop the others); every success is durable when this resolves.
 */
export async function storeMessage(ctx: Context, raw: Uint8Array, targets: readonly StoreTarget[], opts: StoreOptions = {}): Promise<StoreOutcome[]> {
  if (raw.byteLength > ctx.settings.maxMessageBytes) throw new TooLarge(`message exceeds ${ctx.settings.maxMessageBytes} bytes`);
  if (raw.byteLength === 0) throw new InvalidInput('empty message');
  // The parse (CPU) runs while the blob's writes and fsyncs are in flight; the metadata
  // transaction still starts only after the blob is durable.
  const putting = ctx.blobs.put(raw);
  let parsed: ParsedMessage;
  try {
    parsed = parseMessage(raw);
  } catch (e) {
    await putting;
    throw e;
  }
  const blob = await putting;
  // Accounts are locked in one global order so that two multi-recipient deliveries cannot
  // deadlock on PostgreSQL; outcomes are returned in the caller's order.
  const order = targets.map((_, i) => i).sort((a, b) => (targets[a]!.accountId < targets[b]!.accountId ? -1 : targets[a]!.accountId > targets[b]!.accountId ? 1 : a - b));
  const sorted = order.map((i) => targets[i]!);
  const inOrder = await ctx.store.write((q) => storeParsed(q, ctx.clock.now(), blob, parsed, sorted, opts));
  const outcomes: StoreOutcome[] = new Array(targets.length);
  order.forEach((orig, k) => (outcomes[orig] = inOrder[k]!));
  await announce(ctx, outcomes);
  return outcomes;
}

/** Publishes committed outcomes on the bus. */
async function announce(ctx: Context, outcomes: readonly StoreOutcome[]): Promise<void> {
  for (const o of outcomes) {
    if (o.ok) await ctx.bus.publish({ accountId: o.accountId, modseq: o.modseq, types: ['email', 'mailbox'], mailboxIds: [o.mailboxId] });
  }
}

interface MailboxRow {
  id: string;
  uid_validity: number;
}

/** The metadata half of storeMessage; runs inside one write transaction. */
async function storeParsed(
  q: Queryable,
  now: number,
  blob: { id: string; size: number },
  parsed: ParsedMessage,
  targets: readonly StoreTarget[],
  opts: StoreOptions,
): Promise<StoreOutcome[]> {
  const out: StoreOutcome[] = [];
  const receivedAt = opts.receivedAt ?? now;
  const { searchText, ...structure } = parsed;
  const structureJson = JSON.stringify(structure);
  const headersText = searchText.headers.slice(0, MAX_SEARCH_CHARS);
  const bodyText = searchText.body.slice(0, MAX_SEARCH_CHARS);
  let refs = 0;
  // The blob row exists before any message points at it; a row left at zero references
  // (every target failed) is already past its zero_since for the collector.
  await q.run('INSERT INTO blobs (id, size, refcount, created_at, zero_since) VALUES (?, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING', [blob.id, blob.size, now, now]);
  for (const t of targets) {
    // Every CoreError for a target is thrown before its first write (the mailbox lookup and
    // the conditional quota UPDATE), so a failed target leaves nothing behind.
    try {
      const mb = t.mailboxId
        ? await q.get<MailboxRow>('SELECT id, uid_validity FROM mailboxes WHERE id = ? AND account_id = ? AND deleted_at IS NULL', [t.mailboxId, t.accountId])
        : await q.get<MailboxRow>('SELECT id, uid_validity FROM mailboxes WHERE account_id = ? AND role = ? AND deleted_at IS NULL', [t.accountId, t.role ?? 'inbox']);
      if (!mb) throw new NotFound('no such mailbox');
      await chargeQuota(q, t.accountId, blob.size);
      const modseq = await nextModseq(q, t.accountId);
      const threadId = await assignThread(q, t.accountId, parsed);
      const emailId = newId('e');
      await q.run(
        `INSERT INTO messages (id, account_id, blob_id, size, received_at, sent_at, thread_id, parse_version, structure, created_modseq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [emailId, t.accountId, blob.id, blob.size, receivedAt, parsed.sentAt, threadId, MIME_PARSER_VERSION, structureJson, modseq],
      );
      await q.run('INSERT INTO message_search (message_id, account_id, headers, body) VALUES (?, ?, ?, ?)', [emailId, t.accountId, headersText, bodyText]);
      const uid = await takeUid(q, mb.id, modseq);
      await q.run(
        'INSERT INTO mailbox_messages (mailbox_id, uid, message_id, account_id, size, modseq, flags, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [mb.id, uid, emailId, t.accountId, blob.size, modseq, normaliseFlags(t.flags ?? []), now],
      );
      await logChanges(q, t.accountId, modseq, now, [
        { type: 'email', op: 'create', objectId: emailId, mailboxId: mb.id, uid },
        { type: 'thread', op: 'update', objectId: threadId },
      ]);
      refs++;
      out.push({ ok: true, accountId: t.accountId, mailboxId: mb.id, uid, emailId, threadId, modseq, uidValidity: Number(mb.uid_validity) });
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      out.push({ ok: false, accountId: t.accountId, error: e });
    }
  }
  if (refs > 0) await addBlobRefs(q, blob.id, refs);
  return out;
}

/** Adds bytes to an account's usage, or throws OverQuota; exact under concurrent writers. */
export async function chargeQuota(q: Queryable, accountId: string, bytes: number): Promise<void> {
  const r = await q.run(
    'UPDATE accounts SET used_bytes = used_bytes + ? WHERE id = ? AND deleted_at IS NULL AND (quota_bytes = 0 OR used_bytes + ? <= quota_bytes)',
    [bytes, accountId, bytes],
  );
  if (r.changes === 0) {
    const acc = await q.get('SELECT 1 AS x FROM accounts WHERE id = ? AND deleted_at IS NULL', [accountId]);
    if (!acc) throw new NotFound('no such account');
    throw new OverQuota('the mailbox is over its storage quota');
  }
}

/** Takes the next UID of a mailbox and records the mailbox's new highest modseq. */
export async function takeUid(q: Queryable, mailboxId: string, modseq: number): Promise<number> {
  const r = await q.get<{ uid: number }>(
    'UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = ? WHERE id = ? RETURNING uid_next - 1 AS uid',
    [modseq, mailboxId],
  );
  if (!r) throw new NotFound('no such mailbox');
  return Number(r.uid);
}

/** Adds references to a blob whose row exists. */
export async function addBlobRefs(q: Queryable, blobId: string, n: number): Promise<void> {
  await q.run('UPDATE blobs SET refcount = refcount + ?, zero_since = NULL WHERE id = ?', [n, blobId]);
}

/**
 * Picks the thread of a message: the thread of any message it references (or that shares
 * its Message-ID), else a new one; then records its own Message-ID under that thread.
 * Matching by references only, as JMAP recommends (RFC 8621 §3), so unrelated mail with the
 * same subject is never merged.
 */
async function assignThread(q: Queryable, accountId: string, parsed: ParsedMessage): Promise<string> {
  const ids = [...new Set([parsed.messageId, ...parsed.inReplyTo, ...parsed.references].filter((x): x is string => !!x))].slice(0, 100);
  let threadId: string | undefined;
  for (const id of ids) {
    const r = await q.get<{ thread_id: string }>('SELECT thread_id FROM thread_refs WHERE account_id = ? AND msgid = ?', [accountId, id]);
    if (r) {
      threadId = r.thread_id;
      break;
    }
  }
  threadId ??= newId('t');
  for (const id of ids) {
    await q.run('INSERT INTO thread_refs (account_id, msgid, thread_id) VALUES (?, ?, ?) ON CONFLICT (account_id, msgid) DO NOTHING', [accountId, id, threadId]);
  }
  return threadId;
}
