/**
 * The lexical layer of RFC 9051 §9 over a CommandUnit: a cursor that reads atoms, strings
 * (quoted and literal), numbers, sequence sets, flags and dates. Command parsers build on it.
 * Failures throw SyntaxFailure, which only the parse entry point (command.ts) catches and
 * turns into a result; nothing outside wire/ sees it.
 */
import type { CommandUnit } from './reader.js';

/** A syntax error found while parsing; carries the offset for the BAD text. */
export class SyntaxFailure extends Error {
  constructor(
    message: string,
    readonly code: 'PARSE' | 'LIMIT' | 'BADCHARSET' | 'CLIENTBUG' = 'PARSE',
  ) {
    super(message);
  }
}

/** One range of a sequence set; `null` stands for "*" (RFC 9051 §9 seq-number). */
export type SeqRange = readonly [lo: number | null, hi: number | null];

/** A parsed sequence set, or "$" (RFC 5182 SEARCHRES). */
export type SequenceSet = { kind: 'set'; ranges: SeqRange[] } | { kind: 'saved' };

/** Most ranges in one sequence set. */
export const MAX_SEQUENCE_RANGES = 10_000;
/** Deepest parenthesis nesting accepted in a command. */
export const MAX_NESTING = 32;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** RFC 9051 §9 atom-specials: ( ) { SP CTL % * " \ ] */
function isAtomChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x25 && c !== 0x2a && c !== 0x22 && c !== 0x5c && c !== 0x5d;
}

/** A reading position in a command unit. */
export class Cursor {
  private part = 0;
  private pos = 0;
  depth = 0;

  constructor(
    private readonly unit: CommandUnit,
    /** Whether raw UTF-8 is accepted in quoted strings (RFC 9051 §9 QUOTED-CHAR, RFC 6855). */
    readonly utf8 = true,
  ) {}

  private get text(): Buffer {
    return this.unit.parts[this.part]!;
  }

  /** The next byte of the current text part, or -1 at its end. */
  peek(): number {
    const t = this.text;
    return this.pos < t.length ? t[this.pos]! : -1;
  }

  /** Whether the whole command has been read. */
  atEnd(): boolean {
    return this.part === this.unit.parts.length - 1 && this.pos >= this.text.length;
  }

  fail(what: string): never {
    throw new SyntaxFailure(`${what} at byte ${this.pos}`);
  }

  /** Requires the end of the command. */
  end(): void {
    if (!this.atEnd()) this.fail('unexpected characters');
  }

  /** Reads one SP. */
  sp(): void {
    if (this.peek() !== 0x20) this.fail('expected a space');
    this.pos++;
  }

  /** Reads SP if present. */
  maybeSp(): boolean {
    if (this.peek() === 0x20) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Reads the exact character c. */
  char(c: string): void {
    if (this.peek() !== c.charCodeAt(0)) this.fail(`expected "${c}"`);
    this.pos++;
    if (c === '(') this.enter();
    if (c === ')') this.depth--;
  }

  /** Reads c if it comes next. */
  maybeChar(c: string): boolean {
    if (this.peek() !== c.charCodeAt(0)) return false;
    this.char(c);
    return true;
  }

  /** Counts one more level of nesting, bounded by MAX_NESTING. */
  enter(): void {
    if (++this.depth > MAX_NESTING) throw new SyntaxFailure('too deeply nested', 'LIMIT');
  }

  /** Reads a run of bytes matching pred. */
  private run(pred: (c: number) => boolean): string {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length && pred(t[this.pos]!)) this.pos++;
    return t.toString('latin1', start, this.pos);
  }

  /** RFC 9051 §9 atom. */
  atom(): string {
    const a = this.run(isAtomChar);
    if (!a) this.fail('expected an atom');
    return a;
  }

  /** An atom that may contain ']' (ASTRING-CHAR), used for astring atoms and tags. */
  astringAtom(): string {
    const a = this.run((c) => isAtomChar(c) || c === 0x5d);
    if (!a) this.fail('expected an atom');
    return a;
  }

  /** Reads characters allowed in list-mailbox (atom chars, % * and ]). */
  listMailboxAtom(): string {
    const a = this.run((c) => isAtomChar(c) || c === 0x25 || c === 0x2a || c === 0x5d || c >= 0x80);
    if (!a) this.fail('expected a mailbox pattern');
    return a;
  }

  /** Case-insensitive keyword: the next atom, upper-cased. */
  keyword(): string {
    return this.atom().toUpperCase();
  }

  /** A word of letters, digits, dots and hyphens, upper-cased (FETCH item names stop at "[" and "<"). */
  word(): string {
    const a = this.run((c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x3d);
    if (!a) this.fail('expected a keyword');
    return a.toUpperCase();
  }

  /** Whether the upcoming text starts with s (case-insensitive), without consuming. */
  lookingAt(s: string): boolean {
    const t = this.text;
    if (this.pos + s.length > t.length) return false;
    return t.toString('latin1', this.pos, this.pos + s.length).toUpperCase() === s.toUpperCase();
  }

  /** Consumes s (case-insensitive) if it comes next. */
  maybeWord(s: string): boolean {
    if (!this.lookingAt(s)) return false;
    this.pos += s.length;
    return true;
  }

  /** RFC 9051 §9 number (up to 2^63 in spirit; we accept up to Number.MAX_SAFE_INTEGER). */
  number(): number {
    const d = this.run((c) => c >= 0x30 && c <= 0x39);
    if (!d || d.length > 15) this.fail('expected a number');
    return Number(d);
  }

  /** RFC 9051 §9 nz-number (32-bit). */
  nzNumber(): number {
    const n = this.number();
    if (n < 1 || n > 0xffffffff) this.fail('expected a non-zero 32-bit number');
    return n;
  }

  /** RFC 9051 §9 string: quoted or literal; returns raw bytes. */
  stringBytes(): Buffer {
    const c = this.peek();
    if (c === 0x22) return this.quoted();
    if (c === 0x7b || (c === 0x7e && this.text[this.pos + 1] === 0x7b)) return this.literal();
    this.fail('expected a string');
  }

  /** RFC 9051 §9 quoted. */
  private quoted(): Buffer {
    const t = this.text;
    this.pos++;
    const out: number[] = [];
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated quoted string');
      const c = t[this.pos++]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        const e = t[this.pos++];
        if (e !== 0x22 && e !== 0x5c) this.fail('bad escape in quoted string');
        out.push(e);
        continue;
      }
      if (c === 0x0d || c === 0x0a || c === 0) this.fail('control character in quoted string');
      if (c >= 0x80 && !this.utf8) this.fail('8-bit character in quoted string');
      out.push(c);
    }
    return Buffer.from(out);
  }

  /** A literal whose octets follow this text part ("{n}" or "{n+}", "~{n}" for literal8). */
  private literal(): Buffer {
    const t = this.text;
    const rest = t.toString('latin1', this.pos);
    const m = /^~?\{(\d+)\+?\}$/.exec(rest);
    if (!m || this.part + 1 >= this.unit.parts.length) this.fail('bad literal');
    const data = this.unit.parts[this.part + 1]!;
    if (data.length !== Number(m[1])) this.fail('literal length mismatch');
    this.part += 2;
    this.pos = 0;
    return data;
  }

  /** A string decoded as UTF-8. */
  string(): string {
    return this.stringBytes().toString('utf8');
  }

  /** RFC 9051 §9 astring. */
  astring(): string {
    const c = this.peek();
    if (c === 0x22 || c === 0x7b) return this.string();
    const a = this.run((x) => isAtomChar(x) || x === 0x5d || (x >= 0x80 && this.utf8));
    if (!a) this.fail('expected an astring');
    return Buffer.from(a, 'latin1').toString('utf8');
  }

  /** RFC 9051 §9 astring, as raw bytes (for SEARCH with a charset). */
  astringBytes(): Buffer {
    const c = this.peek();
    if (c === 0x22 || c === 0x7b) return this.stringBytes();
    const a = this.run((x) => isAtomChar(x) || x === 0x5d || x >= 0x80);
    if (!a) this.fail('expected an astring');
    return Buffer.from(a, 'latin1');
  }

  /** RFC 9051 §9 nstring. */
  nstring(): string | null {
    if (this.maybeWord('NIL')) return null;
    return this.string();
  }

  /** RFC 9051 §9 mailbox (astring; "INBOX" case-insensitive). Raw, still encoded. */
  mailbox(): string {
    return this.astring();
  }

  /** RFC 9051 §9 list-mailbox: a pattern. */
  listMailbox(): string {
    const c = this.peek();
    if (c === 0x22 || c === 0x7b) return this.string();
    return Buffer.from(this.listMailboxAtom(), 'latin1').toString('utf8');
  }

  /** RFC 9051 §9 flag (and "\*" when allowed). */
  flag(allowStar = false): string {
    if (this.peek() === 0x5c) {
      this.pos++;
      if (allowStar && this.peek() === 0x2a) {
        this.pos++;
        return '\\*';
      }
      return '\\' + this.atom();
    }
    return this.atom();
  }

  /**
   * A parenthesised, space-separated list: "(" [item *(SP item)] ")", the shape of most IMAP
   * option and item lists. Calls `item` once per element; more than `max` elements is a
   * [LIMIT] failure with the message `tooMany`. Returns the number of elements.
   */
  list(item: () => void, max: number, tooMany: string): number {
    this.char('(');
    let n = 0;
    while (!this.maybeChar(')')) {
      if (n > 0) this.sp();
      item();
      if (++n > max) throw new SyntaxFailure(tooMany, 'LIMIT');
    }
    return n;
  }

  /** RFC 9051 §9 flag-list: "(" [flag *(SP flag)] ")". */
  flagList(): string[] {
    const out: string[] = [];
    this.list(() => out.push(this.flag()), 1000, 'too many flags');
    return out;
  }

  /** Flags for STORE: a flag-list or flags separated by spaces. */
  storeFlags(): string[] {
    if (this.peek() === 0x28) return this.flagList();
    const out = [this.flag()];
    while (this.maybeSp()) out.push(this.flag());
    return out;
  }

  /** RFC 9051 §9 sequence-set, or "$" (RFC 5182). */
  sequenceSet(): SequenceSet {
    if (this.maybeChar('$')) return { kind: 'saved' };
    const ranges: SeqRange[] = [];
    for (;;) {
      const lo = this.seqNumber();
      let hi = lo;
      if (this.maybeChar(':')) hi = this.seqNumber();
      ranges.push([lo, hi]);
      if (ranges.length > MAX_SEQUENCE_RANGES) throw new SyntaxFailure('sequence set too large', 'LIMIT');
      if (!this.maybeChar(',')) break;
    }
    return { kind: 'set', ranges };
  }

  private seqNumber(): number | null {
    if (this.maybeChar('*')) return null;
    return this.nzNumber();
  }

  /** RFC 9051 §9 date: date-text or quoted date-text; returns YYYY-MM-DD. */
  date(): string {
    const q = this.maybeChar('"');
    const day = this.number();
    this.char('-');
    const mon = MONTHS.indexOf(this.run((c) => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a).toLowerCase());
    if (mon < 0) this.fail('bad month');
    this.char('-');
    const year = this.number();
    if (q) this.char('"');
    if (day < 1 || day > 31 || year < 1000 || year > 9999) this.fail('bad date');
    return `${year}-${String(mon + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  }

  /** RFC 9051 §9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz"; returns epoch milliseconds. */
  dateTime(): number {
    const s = this.string();
    const m = /^([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(s);
    if (!m) this.fail('bad date-time');
    const mon = MONTHS.indexOf(m[2]!.toLowerCase());
    if (mon < 0) this.fail('bad month');
    const utc = Date.UTC(Number(m[3]), mon, Number(m[1]!.trim()), Number(m[4]), Number(m[5]), Number(m[6]));
    const offsetMin = (Number(m[8]) * 60 + Number(m[9])) * (m[7] === '-' ? -1 : 1);
    const ms = utc - offsetMin * 60_000;
    if (!Number.isFinite(ms)) this.fail('bad date-time');
    return ms;
  }
}
