/**
 * Hands a built DSN to its recipient, the original sender: into the sender's INBOX when the
 * address is local, else into the outbound queue with the null reverse-path and marked as a
 * DSN (RFC 5321 §4.5.5, RFC 3461 §6.2), so that a DSN can never cause another DSN.
 */
import { resolveRecipient } from '../accounts/index.js';
import type { Context } from '../context.js';
import { storeMessage } from '../mail/store.js';
import { enqueue } from './store.js';

/** Delivers `dsn` to `to` (never the null path); resolves with where it went. */
export async function sendDsn(ctx: Context, dsn: Uint8Array, to: string): Promise<'local' | 'queued'> {
  const local = await resolveRecipient(ctx, to);
  if (local.length > 0) {
    const stored = await storeMessage(ctx, dsn, local.map((accountId) => ({ accountId, role: 'inbox' })));
    for (const o of stored) {
      // A sender whose own mailbox is full cannot get the report; nothing else can be done.
      if (!o.ok) ctx.log.warn({ event: 'queue.dsn.unstored', account: o.accountId, code: o.error.code }, 'a delivery status notification could not be stored');
    }
    return 'local';
  }
  await enqueue(ctx, { raw: dsn, mailFrom: '', recipients: [{ address: to }], isDsn: true });
  return 'queued';
}
