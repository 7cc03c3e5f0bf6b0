/**
 * The one mapping from errors to POP3 replies (STYLE.md "Errors"): core errors become -ERR
 * with RFC 2449 §8 / RFC 3206 response codes; anything unexpected becomes a generic
 * [SYS/TEMP] reply with an id the admin can find in the log.
 */
import { randomBytes } from 'node:crypto';
import { AuthFailed, CoreError } from '../../core/errors.js';
import { err, RESP_CODE, type Reply } from './wire/responses.js';

/** How the catch site answers an error. */
export interface ErrorOutcome {
  reply: Reply;
  /** Wait this long before answering (AuthFailed.delayMs). */
  delayMs: number;
  /** Log level of the event. */
  level: 'info' | 'warn' | 'error';
  /** For unexpected errors: the id quoted to the client and logged. */
  incidentId?: string;
}

/** Maps any error thrown by a handler to its reply. */
export function replyForError(e: unknown): ErrorOutcome {
  if (e instanceof CoreError) {
    switch (e.code) {
      case 'AuthFailed':
        // RFC 3206 §5: [AUTH] says the credentials are at fault, not the server.
        return { reply: err('authentication failed', RESP_CODE.auth), delayMs: e instanceof AuthFailed ? e.delayMs : 0, level: 'info' };
      case 'InUse':
        // RFC 2449 §8.1.2.
        return { reply: err(e.message, RESP_CODE.inUse), delayMs: 0, level: 'info' };
      case 'Unavailable':
        // RFC 3206 §4.
        return { reply: err(e.message, RESP_CODE.sysTemp), delayMs: 0, level: 'warn' };
      case 'NotFound':
        // "Does not exist" and "not yours" answer alike (STYLE.md); e.g. expunged by IMAP since login.
        return { reply: err('no such message'), delayMs: 0, level: 'info' };
      case 'Forbidden':
      case 'OverQuota':
      case 'TooLarge':
      case 'InvalidInput':
      case 'AlreadyExists':
        return { reply: err(e.message, RESP_CODE.sysPerm), delayMs: 0, level: 'info' };
    }
  }
  const incidentId = randomBytes(6).toString('hex');
  return { reply: err(`internal error (ref ${incidentId})`, RESP_CODE.sysTemp), delayMs: 0, level: 'error', incidentId };
}
