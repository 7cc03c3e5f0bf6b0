/**
 * Header blocks (RFC 5322 §2.2, §3.6; obsolete forms of §4.5): finds where a part's header
 * ends and splits it into unfolded fields with their byte offsets.
 */
import type { Buffer } from 'node:buffer';
import { asBuffer, headerBytesToString, HT, lineContentEnd, nextLineStart, SP } from './bytes.js';

/** One header field: its name as written, its unfolded value, and where its bytes are. */
export interface HeaderField {
  /** Field name as written (case kept). */
  name: string;
  /** Unfolded value (RFC 5322 §2.2.3), trimmed; UTF-8 or windows-1252 decoded, not RFC 2047 decoded. */
  value: string;
  /** Offset of the field's first byte. */
  start: number;
  /** Offset just past the field's last line ending (continuation lines included). */
  end: number;
}

/** A parsed header block: its fields and where it ends. */
export interface HeaderBlock {
  fields: HeaderField[];
  /**
   * Offset just past the header block. When the block ends with an empty line, that line is
   * included (so [start, end) is what IMAP BODY[HEADER] / BODY[n.MIME] returns); the body starts here.
   */
  end: number;
  /** False when no empty line ended the block (it ran to the end, or a non-header line began the body). */
  hasSeparator: boolean;
  /** True when fields past maxHeaderBytes were not parsed. */
  isTruncated: boolean;
}

/** Options for parseHeaders. */
export interface ParseHeadersOptions {
  /** Only fields starting within this many bytes of `start` are parsed (the block is still spanned). */
  maxHeaderBytes?: number;
  /** Skip a leading mbox "From " line (seen in stored mail files, never on the wire). */
  allowMboxFrom?: boolean;
}

/** ftext (RFC 5322 §3.6.8): printable US-ASCII except ":". */
function isFtext(c: number): boolean {
  return c >= 33 && c <= 126 && c !== 58;
}

/**
 * Parses the header block that starts at `start` and lies within [start, end). The block ends
 * at the first empty line; a line that is neither a field nor a continuation also ends it (it
 * becomes the first body line, as lenient parsers do). Never throws.
 */
export function parseHeaders(bytes: Uint8Array, start: number, end: number, options: ParseHeadersOptions = {}): HeaderBlock {
  // Search a view that stops at `end` so that no scan runs past the part (keeps nesting linear).
  const buf = asBuffer(bytes).subarray(0, Math.min(end, bytes.length));
  end = buf.length;
  const limit = start + (options.maxHeaderBytes ?? 256 * 1024);
  const fields: HeaderField[] = [];
  let isTruncated = false;
  let pos = start;
  let fieldStart = -1;
  let valueStart = -1;
  let fieldName = '';
  let fieldEnd = -1;

  const finish = (): void => {
    if (fieldStart < 0) return;
    const vEnd = lineContentEnd(buf, fieldStart, Math.min(fieldEnd, Math.max(limit, valueStart)));
    fields.push({ name: fieldName, value: unfold(buf, valueStart, Math.max(vEnd, valueStart)), start: fieldStart, end: fieldEnd });
    fieldStart = -1;
  };

  if (options.allowMboxFrom && buf.toString('latin1', start, Math.min(start + 5, end)) === 'From ') {
    pos = nextLineStart(buf, start, end);
  }

  while (pos < end) {
    const next = nextLineStart(buf, pos, end);
    const contentEnd = lineContentEnd(buf, pos, next);
    if (contentEnd === pos && next > pos) {
      finish();
      return { fields, end: next, hasSeparator: true, isTruncated };
    }
    const c = buf[pos] as number;
    if (c === SP || c === HT) {
      // Continuation line (RFC 5322 §2.2.3); one before any field is ignored.
      if (fieldStart >= 0) fieldEnd = next;
      pos = next;
      continue;
    }
    let n = pos;
    while (n < contentEnd && isFtext(buf[n] as number)) n++;
    let colon = n;
    while (colon < contentEnd && (buf[colon] === SP || buf[colon] === HT)) colon++; // RFC 5322 §4.5 obs: WSP before ":"
    if (n === pos || buf[colon] !== 58) {
      // Not a header line: the body starts here (no separator).
      finish();
      return { fields, end: pos, hasSeparator: false, isTruncated };
    }
    finish();
    if (pos < limit) {
      fieldStart = pos;
      fieldName = buf.toString('latin1', pos, n);
      valueStart = colon + 1;
      fieldEnd = next;
    } else {
      isTruncated = true;
    }
    pos = next;
  }
  finish();
  return { fields, end, hasSeparator: false, isTruncated };
}

function unfold(buf: Buffer, start: number, end: number): string {
  let s = headerBytesToString(buf, start, end);
  // Every line break inside a field precedes WSP, so removing them is exactly unfolding.
  if (s.indexOf('\n') !== -1 || s.indexOf('\r') !== -1) s = s.replace(/\r?\n|\r/g, '');
  return s.trim();
}

/** First field with this (case-insensitive) name, or undefined. */
export function getHeader(fields: readonly HeaderField[], name: string): HeaderField | undefined {
  const lower = name.toLowerCase();
  for (const f of fields) if (f.name.length === lower.length && f.name.toLowerCase() === lower) return f;
  return undefined;
}

