/**
 * POP3 line reader: bytes in, command lines out (RFC 1939 §3, RFC 2449 §4). Pure: no I/O.
 *
 * - A line ends at LF; a CR before it is dropped. Bare-LF endings are accepted (lenient in
 *   what we accept; the line still has to fit the limit).
 * - A line longer than the limit (255 octets including CRLF, RFC 2449 §4) is discarded up to
 *   its LF and reported once as `too-long`; its bytes never become a command.
 * - A line with a NUL octet is reported as `nul` and never becomes a command.
 * - Memory is bounded by the limit: an over-long line is skipped, not buffered.
 */

/** One event of the reader. */
export type ReaderEvent = { kind: 'line'; line: Uint8Array } | { kind: 'too-long' } | { kind: 'nul' };

/** Largest command line, including CRLF (RFC 2449 §4). */
export const MAX_COMMAND_LINE_BYTES = 255;

const LF = 0x0a;
const CR = 0x0d;

/** Splits a byte stream into bounded lines. */
export class LineReader {
  private buf: Uint8Array = new Uint8Array(0);
  private skipping = false;

  /** `maxLineBytes` counts the line with its CRLF. */
  constructor(public maxLineBytes: number = MAX_COMMAND_LINE_BYTES) {}

  /** Feeds bytes; returns the events they complete, in order. */
  push(chunk: Uint8Array): ReaderEvent[] {
    const out: ReaderEvent[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== LF) continue;
      this.finishLine(chunk.subarray(start, i), out);
      start = i + 1;
    }
    this.keep(chunk.subarray(start));
    return out;
  }

  /** Drops buffered bytes (RFC 2595 §4: nothing sent before STLS completes carries over). */
  reset(): void {
    this.buf = new Uint8Array(0);
    this.skipping = false;
  }

  /** Bytes waiting for their line end. */
  get pendingBytes(): number {
    return this.buf.length;
  }

  private finishLine(tail: Uint8Array, out: ReaderEvent[]): void {
    if (this.skipping) {
      this.skipping = false;
      this.buf = new Uint8Array(0);
      out.push({ kind: 'too-long' });
      return;
    }
    const line = concat(this.buf, tail);
    this.buf = new Uint8Array(0);
    // The limit counts CRLF, so the content may hold maxLineBytes - 2 octets.
    const content = line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
    if (content.length + 2 > this.maxLineBytes) out.push({ kind: 'too-long' });
    else if (content.includes(0)) out.push({ kind: 'nul' });
    else out.push({ kind: 'line', line: content });
  }

  private keep(rest: Uint8Array): void {
    if (this.skipping) return;
    // Without its LF a line can be one CR longer than its content.
    if (this.buf.length + rest.length + 1 > this.maxLineBytes) {
      this.skipping = true;
      this.buf = new Uint8Array(0);
      return;
    }
    this.buf = concat(this.buf, rest);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
