/** Small byte helpers shared by the MIME parser; no Node APIs beyond Buffer views. */
import { Buffer, isUtf8 } from 'node:buffer';
import { decodeWindows1252 } from './charset.js';

/** Carriage return. */
export const CR = 13;
/** Line feed. */
export const LF = 10;
/** Space. */
export const SP = 32;
/** Horizontal tab. */
export const HT = 9;

/** A Buffer view over the same memory (no copy), for its native indexOf and latin1 slicing. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Offset just past the next LF at or after `pos`, or `end` when the line is unterminated. */
export function nextLineStart(buf: Buffer, pos: number, end: number): number {
  const lf = buf.indexOf(LF, pos);
  return lf === -1 || lf >= end ? end : lf + 1;
}

/** Offset where the line ending (CRLF or bare LF) of the line [start, next) begins. */
export function lineContentEnd(buf: Buffer, start: number, next: number): number {
  let e = next;
  if (e > start && buf[e - 1] === LF) {
    e--;
    if (e > start && buf[e - 1] === CR) e--;
  }
  return e;
}

/**
 * Decodes header bytes to a string: UTF-8 when the bytes are valid UTF-8 (RFC 6532 allows raw
 * UTF-8 in header fields), otherwise windows-1252 (the usual meaning of stray 8-bit bytes).
 */
export function headerBytesToString(buf: Buffer, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if ((buf[i] as number) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return buf.toString('latin1', start, end);
  const slice = buf.subarray(start, end);
  if (isUtf8(slice)) return slice.toString('utf8');
  return decodeWindows1252(slice);
}

/** Text lines as IMAP body-fld-lines counts them: LFs, plus one for a final unterminated line. */
export function countLines(buf: Buffer, start: number, end: number): number {
  if (end <= start) return 0;
  let n = 0;
  let pos = start;
  for (;;) {
    const lf = buf.indexOf(LF, pos);
    if (lf === -1 || lf >= end) break;
    n++;
    pos = lf + 1;
  }
  if (buf[end - 1] !== LF) n++;
  return n;
}
