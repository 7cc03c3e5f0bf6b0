/**
 * Core errors -> tagged NO with RFC 5530 response codes: the one mapping at the IMAP edge.
 * Anything that is not a CoreError becomes NO [SERVERBUG] with an id the admin finds in the log.
 */
import { randomBytes } from 'node:crypto';
import { CoreError } from '../../core/errors.js';

/** RFC 5530 §3 and RFC 9051 §7.1 response codes used by handlers. */
export const CODE = {
  /** RFC 9051 §7.1: the mailbox does not exist. */
  NONEXISTENT: 'NONEXISTENT',
  /** RFC 5530 §3: the name exists already. */
  ALREADYEXISTS: 'ALREADYEXISTS',
  /** RFC 9208 §4.3 / RFC 5530: over quota. */
  OVERQUOTA: 'OVERQUOTA',
  /** RFC 5530: the request is too large. */
  TOOBIG: 'TOOBIG',
  /** RFC 5530: a server limit was reached. */
  LIMIT: 'LIMIT',
  /** RFC 5530: permission denied. */
  NOPERM: 'NOPERM',
  /** RFC 5530: the object is in use. */
  INUSE: 'INUSE',
  /** RFC 5530: temporary failure. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** RFC 5530: the credentials were wrong. */
  AUTHENTICATIONFAILED: 'AUTHENTICATIONFAILED',
  /** RFC 5530: the command cannot be done (e.g. bad value). */
  CANNOT: 'CANNOT',
  /** RFC 5530: an internal error. */
  SERVERBUG: 'SERVERBUG',
  /** RFC 5530: the client did something it should not. */
  CLIENTBUG: 'CLIENTBUG',
  /** RFC 9051 §7.1: the target mailbox must be created first. */
  TRYCREATE: 'TRYCREATE',
  /** RFC 9051 §7.1: the charset is not supported. */
  BADCHARSET: 'BADCHARSET (US-ASCII UTF-8)',
  /** RFC 9051 §7.1: privacy required (no TLS yet). */
  PRIVACYREQUIRED: 'PRIVACYREQUIRED',
  /** RFC 9051 §7.1. */
  READONLY: 'READ-ONLY',
  READWRITE: 'READ-WRITE',
  /** RFC 7162 §3.2.10: a QRESYNC resync point is gone. */
  CLOSED: 'CLOSED',
  /** RFC 9051 §7.1 EXPUNGEISSUED. */
  EXPUNGEISSUED: 'EXPUNGEISSUED',
} as const;

/** A NO reply. */
export interface NoReply {
  code: string | null;
  text: string;
  /** Set for unexpected errors: the id logged beside the stack. */
  errorId?: string;
}

/** Maps an error thrown by core (or anything else) to a NO reply. */
export function toNo(e: unknown, missingMailboxCode: string = CODE.NONEXISTENT): NoReply {
  if (e instanceof CoreError) {
    switch (e.code) {
      case 'NotFound':
        return { code: missingMailboxCode, text: e.message };
      case 'AlreadyExists':
        return { code: CODE.ALREADYEXISTS, text: e.message };
      case 'Forbidden':
        return { code: CODE.NOPERM, text: e.message };
      case 'OverQuota':
        return { code: CODE.OVERQUOTA, text: e.message };
      case 'InUse':
        return { code: CODE.INUSE, text: e.message };
      case 'TooLarge':
        return { code: CODE.TOOBIG, text: e.message };
      case 'InvalidInput':
        return { code: CODE.CANNOT, text: e.message };
      case 'Unavailable':
        return { code: CODE.UNAVAILABLE, text: e.message };
      case 'AuthFailed':
        return { code: CODE.AUTHENTICATIONFAILED, text: 'authentication failed' };
    }
  }
  const errorId = randomBytes(6).toString('hex');
  return { code: CODE.SERVERBUG, text: `internal error, id ${errorId}`, errorId };
}
