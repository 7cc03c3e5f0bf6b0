/**
 * SMTP replies as data (RFC 5321 §4.2) with enhanced status codes (RFC 3463, RFC 2034 §3),
 * and their wire form. Every reply a handler sends is one of these named values or made by
 * `reply()` from a named code.
 */

/** A reply: three-digit code, enhanced status code (or null), text lines. */
export interface Reply {
  code: number;
  enhanced: string | null;
  lines: string[];
}

/** Makes a reply. */
export function reply(code: number, enhanced: string | null, ...lines: string[]): Reply {
  return { code, enhanced, lines: lines.length ? lines : [''] };
}

/**
 * The wire form: multi-line replies use "code-" on every line but the last (RFC 5321 §4.2.1);
 * the enhanced code is repeated on each line (RFC 2034 §4). CR and LF inside texts are
 * replaced so no text can forge a reply line.
 */
export function formatReply(r: Reply, isEnhanced = true): string {
  const prefix = isEnhanced && r.enhanced ? `${r.enhanced} ` : '';
  return r.lines
    .map((l, i) => `${r.code}${i === r.lines.length - 1 ? ' ' : '-'}${prefix}${l.replace(/[\r\n]/g, ' ')}`.trimEnd())
    .join('\r\n')
    .concat('\r\n');
}

// RFC 5321 §4.2.2 codes, named. RFC 3463 enhanced codes beside them.
/** 221 closing (RFC 5321 §4.2.2). */
export const BYE = reply(221, '2.0.0', 'Bye');
/** 250 after NOOP/RSET. */
export const OK = reply(250, '2.0.0', 'OK');
/** 354 start input (RFC 5321 §4.1.1.4). */
export const START_DATA = reply(354, null, 'End data with <CR><LF>.<CR><LF>');
/** 220 ready for TLS (RFC 3207 §4). */
export const READY_TLS = reply(220, '2.0.0', 'Ready to start TLS');
/** 500 line too long (RFC 5321 §4.5.3.1.4; RFC 3463 5.5.6 is no code of its own there, used as Postfix and Exim do for "too long"). */
export const LINE_TOO_LONG = reply(500, '5.5.6', 'Line too long');
/** 500 unknown command (RFC 5321 §4.2.4). */
export const UNKNOWN_COMMAND = reply(500, '5.5.1', 'Command unrecognized');
/** 502 not implemented (RFC 5321 §4.2.4). */
export const NOT_IMPLEMENTED = reply(502, '5.5.1', 'Command not implemented');
/** 503 bad sequence (RFC 5321 §4.1.4). */
export const BAD_SEQUENCE = reply(503, '5.5.1', 'Bad sequence of commands');
/** 554 early talker: client spoke before the greeting (RFC 5321 §4.3.1, §3.1). */
export const EARLY_TALKER = reply(554, '5.5.0', 'Protocol error: client spoke before the greeting');
/** 421 too many connections (RFC 5321 §3.8). */
export const TOO_MANY_CONNECTIONS = reply(421, '4.7.0', 'Too many connections from your address');
/** 421 idle timeout (RFC 5321 §4.5.3.2.7, §3.8). */
export const IDLE_TIMEOUT = reply(421, '4.4.2', 'Idle timeout, closing connection');
/** 421 session too long. */
export const SESSION_TIMEOUT = reply(421, '4.4.2', 'Session time limit reached, closing connection');
/** 421 shutting down (RFC 5321 §3.8). */
export const SHUTTING_DOWN = reply(421, '4.3.2', 'Service shutting down');
/** 452 too many recipients (RFC 5321 §4.5.3.1.10, RFC 3463 5.5.3 → 4.5.3). */
export const TOO_MANY_RECIPIENTS = reply(452, '4.5.3', 'Too many recipients');
/** 552 message too large (RFC 1870 §6.1, RFC 3463 5.3.4). */
export const MESSAGE_TOO_LARGE = reply(552, '5.3.4', 'Message size exceeds fixed maximum message size');
/** 552 header too large. */
export const HEADER_TOO_LARGE = reply(552, '5.3.4', 'Message header exceeds maximum header size');
/**
 * Bare CR or LF in DATA: RFC 5321 §2.3.8 and §4.1.1.4 allow CR and LF only as CRLF. Like
 * Postfix (smtpd_forbid_bare_newline = yes, since 3.8.4) we answer 521 5.5.2 and disconnect,
 * so the rest of the data can never be read as commands or a second message.
 */
export const BARE_LF = reply(521, '5.5.2', 'Error: bare <LF> received');
/** Bare CR in DATA (as BARE_LF). */
export const BARE_CR = reply(521, '5.5.2', 'Error: bare <CR> received');
/** 550 unknown recipient (RFC 3463 5.1.1). */
export const NO_SUCH_USER = reply(550, '5.1.1', 'No such user here');
/** 550 relaying denied (RFC 5321 §3.6.2, RFC 3463 5.7.1). */
export const RELAY_DENIED = reply(550, '5.7.1', 'Relaying denied');
/** 530 STARTTLS first (RFC 3207 §4). */
export const TLS_REQUIRED = reply(530, '5.7.0', 'Must issue a STARTTLS command first');
/** 530 authentication required (RFC 4954 §6). */
export const AUTH_REQUIRED = reply(530, '5.7.0', 'Authentication required');
/** 535 bad credentials (RFC 4954 §6). */
export const AUTH_FAILED = reply(535, '5.7.8', 'Authentication credentials invalid');
/** 235 authenticated (RFC 4954 §6). */
export const AUTH_OK = reply(235, '2.7.0', 'Authentication successful');
/** 501 authentication cancelled (RFC 4954 §4). */
export const AUTH_CANCELLED = reply(501, '5.7.0', 'Authentication cancelled');
/** 504 unknown mechanism (RFC 4954 §4). */
export const AUTH_MECHANISM = reply(504, '5.5.4', 'Unrecognized authentication type');
/** 553 sender not owned (RFC 3463 5.7.1). */
export const SENDER_NOT_OWNED = reply(553, '5.7.1', 'Sender address not owned by the authenticated user');
/** 550 DMARC reject (RFC 7489 §6.6.3, §7.3 suggests 5.7.1). */
export const DMARC_REJECT = reply(550, '5.7.1', 'Rejected by the sender domain DMARC policy');
/** 451 local error (RFC 5321 §4.2.3). */
export const LOCAL_ERROR = reply(451, '4.3.0', 'Local error in processing, try again later');
/** 450 rate limit (RFC 3463 X.7.0 other security or policy status). */
export const RATE_LIMITED = reply(450, '4.7.0', 'Sending rate limit reached, try again later');
/** 554 no valid recipients (RFC 5321 §3.3). */
export const NO_VALID_RECIPIENTS = reply(554, '5.5.1', 'No valid recipients');
/** 500 NUL in command. */
export const NUL_IN_COMMAND = reply(500, '5.5.2', 'NUL character in command');
/** 500 8-bit in command (RFC 6531 §3.3). */
export const EIGHT_BIT_COMMAND = reply(500, '5.5.2', '8-bit characters not allowed here');
/** 555 unknown parameter (RFC 5321 §4.1.1.11). */
export const BAD_PARAMETER = reply(555, '5.5.4', 'Parameter not recognized or malformed');
/** 501 syntax error in parameters or arguments. */
export const SYNTAX_ARGS = reply(501, '5.5.4', 'Syntax error in parameters or arguments');
/** 501 bad address syntax (RFC 3463 5.1.3). */
export const BAD_ADDRESS = reply(501, '5.1.3', 'Bad address syntax');
/** 553 UTF-8 address without SMTPUTF8 (RFC 6531 §3.7.4.1, 5.6.7). */
export const NEEDS_SMTPUTF8 = reply(553, '5.6.7', 'Address needs SMTPUTF8');
/** 252 VRFY not verified (RFC 5321 §3.5.3). */
export const CANNOT_VRFY = reply(252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery');
/** 553 From header not owned (RFC 6409 §8.1, RFC 3463 5.7.1). */
export const FROM_NOT_OWNED = reply(553, '5.7.1', 'From header address not owned by the authenticated user');
/** 550 refused by a delivery policy stage. */
export const POLICY_REJECT = reply(550, '5.7.1', 'Message rejected by policy');
