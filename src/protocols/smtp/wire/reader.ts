/**
 * Bytes in, command lines and message data out (no I/O, no core imports).
 *
 * Two modes share one buffer so that pipelined bytes (RFC 2920) flow from the command that
 * announced DATA straight into the message:
 * - command mode yields lines. RFC 5321 §2.3.8 lines end in CRLF; a bare LF also ends a
 *   command line (Deviation: old scripts and `nc` send it; Postfix accepts it too), and the CR
 *   before it is dropped. A line longer than `maxLineBytes` is discarded through its end and
 *   reported as `tooLong` (RFC 5321 §4.5.3.1.4), so memory stays bounded.
 * - data mode (after 354) un-stuffs dots (RFC 5321 §4.5.2) and ends only at CRLF "." CRLF
 *   (RFC 5321 §4.1.1.4). A bare CR or bare LF anywhere in the data ends the transfer with an
 *   error at once (the SMTP smuggling class: a receiver that took "<LF>.<LF>" or
 *   "<LF>.<CR><LF>" as the end would see a second message where we see one).
 *   Bytes beyond `maxBytes`, or header bytes beyond `maxHeaderBytes`, are counted and
 *   discarded until the end marker, which is then reported with the size error.
 */

/** One result of command mode. */
export type LineResult = { kind: 'line'; line: Uint8Array } | { kind: 'tooLong' };

/** Why a message transfer failed. */
export type DataError = 'bareLf' | 'bareCr' | 'tooLarge' | 'headerTooLarge';

/** One result of data mode. */
export type DataResult =
  | { kind: 'end'; message: Uint8Array; size: number }
  | { kind: 'error'; error: 'tooLarge' | 'headerTooLarge'; size: number }
  | { kind: 'abort'; error: 'bareLf' | 'bareCr' };

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** Limits of one message transfer. */
export interface DataLimits {
  maxBytes: number;
  maxHeaderBytes: number;
}

/** The incremental SMTP reader for one connection. */
export class SmtpReader {
  private buf: Buffer = Buffer.alloc(0);
  private skipping = false;
  private data: DataState | null = null;

  constructor(private readonly maxLineBytes: number) {}

  /** Adds received bytes. */
  push(chunk: Uint8Array): void {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
  }

  /** Bytes received and not yet consumed. */
  get pendingBytes(): number {
    return this.buf.length;
  }

  /** Drops every buffered byte (RFC 3207 §4.2: nothing pipelined after STARTTLS is kept). */
  discardPending(): void {
    this.buf = Buffer.alloc(0);
    this.skipping = false;
  }

  /** The next command line, or null when more bytes are needed. */
  nextLine(): LineResult | null {
    if (this.data) throw new Error('nextLine() in data mode');
    for (;;) {
      const lf = this.buf.indexOf(LF);
      if (lf < 0) {
        if (this.buf.length > this.maxLineBytes) {
          // Keep nothing of an over-long line; remember to report it at its end.
          this.skipping = true;
          this.buf = Buffer.alloc(0);
        }
        return null;
      }
      const end = lf > 0 && this.buf[lf - 1] === CR ? lf - 1 : lf;
      const line = this.buf.subarray(0, end);
      this.buf = this.buf.subarray(lf + 1);
      if (this.skipping || end > this.maxLineBytes) {
        this.skipping = false;
        return { kind: 'tooLong' };
      }
      return { kind: 'line', line: Uint8Array.from(line) };
    }
  }

  /** Switches to data mode (after the 354 reply). */
  startData(limits: DataLimits): void {
    this.data = new DataState(limits);
  }

  /** Whether the reader is in data mode. */
  get inData(): boolean {
    return this.data !== null;
  }

  /** Consumes buffered bytes as message data; the result, or null when more are needed. */
  nextData(): DataResult | null {
    const d = this.data;
    if (!d) throw new Error('nextData() in command mode');
    const { consumed, result } = d.feed(this.buf);
    this.buf = this.buf.subarray(consumed);
    if (result) this.data = null;
    return result;
  }
}

/**
 * The DATA state machine, exported for property tests. Input positions: `lineStart` (the
 * previous bytes ended a line, or nothing was read yet), `cr` (the previous byte was CR),
 * `dot` (a line began with "." that may be the end marker), `dotCr` ("." then CR).
 */
export class DataState {
  private state: 'lineStart' | 'mid' | 'cr' | 'dot' | 'dotCr' = 'lineStart';
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private kept = 0;
  private inHeader = true;
  private headerBytes = 0;
  private emptyLine = false;
  private overflow: 'tooLarge' | 'headerTooLarge' | null = null;

  constructor(private readonly limits: DataLimits) {}

  /** Feeds bytes (all are consumed unless the transfer ends inside them); the result once it ended. */
  feed(input: Buffer): { consumed: number; result: DataResult | null } {
    let start = 0; // start of the current run of bytes to keep
    for (let i = 0; i < input.length; i++) {
      const b = input[i]!;
      switch (this.state) {
        case 'lineStart':
          if (b === DOT) {
            this.keep(input, start, i);
            start = i + 1; // RFC 5321 §4.5.2: drop the first dot of a line
            this.state = 'dot';
          } else if (b === CR) {
            this.emptyLine = true;
            this.state = 'cr';
          } else if (b === LF) return { consumed: i + 1, result: { kind: 'abort', error: 'bareLf' } };
          else this.state = 'mid';
          break;
        case 'mid': {
          // Skip to the line's end with native searches instead of byte by byte: the bulk of
          // a message is line middles.
          const cr = input.indexOf(CR, i);
          const lf = input.indexOf(LF, i);
          if (lf !== -1 && (cr === -1 || lf < cr)) return { consumed: lf + 1, result: { kind: 'abort', error: 'bareLf' } };
          if (cr === -1) {
            i = input.length - 1;
            break;
          }
          i = cr;
          this.state = 'cr';
          break;
        }
        case 'cr':
          if (b !== LF) return { consumed: i + 1, result: { kind: 'abort', error: 'bareCr' } };
          this.keep(input, start, i + 1);
          start = i + 1;
          // The header ends at the first empty line (RFC 5322 §2.1).
          if (this.emptyLine) this.inHeader = false;
          this.emptyLine = false;
          this.state = 'lineStart';
          break;
        case 'dot':
          if (b === CR) {
            start = i + 1; // this CR belongs to the end marker unless an error follows
            this.state = 'dotCr';
          } else if (b === LF) return { consumed: i + 1, result: { kind: 'abort', error: 'bareLf' } };
          else this.state = 'mid';
          break;
        case 'dotCr':
          if (b !== LF) return { consumed: i + 1, result: { kind: 'abort', error: 'bareCr' } };
          // RFC 5321 §4.1.1.4: CRLF "." CRLF ends the data; the CRLF before the dot ends the last line.
          return { consumed: i + 1, result: this.finish() };
      }
    }
    this.keep(input, start, input.length);
    return { consumed: input.length, result: null };
  }

  private keep(input: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.size += to - from;
    if (this.inHeader) this.headerBytes += to - from;
    if (this.overflow) return;
    if (this.size > this.limits.maxBytes) {
      this.overflow = 'tooLarge';
      this.chunks.length = 0;
      return;
    }
    if (this.inHeader && this.headerBytes > this.limits.maxHeaderBytes) {
      this.overflow = 'headerTooLarge';
      this.chunks.length = 0;
      return;
    }
    this.chunks.push(Buffer.from(input.subarray(from, to)));
    this.kept += to - from;
  }

  private finish(): DataResult {
    if (this.overflow) return { kind: 'error', error: this.overflow, size: this.size };
    return { kind: 'end', message: Buffer.concat(this.chunks, this.kept), size: this.size };
  }
}
