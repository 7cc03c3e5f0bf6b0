/**
 * POP3 command syntax: one line (without its CRLF) to a typed command (RFC 1939 §3,
 * RFC 2449 §3: `keyword *(SP param)`, keywords case-insensitive). Pure: no I/O, never throws.
 * `formatCommand` is its inverse, for clients in tests and the round-trip property.
 */

/** The verbs this server implements. APOP and LAST are deliberately absent (RFC 1939 §7, RFC 1725). */
export const VERBS = ['CAPA', 'USER', 'PASS', 'AUTH', 'STLS', 'STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'RSET', 'NOOP', 'QUIT'] as const;

/** A verb this server implements. */
export type Verb = (typeof VERBS)[number];

/** A parsed command. */
export type Command =
  | { verb: 'CAPA' | 'STLS' | 'STAT' | 'RSET' | 'NOOP' | 'QUIT' }
  | { verb: 'USER'; name: string }
  | { verb: 'PASS'; password: string }
  /** `mechanism` absent: list the mechanisms (RFC 1734 §2). `initialResponse` is raw base64 or "=". */
  | { verb: 'AUTH'; mechanism?: string; initialResponse?: string }
  | { verb: 'LIST' | 'UIDL'; msg?: number }
  | { verb: 'RETR' | 'DELE'; msg: number }
  | { verb: 'TOP'; msg: number; lines: number };

/** Result of parsing one line. */
export type ParseResult = { ok: true; command: Command } | { ok: false; verb: string | null; error: string };

/** Largest message number or line count accepted (ten digits fit a double exactly). */
const MAX_NUMBER_DIGITS = 10;

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Parses one command line (without CRLF). */
export function parseCommand(line: Uint8Array): ParseResult {
  const text = decoder.decode(line);
  const sp = text.indexOf(' ');
  const keyword = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
  const rest = sp < 0 ? null : text.slice(sp + 1);
  // RFC 2449 §3: keywords are 3 or 4 printable ASCII characters.
  if (!/^[A-Z]{3,4}$/.test(keyword)) return { ok: false, verb: null, error: 'unknown command' };
  if (!(VERBS as readonly string[]).includes(keyword)) return { ok: false, verb: keyword, error: 'unknown command' };
  const verb = keyword as Verb;
  const fail = (error: string): ParseResult => ({ ok: false, verb, error });
  switch (verb) {
    case 'CAPA':
    case 'STLS':
    case 'STAT':
    case 'RSET':
    case 'NOOP':
    case 'QUIT':
      if (rest !== null && rest.trim() !== '') return fail(`${verb} takes no arguments`);
      return { ok: true, command: { verb } };
    case 'USER': {
      // RFC 1939 §7: a mailbox name; ours are addresses, which hold no spaces.
      const name = rest?.trimEnd() ?? '';
      if (name === '' || /[\s]/.test(name) || hasControl(name)) return fail('USER needs one name');
      return { ok: true, command: { verb, name } };
    }
    case 'PASS': {
      // RFC 1939 §7: the rest of the line is the password, so it may hold spaces.
      if (rest === null || rest === '' || hasControl(rest)) return fail('PASS needs a password');
      return { ok: true, command: { verb, password: rest } };
    }
    case 'AUTH': {
      const args = splitArgs(rest);
      if (args === null || args.length > 2) return fail('AUTH takes a mechanism and an optional initial response');
      if (args.length === 0) return { ok: true, command: { verb } };
      // RFC 4422 §3.1: mechanism names are 1-20 of A-Z 0-9 - _.
      const mechanism = args[0]!.toUpperCase();
      if (!/^[A-Z0-9_-]{1,20}$/.test(mechanism)) return fail('bad mechanism name');
      if (args.length === 1) return { ok: true, command: { verb, mechanism } };
      return { ok: true, command: { verb, mechanism, initialResponse: args[1]! } };
    }
    case 'LIST':
    case 'UIDL': {
      const args = splitArgs(rest);
      if (args === null || args.length > 1) return fail(`${verb} takes at most one message number`);
      if (args.length === 0) return { ok: true, command: { verb } };
      const msg = parseNumber(args[0]!, 1);
      if (msg === null) return fail('bad message number');
      return { ok: true, command: { verb, msg } };
    }
    case 'RETR':
    case 'DELE': {
      const args = splitArgs(rest);
      if (args === null || args.length !== 1) return fail(`${verb} needs one message number`);
      const msg = parseNumber(args[0]!, 1);
      if (msg === null) return fail('bad message number');
      return { ok: true, command: { verb, msg } };
    }
    case 'TOP': {
      const args = splitArgs(rest);
      if (args === null || args.length !== 2) return fail('TOP needs a message number and a line count');
      const msg = parseNumber(args[0]!, 1);
      const lines = parseNumber(args[1]!, 0);
      if (msg === null) return fail('bad message number');
      if (lines === null) return fail('bad line count');
      return { ok: true, command: { verb, msg, lines } };
    }
  }
}

/** Formats a command as a line with CRLF (the inverse of parseCommand). */
export function formatCommand(c: Command): string {
  switch (c.verb) {
    case 'USER':
      return `USER ${c.name}\r\n`;
    case 'PASS':
      return `PASS ${c.password}\r\n`;
    case 'AUTH':
      return ['AUTH', c.mechanism, c.mechanism === undefined ? undefined : c.initialResponse].filter((x) => x !== undefined).join(' ') + '\r\n';
    case 'LIST':
    case 'UIDL':
      return c.msg === undefined ? `${c.verb}\r\n` : `${c.verb} ${c.msg}\r\n`;
    case 'RETR':
    case 'DELE':
      return `${c.verb} ${c.msg}\r\n`;
    case 'TOP':
      return `TOP ${c.msg} ${c.lines}\r\n`;
    default:
      return `${c.verb}\r\n`;
  }
}

/** Space-separated arguments; trailing spaces tolerated (some clients send them). */
function splitArgs(rest: string | null): string[] | null {
  if (rest === null) return [];
  const trimmed = rest.replace(/ +$/, '');
  if (trimmed === '') return [];
  const args = trimmed.split(' ');
  if (args.some((a) => a === '' || hasControl(a))) return null;
  return args;
}

/** A decimal number (no sign, no leading zero padding beyond bounds) of at least `min`. */
function parseNumber(s: string, min: number): number | null {
  if (!/^[0-9]+$/.test(s) || s.length > MAX_NUMBER_DIGITS) return null;
  const n = Number(s);
  return n >= min ? n : null;
}

function hasControl(s: string): boolean {
  return /[\x00-\x1f\x7f]/.test(s);
}
