/**
 * A maildrop: the read-mostly view of one mailbox that download protocols (POP3) work on.
 * A snapshot is taken once (RFC 1939 §4: the maildrop is fixed for the session), and message
 * bytes are read back in bounded chunks so that a large message never sits whole in memory.
 * Deletions go through `expunge` in messages.ts, like every other protocol's.
 */
import type { Context } from '../context.js';
import { NotFound, Unavailable } from '../errors.js';

/** One message of a maildrop snapshot. */
export interface MaildropEntry {
  uid: number;
  /** The message's stable id (shared with IMAP OBJECTID and JMAP). */
  emailId: string;
  /** The content-addressed blob holding its raw bytes. */
  blobId: string;
  /** Stored size in octets. */
  size: number;
}

/** A snapshot of a mailbox, in UID order. */
export interface Maildrop {
  mailboxId: string;
  uidValidity: number;
  entries: MaildropEntry[];
}

/** Default size of one chunk read from a blob. */
export const MAILDROP_CHUNK_BYTES = 64 * 1024;

/** Takes a snapshot of the account's mailbox with `role` (default the inbox), in UID order. */
export async function openMaildrop(ctx: Context, accountId: string, role = 'inbox'): Promise<Maildrop> {
  return ctx.store.read(async (q) => {
    const mb = await q.get<{ id: string; uid_validity: number }>(
      'SELECT id, uid_validity FROM mailboxes WHERE account_id = ? AND role = ? AND deleted_at IS NULL',
      [accountId, role],
    );
    if (!mb) throw new NotFound('no such mailbox');
    const rows = await q.all<{ uid: number; message_id: string; blob_id: string; size: number }>(
      `SELECT mm.uid, mm.message_id, m.blob_id, mm.size FROM mailbox_messages mm
       JOIN messages m ON m.id = mm.message_id
       WHERE mm.mailbox_id = ? ORDER BY mm.uid`,
      [mb.id],
    );
    return {
      mailboxId: mb.id,
      uidValidity: Number(mb.uid_validity),
      entries: rows.map((r) => ({ uid: Number(r.uid), emailId: r.message_id, blobId: r.blob_id, size: Number(r.size) })),
    };
  });
}

/** The raw bytes of a blob as bounded chunks; throws Unavailable if the blob vanished mid-read. */
export async function* blobChunks(ctx: Context, blobId: string, size: number, chunkBytes = MAILDROP_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < size; at += chunkBytes) {
    const chunk = await ctx.blobs.getRange(blobId, at, Math.min(size, at + chunkBytes));
    if (!chunk) throw new Unavailable('message content is not available');
    if (chunk.byteLength === 0) return;
    yield chunk;
  }
}

/**
 * Opens a message of a maildrop for reading, after checking that it is still in the mailbox
 * (another session may have expunged it since the snapshot): throws NotFound if not.
 */
export async function openMaildropMessage(ctx: Context, accountId: string, mailboxId: string, uid: number): Promise<{ size: number; chunks: AsyncGenerator<Uint8Array> }> {
  const row = await ctx.store.read((q) =>
    q.get<{ blob_id: string; size: number }>(
      `SELECT m.blob_id, mm.size FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id
       WHERE mm.mailbox_id = ? AND mm.uid = ? AND mm.account_id = ?`,
      [mailboxId, uid, accountId],
    ),
  );
  if (!row) throw new NotFound('no such message');
  if (!(await ctx.blobs.has(row.blob_id))) throw new Unavailable('message content is not available');
  const size = Number(row.size);
  return { size, chunks: blobChunks(ctx, row.blob_id, size) };
}
