/**
 * Command line → typed command (no I/O, no core imports). Grammar of RFC 5321 §4.1.1 and
 * §4.1.2, with the parameters of SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531),
 * DSN (RFC 3461) and AUTH (RFC 4954). Addresses and parameter values are plain data: nothing
 * here (or after) ever passes them to a shell or an evaluator, so backquotes, "$(...)", "|",
 * ";" and "${...}" are just characters that either fit the grammar or are refused by it.
 */

/** Longest command line without parameters, RFC 5321 §4.5.3.1.4 (CRLF included). */
export const MAX_COMMAND_LINE_BYTES = 512;
/**
 * Longest MAIL/RCPT/AUTH line. RFC 5321 §4.5.3.1.4 lets extensions raise the 512 limit
 * (RFC 1870 §3 adds 26 octets per parameter, RFC 3461 §5 ORCPT/ENVID up to 100+500, RFC 4954 §4
 * an AUTH line up to 12288); 4096 covers every real client.
 */
export const MAX_PARAM_LINE_BYTES = 4096;

/** A mailbox from a path: the local part as written (quotes removed) and the domain. */
export interface Mailbox {
  local: string;
  domain: string;
  /** The local part was a quoted string (RFC 5321 §4.1.2 Quoted-string). */
  isQuoted: boolean;
}

/** Parameters of MAIL (RFC 5321 §4.1.1.2 Mail-parameters). */
export interface MailParams {
  size: number | null;
  body: '7BIT' | '8BITMIME' | null;
  smtpUtf8: boolean;
  ret: 'FULL' | 'HDRS' | null;
  envid: string | null;
}

/** Parameters of RCPT (RFC 3461 §4.1, §4.2). */
export interface RcptParams {
  notify: Array<'SUCCESS' | 'FAILURE' | 'DELAY'> | 'NEVER' | null;
  orcpt: string | null;
}

/** A parsed command. */
export type Command =
  | { verb: 'EHLO' | 'HELO' | 'LHLO'; domain: string }
  | { verb: 'MAIL'; from: Mailbox | null; params: MailParams }
  | { verb: 'RCPT'; to: Mailbox; params: RcptParams; isPostmaster: boolean }
  | { verb: 'DATA' | 'RSET' | 'QUIT' | 'STARTTLS' }
  | { verb: 'NOOP' | 'HELP' | 'VRFY' | 'EXPN'; arg: string }
  | { verb: 'AUTH'; mechanism: string; initial: string | null }
  | { verb: 'BDAT' };

/** Why a line is not a command. */
export type SyntaxErrorKind =
  | 'unknown' // 500 5.5.1: not a command
  | 'tooLong' // 500 5.5.6
  | 'nul' // 500 5.5.2: NUL byte
  | 'eightBit' // 500 5.5.2 or 553 5.6.7: 8-bit without SMTPUTF8
  | 'args' // 501 5.5.4: bad arguments
  | 'address' // 501 5.1.3 (MAIL) / 501 5.1.3 (RCPT): bad address syntax
  | 'param' // 555 5.5.4: unknown or bad parameter
  | 'size'; // 552 5.3.4: SIZE over the limit is decided later; here: bad SIZE syntax (501)

/** The parser's result. */
export type ParseResult = { ok: true; command: Command } | { ok: false; error: SyntaxErrorKind; message: string };

/** What the parser needs to know about the session. */
export interface ParseOptions {
  /** The transaction's MAIL declared SMTPUTF8 (RFC 6531 §3.3: UTF-8 allowed in RCPT then). */
  isUtf8Transaction: boolean;
}

const fail = (error: SyntaxErrorKind, message: string): ParseResult => ({ ok: false, error, message });

// RFC 5321 §4.1.2: atext (RFC 5322 §3.2.3) extended by RFC 6531 §3.3 with UTF8-non-ascii.
const ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~";
const DOT_STRING = new RegExp(`^[${ATEXT}\\u0080-\\u{10FFFF}]+(\\.[${ATEXT}\\u0080-\\u{10FFFF}]+)*$`, 'u');
const DOT_STRING_ASCII = new RegExp(`^[${ATEXT}]+(\\.[${ATEXT}]+)*$`);
// RFC 5321 §4.1.2 Domain (sub-domains of Let-dig / Ldh-str), RFC 6531 U-labels when UTF-8.
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DOMAIN_ASCII = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const ULABEL = '[A-Za-z0-9\\u0080-\\u{10FFFF}](?:[A-Za-z0-9\\u0080-\\u{10FFFF}-]*[A-Za-z0-9\\u0080-\\u{10FFFF}])?';
const DOMAIN_UTF8 = new RegExp(`^${ULABEL}(\\.${ULABEL})*$`, 'u');
// RFC 5321 §4.1.3 address literals (IPv4, IPv6 and General-address-literal shapes).
const ADDRESS_LITERAL = /^\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]{2,45}|[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+)\]$/;
// RFC 5321 §4.1.2 esmtp-keyword and esmtp-value.
const ESMTP_KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
const ESMTP_VALUE = /^[\x21-\x3c\x3e-\x7e\u0080-\u{10FFFF}]+$/u;
// RFC 3461 §4 xtext: "+" followed by two upper-case hex digits, or printable ASCII but "+" and "=".
const XTEXT = /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*$/;

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    // A decoding failure is the answer, not an error to report.
    return false;
  }
}

/** Parses one command line (without its CRLF). */
export function parseCommand(line: Uint8Array, opts: ParseOptions): ParseResult {
  if (line.includes(0)) return fail('nul', 'NUL byte in command');
  let hasEightBit = false;
  for (const b of line) {
    if (b >= 0x80) hasEightBit = true;
    // RFC 5321 §4.1.1: commands are printable text; control characters other than tab are refused.
    else if (b < 0x20 && b !== 0x09) return fail('args', 'control character in command');
  }
  if (hasEightBit && !isValidUtf8(line)) return fail('eightBit', '8-bit bytes are not valid UTF-8');
  const text = Buffer.from(line).toString(hasEightBit ? 'utf8' : 'latin1');
  const sp = text.indexOf(' ');
  const verb = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
  const rest = sp < 0 ? '' : text.slice(sp + 1);
  const isParamVerb = verb === 'MAIL' || verb === 'RCPT' || verb === 'AUTH';
  if (!isParamVerb && line.length + 2 > MAX_COMMAND_LINE_BYTES) return fail('tooLong', 'line too long');
  if (line.length + 2 > MAX_PARAM_LINE_BYTES) return fail('tooLong', 'line too long');
  // RFC 6531 §3.3: UTF-8 appears only in MAIL with SMTPUTF8 and the RCPTs of that transaction.
  if (hasEightBit && verb !== 'MAIL' && !(verb === 'RCPT' && opts.isUtf8Transaction)) {
    return fail('eightBit', '8-bit characters are only allowed in addresses after MAIL ... SMTPUTF8');
  }
  switch (verb) {
    case 'EHLO':
    case 'HELO':
    case 'LHLO': {
      const domain = rest.trim();
      // RFC 5321 §4.1.1.1: a domain or an address literal. Nothing is looked up with it.
      if (!domain || hasEightBit || !(DOMAIN_ASCII.test(domain) || ADDRESS_LITERAL.test(domain))) return fail('args', `${verb} needs a domain or address literal`);
      return { ok: true, command: { verb, domain } };
    }
    case 'MAIL':
      return parseMail(rest, hasEightBit);
    case 'RCPT':
      return parseRcpt(rest, opts.isUtf8Transaction);
    case 'DATA':
    case 'RSET':
    case 'QUIT':
    case 'STARTTLS':
      if (rest.trim() !== '') return fail('args', `${verb} takes no arguments`);
      return { ok: true, command: { verb } };
    case 'NOOP':
    case 'HELP':
    case 'VRFY':
    case 'EXPN':
      return { ok: true, command: { verb, arg: rest } };
    case 'AUTH': {
      const m = /^([A-Za-z0-9_-]{1,20})(?: ([A-Za-z0-9+/]+={0,2}|=))?$/.exec(rest);
      if (!m) return fail('args', 'AUTH mechanism [initial-response]');
      return { ok: true, command: { verb: 'AUTH', mechanism: m[1]!.toUpperCase(), initial: m[2] ?? null } };
    }
    case 'BDAT':
      return { ok: true, command: { verb: 'BDAT' } };
    default:
      return fail('unknown', 'command not recognized');
  }
}

/** Splits "<path> params" into the path and its parameters; RFC 5321 §4.1.1.2 / §4.1.1.3. */
function splitPath(rest: string, prefix: string): { path: string; params: string[] } | null {
  if (rest.slice(0, prefix.length).toUpperCase() !== prefix) return null;
  let s = rest.slice(prefix.length);
  // Deviation: a space after the colon is tolerated (RFC 5321 §4.1.1.2 has none); many clients send it.
  if (s.startsWith(' ')) s = s.slice(1);
  if (!s.startsWith('<')) return null;
  // The path ends at the first ">" outside a quoted string.
  let inQuote = false;
  let end = -1;
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (inQuote && c === '\\') i++;
    else if (c === '"') inQuote = !inQuote;
    else if (c === '>' && !inQuote) {
      end = i;
      break;
    }
  }
  if (end < 0) return null;
  const path = s.slice(1, end);
  const tail = s.slice(end + 1);
  if (tail !== '' && !tail.startsWith(' ')) return null;
  const params = tail.split(' ').filter((p) => p !== '');
  return { path, params };
}

/**
 * Parses the inside of a path: optional source route (RFC 5321 §4.1.2 A-d-l, which §C says to
 * ignore — it is dropped here, so "@relay:user@ours" is judged as "user@ours") and a Mailbox.
 */
export function parseMailbox(path: string, allowUtf8: boolean): Mailbox | null {
  let p = path;
  if (p.startsWith('@')) {
    const colon = p.indexOf(':');
    if (colon < 0) return null;
    const route = p.slice(0, colon).split(',');
    for (const hop of route) {
      if (!hop.startsWith('@')) return null;
      const d = hop.slice(1);
      if (!(DOMAIN_ASCII.test(d) || ADDRESS_LITERAL.test(d))) return null;
    }
    p = p.slice(colon + 1);
  }
  let local: string;
  let isQuoted = false;
  let at: number;
  if (p.startsWith('"')) {
    // RFC 5321 §4.1.2 Quoted-string: qtextSMTP / quoted-pairSMTP (backslash + printable).
    let i = 1;
    let out = '';
    for (; i < p.length; i++) {
      const c = p[i]!;
      if (c === '\\') {
        const n = p[i + 1];
        if (n === undefined || n < ' ' || n > '~') return null;
        out += n;
        i++;
      } else if (c === '"') break;
      else if (c < ' ' || c === '\x7f' || (!allowUtf8 && c > '~')) return null;
      else out += c;
    }
    if (p[i] !== '"') return null;
    local = out;
    isQuoted = true;
    at = i + 1;
    if (p[at] !== '@') return null;
  } else {
    at = p.lastIndexOf('@');
    if (at <= 0) return null;
    local = p.slice(0, at);
    if (!(allowUtf8 ? DOT_STRING : DOT_STRING_ASCII).test(local)) return null;
  }
  const domain = p.slice(at + 1);
  // RFC 5321 §4.5.3.1.1 / §4.5.3.1.2: local part 64 octets, domain 255 octets.
  if (Buffer.byteLength(local) > 64 || Buffer.byteLength(domain) > 255) return null;
  if (!(DOMAIN_ASCII.test(domain) || ADDRESS_LITERAL.test(domain) || (allowUtf8 && DOMAIN_UTF8.test(domain)))) return null;
  return { local, domain, isQuoted };
}

function parseKeyword(param: string): { key: string; value: string | null } | null {
  const eq = param.indexOf('=');
  const key = (eq < 0 ? param : param.slice(0, eq)).toUpperCase();
  const value = eq < 0 ? null : param.slice(eq + 1);
  if (!ESMTP_KEYWORD.test(key)) return null;
  if (value !== null && !ESMTP_VALUE.test(value)) return null;
  return { key, value };
}

function parseMail(rest: string, hasEightBit: boolean): ParseResult {
  const split = splitPath(rest, 'FROM:');
  if (!split) return fail('args', 'syntax: MAIL FROM:<address>');
  const params: MailParams = { size: null, body: null, smtpUtf8: false, ret: null, envid: null };
  const seen = new Set<string>();
  for (const raw of split.params) {
    const kv = parseKeyword(raw);
    if (!kv) return fail('param', 'malformed parameter');
    if (seen.has(kv.key)) return fail('param', `duplicate ${kv.key}`);
    seen.add(kv.key);
    switch (kv.key) {
      case 'SIZE': // RFC 1870 §6
        if (kv.value === null || !/^\d{1,20}$/.test(kv.value)) return fail('param', 'SIZE needs a number');
        params.size = Number(kv.value);
        break;
      case 'BODY': // RFC 6152 §2
        if (kv.value?.toUpperCase() !== '7BIT' && kv.value?.toUpperCase() !== '8BITMIME') return fail('param', 'BODY must be 7BIT or 8BITMIME');
        params.body = kv.value.toUpperCase() as '7BIT' | '8BITMIME';
        break;
      case 'SMTPUTF8': // RFC 6531 §3.4
        if (kv.value !== null) return fail('param', 'SMTPUTF8 takes no value');
        params.smtpUtf8 = true;
        break;
      case 'RET': // RFC 3461 §4.3
        if (kv.value?.toUpperCase() !== 'FULL' && kv.value?.toUpperCase() !== 'HDRS') return fail('param', 'RET must be FULL or HDRS');
        params.ret = kv.value.toUpperCase() as 'FULL' | 'HDRS';
        break;
      case 'ENVID': // RFC 3461 §4.4: xtext, at most 100 characters
        if (kv.value === null || kv.value.length > 100 || !XTEXT.test(kv.value)) return fail('param', 'ENVID must be xtext of at most 100 characters');
        params.envid = kv.value;
        break;
      case 'AUTH': // RFC 4954 §5: accepted and ignored (we do not trust another MTA's claim)
        break;
      default:
        return fail('param', `parameter ${kv.key} not supported`);
    }
  }
  if (hasEightBit && !params.smtpUtf8) return fail('eightBit', '8-bit address needs SMTPUTF8');
  if (split.path === '') return { ok: true, command: { verb: 'MAIL', from: null, params } }; // RFC 5321 §4.5.5 null reverse-path
  const from = parseMailbox(split.path, params.smtpUtf8);
  if (!from) return fail('address', 'bad sender address syntax');
  return { ok: true, command: { verb: 'MAIL', from, params } };
}

function parseRcpt(rest: string, allowUtf8: boolean): ParseResult {
  const split = splitPath(rest, 'TO:');
  if (!split) return fail('args', 'syntax: RCPT TO:<address>');
  const params: RcptParams = { notify: null, orcpt: null };
  const seen = new Set<string>();
  for (const raw of split.params) {
    const kv = parseKeyword(raw);
    if (!kv) return fail('param', 'malformed parameter');
    if (seen.has(kv.key)) return fail('param', `duplicate ${kv.key}`);
    seen.add(kv.key);
    if (kv.key === 'NOTIFY') {
      // RFC 3461 §4.1: NEVER alone, or a list of SUCCESS, FAILURE, DELAY.
      const items = (kv.value ?? '').toUpperCase().split(',');
      if (items.length === 1 && items[0] === 'NEVER') params.notify = 'NEVER';
      else if (items.every((x) => x === 'SUCCESS' || x === 'FAILURE' || x === 'DELAY') && new Set(items).size === items.length) {
        params.notify = items as Array<'SUCCESS' | 'FAILURE' | 'DELAY'>;
      } else return fail('param', 'NOTIFY must be NEVER or SUCCESS, FAILURE, DELAY');
    } else if (kv.key === 'ORCPT') {
      // RFC 3461 §4.2: addr-type ";" xtext, at most 500 characters.
      const v = kv.value ?? '';
      const semi = v.indexOf(';');
      if (semi <= 0 || v.length > 500 || !ESMTP_KEYWORD.test(v.slice(0, semi)) || !XTEXT.test(v.slice(semi + 1))) return fail('param', 'ORCPT must be type;xtext');
      params.orcpt = v;
    } else return fail('param', `parameter ${kv.key} not supported`);
  }
  // RFC 5321 §4.1.1.3: "<Postmaster>" without a domain must be accepted.
  if (split.path.toLowerCase() === 'postmaster') {
    return { ok: true, command: { verb: 'RCPT', to: { local: 'postmaster', domain: '', isQuoted: false }, params, isPostmaster: true } };
  }
  const to = parseMailbox(split.path, allowUtf8);
  if (!to) return fail('address', 'bad recipient address syntax');
  return { ok: true, command: { verb: 'RCPT', to, params, isPostmaster: false } };
}

/** Decodes RFC 3461 §4 xtext. */
export function decodeXtext(s: string): string {
  return s.replace(/\+([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Encodes RFC 3461 §4 xtext. */
export function encodeXtext(s: string): string {
  return s.replace(/[^\x21-\x2a\x2c-\x3c\x3e-\x7e]/g, (c) => '+' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}
