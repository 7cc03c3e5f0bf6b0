/**
 * Core errors → SMTP replies, in one place (STYLE.md "Errors"). Unexpected errors become a
 * temporary local error with an id the admin finds in the log; nothing internal reaches the
 * client.
 */
import { randomBytes } from 'node:crypto';
import { CoreError } from '../../core/errors.js';
import type { Logger } from '../../core/context.js';
import { reply, type Reply } from './wire/replies.js';

/** The reply for an error thrown while handling a command. */
export function replyForError(e: unknown, log: Logger, where: string): Reply {
  if (e instanceof CoreError) {
    switch (e.code) {
      case 'NotFound':
        return reply(550, '5.1.1', 'No such user here');
      case 'Forbidden':
        return reply(553, '5.7.1', e.message);
      case 'OverQuota':
        // RFC 3463 4.2.2 mailbox full: temporary, the sender retries (RFC 5321 §4.2.5 452/552).
        return reply(452, '4.2.2', 'Mailbox full');
      case 'TooLarge':
        return reply(552, '5.3.4', 'Message too large');
      case 'InvalidInput':
        return reply(554, '5.6.0', 'Message content rejected');
      case 'Unavailable':
        return reply(451, '4.3.0', 'Temporary failure, try again later');
      case 'AuthFailed':
        return reply(535, '5.7.8', 'Authentication credentials invalid');
      case 'AlreadyExists':
      case 'InUse':
        return reply(451, '4.3.0', 'Temporary failure, try again later');
    }
  }
  const errorId = randomBytes(4).toString('hex');
  log.error({ event: 'smtp.internal_error', where, errorId, err: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined }, 'internal error');
  return reply(451, '4.3.0', `Local error in processing (error id ${errorId})`);
}
