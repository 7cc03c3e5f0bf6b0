/**
 * POP3 responses to bytes (RFC 1939 §3, RFC 2449 §8). Pure: no I/O.
 *
 * - A status line is "+OK" or "-ERR", an optional response code in brackets (RFC 2449 §8),
 *   and text; it never exceeds 512 octets with CRLF (RFC 2449 §4) and never holds CR or LF.
 * - A multi-line body is byte-stuffed and ends with ".CRLF" (RFC 1939 §3). Message bodies go
 *   through `MessageEncoder`, which also turns every line ending into CRLF, in chunks.
 */

/** Extended response codes (RFC 2449 §8, RFC 3206). */
export const RESP_CODE = {
  /** RFC 2449 §8.1.2: the maildrop is locked by another session. */
  inUse: 'IN-USE',
  /** RFC 2449 §8.1.1: logged in too recently (not used: no LOGIN-DELAY policy). */
  loginDelay: 'LOGIN-DELAY',
  /** RFC 3206 §4: a temporary system problem; retry later. */
  sysTemp: 'SYS/TEMP',
  /** RFC 3206 §4: a permanent system problem; do not retry as is. */
  sysPerm: 'SYS/PERM',
  /** RFC 3206 §5: the credentials (or how they were sent) are at fault. */
  auth: 'AUTH',
} as const;

/** A response code of RESP_CODE. */
export type RespCode = (typeof RESP_CODE)[keyof typeof RESP_CODE];

/** A single-line reply. */
export interface Reply {
  ok: boolean;
  code?: RespCode;
  text: string;
}

/** Longest status line with its CRLF (RFC 2449 §4). */
export const MAX_RESPONSE_LINE_BYTES = 512;

/** A positive reply. */
export function ok(text = ''): Reply {
  return { ok: true, text };
}

/** A negative reply, with an optional response code. */
export function err(text: string, code?: RespCode): Reply {
  return code ? { ok: false, code, text } : { ok: false, text };
}

/** Formats a status line with CRLF; text is cleaned of control characters and bounded. */
export function formatReply(r: Reply): Buffer {
  const status = r.ok ? '+OK' : '-ERR';
  const head = r.code ? `${status} [${r.code}]` : status;
  const text = r.text.replace(/[\x00-\x1f\x7f]+/g, ' ');
  let line = text ? `${head} ${text}` : head;
  let bytes = Buffer.from(line + '\r\n', 'utf8');
  while (bytes.length > MAX_RESPONSE_LINE_BYTES) {
    line = line.slice(0, line.length - (bytes.length - MAX_RESPONSE_LINE_BYTES));
    bytes = Buffer.from(line + '\r\n', 'utf8');
  }
  return bytes;
}

/** A multi-line body from lines of our own making (CAPA, LIST, UIDL), byte-stuffed, with the terminator. */
export function formatLines(lines: readonly string[]): Buffer {
  return Buffer.from(lines.map((l) => (l.startsWith('.') ? '.' + l : l) + '\r\n').join('') + '.\r\n', 'utf8');
}

/** The end of a multi-line response (RFC 1939 §3). */
export const TERMINATOR = Buffer.from('.\r\n');

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * Encodes a message for RETR and TOP (RFC 1939 §7 RETR, §7 TOP): every line ending becomes
 * CRLF (a bare LF or a bare CR alike), a line that starts with "." gets a second one, and
 * with `maxBodyLines` only the header, the empty line and that many body lines pass. Feed
 * chunks in order; `end()` closes the last line, so the terminator always starts a line.
 */
export class MessageEncoder {
  private atLineStart = true;
  private pendingCr = false;
  private inBody = false;
  /** The current line is empty so far (to find the header's end). */
  private lineEmpty = true;
  private bodyLines = 0;
  private done = false;

  constructor(
    private readonly maxBodyLines: number | null = null,
    /** When false, no byte-stuffing: counts the octets a client stores (RFC 1939 §11). */
    private readonly stuff = true,
  ) {}

  /** True when TOP's line count is reached: further input is ignored. */
  get isDone(): boolean {
    return this.done;
  }

  /** Encodes one chunk. */
  push(chunk: Uint8Array): Buffer {
    if (this.done) return Buffer.alloc(0);
    // Worst case: every byte becomes CRLF or a stuffed dot.
    const out = Buffer.allocUnsafe(chunk.length * 2 + 2);
    let n = 0;
    for (let i = 0; i < chunk.length && !this.done; i++) {
      const b = chunk[i]!;
      if (this.pendingCr) {
        this.pendingCr = false;
        n = this.endLine(out, n);
        if (b === LF) continue;
        if (this.done) break;
      }
      if (b === CR) {
        this.pendingCr = true;
        continue;
      }
      if (b === LF) {
        n = this.endLine(out, n);
        continue;
      }
      if (this.atLineStart && b === DOT && this.stuff) out[n++] = DOT;
      this.atLineStart = false;
      this.lineEmpty = false;
      out[n++] = b;
    }
    return out.subarray(0, n);
  }

  /** Finishes the message: ends an unfinished last line with CRLF. */
  end(): Buffer {
    if (this.done) return Buffer.alloc(0);
    if (this.pendingCr || !this.atLineStart) {
      this.pendingCr = false;
      const out = Buffer.allocUnsafe(2);
      return out.subarray(0, this.endLine(out, 0));
    }
    return Buffer.alloc(0);
  }

  private endLine(out: Buffer, n: number): number {
    out[n++] = CR;
    out[n++] = LF;
    if (this.inBody) this.bodyLines++;
    else if (this.lineEmpty) this.inBody = true;
    this.atLineStart = true;
    this.lineEmpty = true;
    this.checkBodyLimit();
    return n;
  }

  private checkBodyLimit(): void {
    if (this.maxBodyLines !== null && this.inBody && this.bodyLines >= this.maxBodyLines) this.done = true;
  }
}

/** Octets of a message as RETR sends it before stuffing (CRLF line ends), from its chunks. */
export function wireSizeCounter(): { push(chunk: Uint8Array): void; total(): number } {
  const enc = new MessageEncoder(null, false);
  let total = 0;
  return {
    push(chunk) {
      total += enc.push(chunk).length;
    },
    total() {
      return total + enc.end().length;
    },
  };
}
