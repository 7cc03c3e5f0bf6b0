/**
 * The IMAP command reader: bytes in, complete command units out (RFC 9051 §2.2, §4.3;
 * RFC 7888 LITERAL+). A unit is the command's text lines with the octets of every literal
 * between them; a synchronizing literal makes the reader ask for a continuation request
 * before its octets come. No I/O here: the session feeds bytes and acts on the events.
 *
 * Bounds (DESIGN.md rule 3): line length, literal size (APPENDLIMIT for APPEND, a small
 * bound for every other command), literals per command and bytes per command. A bound that is
 * broken yields an error event carrying the command's tag when it is known; the reader then
 * discards the rest of that command and continues with the next one, except for a
 * non-synchronizing literal too large even to skip, which is fatal (RFC 7888 §4 allows BYE).
 */

/** Bounds the reader enforces. */
export interface ReaderLimits {
  /** Longest line (without its CRLF), in bytes. */
  maxLineBytes: number;
  /** Largest literal of an APPEND (the APPENDLIMIT, RFC 7889). */
  maxAppendLiteralBytes: number;
  /** Largest literal of any other command (LOGIN, SEARCH strings, mailbox names). */
  maxOtherLiteralBytes: number;
  /** Most literals in one command. */
  maxLiteralsPerCommand: number;
  /** Largest non-synchronizing literal the reader skips over instead of closing the connection. */
  maxSkipBytes: number;
}

/** Defaults: 64 KiB lines, 50 MiB APPEND literals, 64 KiB others. */
export const DEFAULT_READER_LIMITS: ReaderLimits = {
  maxLineBytes: 64 * 1024,
  maxAppendLiteralBytes: 50 * 1024 * 1024,
  maxOtherLiteralBytes: 64 * 1024,
  maxLiteralsPerCommand: 64,
  maxSkipBytes: 64 * 1024 * 1024,
};

/**
 * One complete command: `parts[0]` is text, then literal octets and text alternate, so even
 * indexes are text (without the CRLF; each text part before a literal ends with its `{n}`)
 * and odd indexes are literal octets.
 */
export interface CommandUnit {
  parts: Buffer[];
}

/** Why the reader refused a command (RFC 5530 response codes). */
export type ReaderErrorCode = 'TOOBIG' | 'LIMIT' | 'PARSE';

/** What the reader produced from the bytes pushed so far. */
export type ReaderEvent =
  | { kind: 'unit'; unit: CommandUnit }
  /** A synchronizing literal was accepted: send a continuation request (RFC 9051 §7.5). */
  | { kind: 'continue' }
  /** A bound was broken; `fatal` means the connection must end with BYE. */
  | { kind: 'error'; tag: string | null; code: ReaderErrorCode; text: string; fatal: boolean };

const LF = 0x0a;
const CR = 0x0d;
const LITERAL_AT_END = /\{(\d{1,20})(\+)?\}$/;

type State =
  | { mode: 'line' }
  | { mode: 'literal'; remaining: number; chunks: Buffer[] }
  /** Discarding a literal the client sends anyway, then the rest of the command. */
  | { mode: 'skip-literal'; remaining: number; tag: string | null; code: ReaderErrorCode; text: string }
  /** Discarding up to the end of an over-long line. */
  | { mode: 'skip-line'; tag: string | null; code: ReaderErrorCode; text: string; report: boolean };

/** The streaming reader; one per connection. */
export class CommandReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private parts: Buffer[] = [];
  private state: State = { mode: 'line' };
  /** Set by the session to read plain lines (IDLE's DONE, SASL responses) without literals. */
  rawLines = false;

  constructor(private readonly limits: ReaderLimits = DEFAULT_READER_LIMITS) {}

  /** Bytes buffered but not yet part of an event. */
  get bufferedBytes(): number {
    return this.pendingBytes + this.parts.reduce((n, p) => n + p.length, 0);
  }

  /** Drops everything buffered (after STARTTLS: RFC 9051 §6.2.1, bytes pipelined after it are discarded). */
  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.parts = [];
    this.state = { mode: 'line' };
  }

  /** Feeds bytes; returns the events they complete, in order. */
  push(chunk: Uint8Array): ReaderEvent[] {
    if (chunk.length > 0) {
      this.pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.pendingBytes += chunk.length;
    }
    const out: ReaderEvent[] = [];
    for (;;) {
      const ev = this.step();
      if (ev === null) break;
      if (ev !== 'progress') out.push(ev);
      if (ev !== 'progress' && ev.kind === 'error' && ev.fatal) {
        this.reset();
        break;
      }
    }
    return out;
  }

  /** Takes n buffered bytes (n <= pendingBytes). */
  private take(n: number): Buffer {
    const first = this.pending[0]!;
    if (first.length >= n) {
      const head = first.subarray(0, n);
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      this.pendingBytes -= n;
      return head;
    }
    const all = Buffer.concat(this.pending);
    this.pending = all.length > n ? [all.subarray(n)] : [];
    this.pendingBytes -= n;
    return all.subarray(0, n);
  }

  /** Offset of the first LF in the pending bytes, or -1. */
  private findLf(limit: number): number {
    let offset = 0;
    for (const b of this.pending) {
      const i = b.indexOf(LF);
      if (i >= 0 && offset + i <= limit) return offset + i;
      if (i >= 0) return offset + i;
      offset += b.length;
      if (offset > limit) return -1;
    }
    return -1;
  }

  private step(): ReaderEvent | 'progress' | null {
    const s = this.state;
    if (s.mode === 'literal') {
      if (this.pendingBytes === 0) return null;
      const n = Math.min(s.remaining, this.pendingBytes);
      s.chunks.push(Buffer.from(this.take(n)));
      s.remaining -= n;
      if (s.remaining > 0) return null;
      this.parts.push(s.chunks.length === 1 ? s.chunks[0]! : Buffer.concat(s.chunks));
      this.state = { mode: 'line' };
      return 'progress';
    }
    if (s.mode === 'skip-literal') {
      if (this.pendingBytes === 0) return null;
      const n = Math.min(s.remaining, this.pendingBytes);
      this.take(n);
      s.remaining -= n;
      if (s.remaining > 0) return null;
      this.state = { mode: 'skip-line', tag: s.tag, code: s.code, text: s.text, report: true };
      return 'progress';
    }
    const lf = this.findLf(this.limits.maxLineBytes + 1);
    if (s.mode === 'skip-line') {
      if (lf < 0) {
        // Keep discarding; hold nothing.
        if (this.pendingBytes > 0) this.take(this.pendingBytes);
        return null;
      }
      const line = this.take(lf + 1);
      const body = stripEol(line);
      const m = LITERAL_AT_END.exec(body.toString('latin1'));
      if (m && m[2]) {
        // The rest of this command carries another non-synchronizing literal: skip it too.
        this.state = { mode: 'skip-literal', remaining: Number(m[1]), tag: s.tag, code: s.code, text: s.text };
        return 'progress';
      }
      this.state = { mode: 'line' };
      this.parts = [];
      return s.report ? { kind: 'error', tag: s.tag, code: s.code, text: s.text, fatal: false } : 'progress';
    }
    // mode === 'line'
    if (lf < 0) {
      if (this.pendingBytes > this.limits.maxLineBytes) {
        const tag = this.parts.length > 0 ? tagOf(this.parts[0]!) : tagOf(this.peekBytes(64));
        this.take(this.pendingBytes);
        this.parts = [];
        this.state = { mode: 'skip-line', tag, code: 'LIMIT', text: 'line too long', report: true };
        return 'progress';
      }
      return null;
    }
    const line = this.take(lf + 1);
    const text = stripEol(line);
    if (text.length > this.limits.maxLineBytes) {
      const tag = tagOf(this.parts[0] ?? text);
      this.parts = [];
      return { kind: 'error', tag, code: 'LIMIT', text: 'line too long', fatal: false };
    }
    if (this.rawLines && this.parts.length === 0) {
      return { kind: 'unit', unit: { parts: [Buffer.from(text)] } };
    }
    const m = LITERAL_AT_END.exec(text.subarray(Math.max(0, text.length - 24)).toString('latin1'));
    if (!m) {
      this.parts.push(Buffer.from(text));
      const unit = { parts: this.parts };
      this.parts = [];
      return { kind: 'unit', unit };
    }
    const size = Number(m[1]);
    const nonSync = m[2] === '+';
    this.parts.push(Buffer.from(text));
    const tag = tagOf(this.parts[0]!);
    const isAppend = /^\S+ APPEND /i.test(this.parts[0]!.subarray(0, 300).toString('latin1'));
    const max = isAppend ? this.limits.maxAppendLiteralBytes : this.limits.maxOtherLiteralBytes;
    const literals = (this.parts.length - 1) / 2 + 1;
    let refusal: { code: ReaderErrorCode; text: string } | null = null;
    if (size > max) refusal = { code: 'TOOBIG', text: `literal of ${size} bytes exceeds the limit of ${max}` };
    else if (literals > this.limits.maxLiteralsPerCommand) refusal = { code: 'LIMIT', text: 'too many literals in one command' };
    if (refusal) {
      this.parts = [];
      if (!nonSync) {
        // RFC 9051 §4.3: the client waits for "+" before sending a synchronizing literal, so a
        // tagged refusal now means it will not send the octets.
        return { kind: 'error', tag, code: refusal.code, text: refusal.text, fatal: false };
      }
      if (size > this.limits.maxSkipBytes) {
        // RFC 7888 §4-5: a non-synchronizing literal we cannot take ends the connection.
        return { kind: 'error', tag, code: refusal.code, text: refusal.text, fatal: true };
      }
      this.state = { mode: 'skip-literal', remaining: size, tag, code: refusal.code, text: refusal.text };
      return 'progress';
    }
    this.state = { mode: 'literal', remaining: size, chunks: [] };
    if (size === 0) {
      this.parts.push(Buffer.alloc(0));
      this.state = { mode: 'line' };
    }
    return nonSync ? 'progress' : { kind: 'continue' };
  }

  private peekBytes(n: number): Buffer {
    const b = this.pending[0] ?? Buffer.alloc(0);
    return b.subarray(0, n);
  }
}

function stripEol(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === LF) end--;
  if (end > 0 && line[end - 1] === CR) end--;
  return line.subarray(0, end);
}

/** The tag at the start of a command line, when it looks like one (RFC 9051 §9 tag). */
export function tagOf(line: Buffer): string | null {
  const sp = line.indexOf(0x20);
  const raw = (sp < 0 ? line : line.subarray(0, sp)).subarray(0, 64).toString('latin1');
  return isTag(raw) ? raw : null;
}

/** RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+">. */
export function isTag(s: string): boolean {
  if (s.length === 0 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
    if (c === 0x28 || c === 0x29 || c === 0x7b || c === 0x25 || c === 0x2a || c === 0x22 || c === 0x5c || c === 0x2b) return false;
  }
  return true;
}
