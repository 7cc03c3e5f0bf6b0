/**
 * Typed response values -> bytes (RFC 9051 §7, §9; RFC 3501 §7). Strings are emitted as the
 * grammar requires: quoted when every octet is a QUOTED-CHAR (never CR, LF or NUL; 8-bit only
 * when UTF-8 is allowed, RFC 9051 §9 / RFC 6855 §3), else as a literal; NIL for absent values.
 */

/** A value in a response. */
export type WireValue =
  /** Written as-is: an atom, a number, a flag. */
  | { atom: string }
  /** A string: quoted or literal, as the octets require. */
  | { str: string | Buffer }
  /** Always a literal (message bytes); `binary` makes it a literal8 (RFC 3516 §4.2). */
  | { lit: Buffer; binary?: boolean }
  /** Values written back to back with no space (RFC 9051 §9 body-type-mpart: 1*body). */
  | { seq: WireValue[] }
  /** A parenthesised list. */
  | WireValue[]
  /** NIL. */
  | null;

/** How strings may be written to this client. */
export interface FormatOptions {
  /** RFC 9051 / UTF8=ACCEPT: raw UTF-8 allowed in quoted strings. */
  utf8: boolean;
}

/** Shorthand for an atom value. */
export const atom = (s: string | number): WireValue => ({ atom: String(s) });
/** Shorthand for a string value (null -> NIL). */
export const nstr = (s: string | Buffer | null | undefined): WireValue => (s === null || s === undefined ? null : { str: s });

/**
 * An astring (RFC 9051 §9): an atom when every character is an ASTRING-CHAR (and it is not
 * "NIL"), else a string. Mailbox names are sent this way, as most servers do.
 */
export function astr(s: string): WireValue {
  if (s.length > 0 && s.length <= 200 && s.toUpperCase() !== 'NIL' && /^[!#$&'+,\-./0-9:;<=>?@A-Z[\]^_`a-z|}~]+$/.test(s)) return { atom: s };
  return { str: s };
}

/** Longest string sent quoted; longer ones go as literals. */
const MAX_QUOTED = 1024;

function quotable(b: Buffer, utf8: boolean): boolean {
  if (b.length > MAX_QUOTED) return false;
  for (const c of b) {
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
    if (c >= 0x80 && !utf8) return false;
  }
  return true;
}

/** Appends the encoding of v to out. */
export function formatValue(v: WireValue, opts: FormatOptions, out: Buffer[]): void {
  if (v === null) {
    out.push(NIL);
    return;
  }
  if (Array.isArray(v)) {
    out.push(LPAREN);
    v.forEach((x, i) => {
      if (i > 0) out.push(SP);
      formatValue(x, opts, out);
    });
    out.push(RPAREN);
    return;
  }
  if ('atom' in v) {
    out.push(Buffer.from(v.atom, 'utf8'));
    return;
  }
  if ('seq' in v) {
    for (const x of v.seq) formatValue(x, opts, out);
    return;
  }
  if ('lit' in v) {
    out.push(Buffer.from(`${v.binary ? '~' : ''}{${v.lit.length}}\r\n`, 'latin1'), v.lit);
    return;
  }
  const b = typeof v.str === 'string' ? Buffer.from(v.str, 'utf8') : v.str;
  if (quotable(b, opts.utf8)) {
    out.push(DQUOTE, escapeQuoted(b), DQUOTE);
  } else {
    out.push(Buffer.from(`{${b.length}}\r\n`, 'latin1'), b);
  }
}

function escapeQuoted(b: Buffer): Buffer {
  if (!b.includes(0x22) && !b.includes(0x5c)) return b;
  const out: number[] = [];
  for (const c of b) {
    if (c === 0x22 || c === 0x5c) out.push(0x5c);
    out.push(c);
  }
  return Buffer.from(out);
}

/** Encodes values separated by spaces (the tail of an untagged response). */
export function formatValues(values: readonly WireValue[], opts: FormatOptions): Buffer {
  const out: Buffer[] = [];
  values.forEach((v, i) => {
    if (i > 0) out.push(SP);
    formatValue(v, opts, out);
  });
  return Buffer.concat(out);
}

/** A status response: "tag OK [CODE] text" (RFC 9051 §7.1). */
export function statusLine(tag: string, status: 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH', code: string | null, text: string): Buffer {
  return Buffer.from(`${tag} ${status} ${code ? `[${code}] ` : ''}${sanitizeText(text)}\r\n`, 'utf8');
}

/** Human-readable text: no CR, LF or "[" at its start (RFC 9051 §9 text). */
export function sanitizeText(text: string): string {
  const t = text.replace(/[\r\n\x00]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return t.length === 0 ? 'done' : t.startsWith('[') ? ` ${t}` : t;
}

const NIL = Buffer.from('NIL');
const SP = Buffer.from(' ');
const LPAREN = Buffer.from('(');
const RPAREN = Buffer.from(')');
const DQUOTE = Buffer.from('"');

/** RFC 3501 §5.1.3 modified UTF-7 encoding of a mailbox name. */
export function encodeModifiedUtf7(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const bytes = Buffer.alloc(pending.length * 2);
    pending.forEach((u, i) => bytes.writeUInt16BE(u, i * 2));
    out += '&' + bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',') + '-';
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      flush();
      out += c === 0x26 ? '&-' : name[i];
    } else pending.push(c);
  }
  flush();
  return out;
}

/** RFC 3501 §5.1.3 modified UTF-7 decoding; null when the name is not valid mUTF-7. */
export function decodeModifiedUtf7(name: string): string | null {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    if (ch !== '&') {
      out += ch;
      continue;
    }
    const end = name.indexOf('-', i);
    if (end < 0) return null;
    const b64 = name.slice(i + 1, end);
    i = end;
    if (b64 === '') {
      out += '&';
      continue;
    }
    if (!/^[A-Za-z0-9+,]+$/.test(b64)) return null;
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0) return null;
    for (let k = 0; k < bytes.length; k += 2) out += String.fromCharCode(bytes.readUInt16BE(k));
  }
  return out;
}
