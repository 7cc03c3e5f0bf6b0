/** Message-number lookup shared by LIST, UIDL, RETR, TOP and DELE (RFC 1939 §5). */
import type { SessionMaildrop, SessionMessage } from '../session.js';
import { err, type Reply } from '../wire/responses.js';

/** The message with number `msg`, or the -ERR reply for a missing or deleted one. */
export function messageAt(drop: SessionMaildrop, msg: number): { ok: true; message: SessionMessage } | { ok: false; reply: Reply } {
  const message = drop.messages[msg - 1];
  if (!message) return { ok: false, reply: err('no such message') };
  // RFC 1939 §5: a message marked as deleted may not be referred to.
  if (drop.deleted.has(msg)) return { ok: false, reply: err(`message ${msg} already deleted`) };
  return { ok: true, message };
}

/** The unique-id of a message (RFC 1939 §7 UIDL): its email id, 1-70 octets of 0x21-0x7E. */
export function uniqueId(m: SessionMessage): string {
  return m.emailId;
}
