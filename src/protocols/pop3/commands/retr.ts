/** RETR (RFC 1939 §5): the whole message, CRLF-normalised and byte-stuffed, streamed. */
import { openMaildropMessage } from '../../../core/mail/maildrop.js';
import type { Handler, Session, SessionMaildrop } from '../session.js';
import { MessageEncoder, ok, formatReply, TERMINATOR } from '../wire/responses.js';
import { messageAt } from './message.js';

/** RFC 1939 §5 RETR msg. */
export const retr: Handler<'RETR', 'transaction'> = async (s, state, cmd) => {
  await sendMessage(s, state.login.accountId, state.maildrop, cmd.msg, null);
}

/**
 * Sends a message as a multi-line response, header plus at most `bodyLines` body lines when
 * given (TOP). The message is checked before "+OK": one expunged by another session since
 * login answers -ERR (NotFound through the catch site). Once "+OK" is out, a failure can
 * only end the connection, since a multi-line response cannot be retracted.
 */
export async function sendMessage(s: Session, accountId: string, drop: SessionMaildrop, msg: number, bodyLines: number | null): Promise<void> {
  const found = messageAt(drop, msg);
  if (!found.ok) return s.reply(found.reply);
  const opened = await openMaildropMessage(s.services.deps.ctx, accountId, drop.mailboxId, found.message.uid);
  const encoder = new MessageEncoder(bodyLines);
  const iterator = opened.chunks[Symbol.asyncIterator]();
  // Read the first chunk before "+OK", so a vanished blob is still an -ERR.
  let next = await iterator.next();
  await s.write(formatReply(ok(bodyLines === null ? `${found.message.size} octets` : 'top of message follows')));
  try {
    while (!next.done && !encoder.isDone) {
      const out = encoder.push(next.value);
      if (out.length > 0) await s.write(out);
      if (encoder.isDone) break;
      next = await iterator.next();
    }
    await s.write(Buffer.concat([encoder.end(), TERMINATOR]));
  } catch (e) {
    // The catch site sees a destroyed stream and writes nothing after the partial body.
    s.log.warn({ event: 'pop3.retr.aborted', err: e instanceof Error ? e.message : String(e) }, 'message transfer broke off');
    s.abort();
    throw e;
  } finally {
    await iterator.return?.(undefined);
  }
}
