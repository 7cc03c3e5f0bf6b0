/**
 * The MIME part tree with byte offsets (RFC 2045, RFC 2046 §5.1 multipart, §5.2.1 message/rfc822).
 *
 * Invariants: every offset lies within [0, raw.length]; a child's header and body lie within its
 * parent's body; bodyStart === headerEnd; the number of parts never exceeds limits.maxParts and
 * containers nest at most limits.maxDepth deep. Each container scans only its own body for its
 * own boundary, with searches that stop at the body's end, so the work is at most
 * O(maxDepth × raw.length).
 */
import { Buffer } from 'node:buffer';
import { asBuffer, countLines, CR, HT, LF, SP } from './bytes.js';
import { decodeEncodedWords } from './encodedWords.js';
import { buildEnvelope } from './envelope.js';
import { getHeader, parseHeaders, type HeaderField } from './headers.js';
import { parseContentType, parseParameterised } from './params.js';
import type { MimeLimits, MimePart } from './types.js';

interface Ctx {
  buf: Buffer;
  limits: MimeLimits;
  partCount: number;
  defects: Set<string>;
}

/** The part tree, the top-level header fields, and defect codes met on the way. */
export interface TreeResult {
  root: MimePart;
  fields: HeaderField[];
  defects: Set<string>;
}

/** Builds the part tree of a whole message. */
export function parseTree(raw: Uint8Array, limits: MimeLimits): TreeResult {
  const ctx: Ctx = { buf: asBuffer(raw), limits, partCount: 0, defects: new Set() };
  const { part, fields } = parsePart(ctx, 0, raw.length, 0, false, true);
  return { root: part, fields, defects: ctx.defects };
}

// Content-Transfer-Encodings under which the body bytes are the content itself (RFC 2045 §6.2).
const IDENTITY = new Set(['7bit', '8bit', 'binary']);

function stripComments(s: string): string {
  return s.replace(/\([^()]*\)/g, ' ').trim();
}

function parsePart(
  ctx: Ctx,
  start: number,
  end: number,
  depth: number,
  isDigestChild: boolean,
  isTop: boolean,
): { part: MimePart; fields: HeaderField[] } {
  ctx.partCount++;
  const block = parseHeaders(ctx.buf, start, end, { maxHeaderBytes: ctx.limits.maxHeaderBytes, allowMboxFrom: isTop });
  if (block.isTruncated) ctx.defects.add('header-limit');
  const fields = block.fields;
  const bodyStart = block.end;

  let type = isDigestChild ? 'message' : 'text'; // RFC 2046 §5.1.5 digest default; RFC 2045 §5.2
  let subtype = isDigestChild ? 'rfc822' : 'plain';
  let params: Record<string, string> = isDigestChild ? {} : { charset: 'us-ascii' };
  const ct = getHeader(fields, 'content-type');
  if (ct) {
    const parsed = parseContentType(ct.value);
    if (parsed) {
      ({ type, subtype, params } = parsed);
    } else {
      // RFC 2045 §5.2: an invalid Content-Type means text/plain; charset=us-ascii.
      ctx.defects.add('invalid-content-type');
      type = 'text';
      subtype = 'plain';
      params = { charset: 'us-ascii' };
    }
  }
  const cte = getHeader(fields, 'content-transfer-encoding');
  const encoding = (cte ? stripComments(cte.value).toLowerCase() : '') || '7bit';
  const cd = getHeader(fields, 'content-disposition');
  let disposition: MimePart['disposition'] = null;
  if (cd) {
    const d = parseParameterised(cd.value);
    if (d.value !== '') disposition = { type: d.value.toLowerCase(), params: d.params };
  }
  const lang = getHeader(fields, 'content-language');
  const language = lang
    ? stripComments(lang.value)
        .split(/[\s,]+/)
        .filter((t) => t !== '')
    : null;
  const idField = getHeader(fields, 'content-id');
  const desc = getHeader(fields, 'content-description');
  const md5 = getHeader(fields, 'content-md5');
  const loc = getHeader(fields, 'content-location');
  const isMessage = type === 'message' && (subtype === 'rfc822' || subtype === 'global');

  const part: MimePart = {
    headerStart: start,
    headerEnd: bodyStart,
    bodyStart,
    bodyEnd: end,
    type,
    subtype,
    params,
    id: idField && idField.value !== '' ? idField.value : null,
    description: desc ? decodeEncodedWords(desc.value) : null,
    encoding,
    size: end - bodyStart,
    lines: type === 'text' || isMessage ? countLines(ctx.buf, bodyStart, end) : null,
    md5: md5 && md5.value !== '' ? md5.value : null,
    disposition,
    language: language && language.length > 0 ? language : null,
    location: loc && loc.value !== '' ? loc.value.replace(/\s+/g, '') : null,
  };

  if (type === 'multipart') {
    part.parts = [];
    const boundary = params['boundary'];
    if (depth >= ctx.limits.maxDepth) ctx.defects.add('depth-limit');
    else if (!boundary) ctx.defects.add('no-boundary');
    else part.parts = parseMultipart(ctx, bodyStart, end, boundary, depth + 1, subtype === 'digest');
  } else if (isMessage) {
    if (!IDENTITY.has(encoding)) {
      ctx.defects.add('encoded-message'); // RFC 2046 §5.2.1 forbids it; not parsed
    } else if (depth >= ctx.limits.maxDepth) {
      ctx.defects.add('depth-limit');
    } else if (ctx.partCount >= ctx.limits.maxParts) {
      ctx.defects.add('part-limit');
    } else {
      const inner = parsePart(ctx, bodyStart, end, depth + 1, false, false);
      part.message = { envelope: buildEnvelope(inner.fields), root: inner.part };
    }
  }
  return { part, fields };
}

/**
 * Splits a multipart body at its delimiter lines (RFC 2046 §5.1.1). The CRLF before a delimiter
 * belongs to the delimiter, so a child's body ends before it. A missing close delimiter ends the
 * last child at the end of the container; text after the close delimiter is the epilogue.
 */
function parseMultipart(ctx: Ctx, start: number, end: number, boundary: string, depth: number, isDigest: boolean): MimePart[] {
  const buf = ctx.buf.subarray(0, end); // searches never run past this container
  const dash = Buffer.from(`--${boundary}`, 'utf8');
  const children: MimePart[] = [];
  let childStart = -1;
  let pos = start;
  for (;;) {
    const hit = findDelimiter(buf, dash, start, pos);
    if (childStart >= 0) {
      let childEnd = hit ? hit.lineStart : end;
      if (hit) {
        if (childEnd > childStart && buf[childEnd - 1] === LF) childEnd--;
        if (childEnd > childStart && buf[childEnd - 1] === CR) childEnd--;
      }
      if (ctx.partCount >= ctx.limits.maxParts) {
        ctx.defects.add('part-limit');
        return children;
      }
      children.push(parsePart(ctx, childStart, Math.max(childStart, childEnd), depth, isDigest, false).part);
    }
    if (!hit) {
      if (childStart >= 0) ctx.defects.add('unclosed-multipart');
      else ctx.defects.add('boundary-not-found');
      return children;
    }
    if (hit.isClose) return children;
    childStart = hit.next;
    pos = hit.next;
  }
}

interface Delimiter {
  lineStart: number;
  next: number;
  isClose: boolean;
}

/**
 * Finds the next delimiter line at or after `from`: "--" boundary ["--"] then only transport
 * padding (RFC 2046 §5.1.1 allows trailing whitespace) up to the line end.
 */
function findDelimiter(buf: Buffer, dash: Buffer, bodyStart: number, from: number): Delimiter | null {
  let p = from;
  for (;;) {
    const i = buf.indexOf(dash, p);
    if (i === -1) return null;
    p = i + 1;
    if (i !== bodyStart && buf[i - 1] !== LF) continue;
    let j = i + dash.length;
    let isClose = false;
    if (buf[j] === 0x2d && buf[j + 1] === 0x2d) {
      isClose = true;
      j += 2;
    }
    while (j < buf.length && (buf[j] === SP || buf[j] === HT)) j++;
    if (j >= buf.length) return { lineStart: i, next: buf.length, isClose };
    if (buf[j] === LF) return { lineStart: i, next: j + 1, isClose };
    if (buf[j] === CR && (j + 1 >= buf.length || buf[j + 1] === LF)) return { lineStart: i, next: Math.min(j + 2, buf.length), isClose };
  }
}
