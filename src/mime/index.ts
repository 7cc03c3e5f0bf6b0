/**
 * MIME: parse a message once, at delivery, into plain JSON data that IMAP FETCH, IMAP SEARCH and
 * JMAP Email/get read without re-parsing.
 *
 * Implements RFC 5322 (header fields, addresses, dates), RFC 2045/2046 (MIME structure,
 * transfer encodings), RFC 2047 (encoded-words), RFC 2231 (parameter continuations and
 * charsets), RFC 6532 (raw UTF-8 headers), RFC 5256 §2.1 (base subject), and the data behind
 * IMAP BODYSTRUCTURE / ENVELOPE / section numbers (RFC 9051 §6.4.5, §7.5.2; RFC 3501 §7.4.2).
 *
 * Invariants: parseMessage is pure and synchronous, never throws, and is bounded by MimeLimits
 * (nesting depth, part count, header bytes, text sizes) with work linear in the message size
 * times the depth bound. All offsets in the result are exact byte offsets into the raw input,
 * whether it uses CRLF or bare LF line endings. The result is JSON data: JSON.parse(JSON.stringify(x))
 * deep-equals x.
 */
import { asBuffer } from './bytes.js';
import { buildEnvelope, parseMessageIds } from './envelope.js';
import { getHeader } from './headers.js';
import { baseSubject } from './subject.js';
import { extractText, headerText } from './text.js';
import { parseTree } from './tree.js';
import { parseDate } from './date.js';
import type { MimeLimits, ParsedMessage } from './types.js';

export type {
  Address,
  AddressGroup,
  AddressList,
  AttachmentSummary,
  Disposition,
  EncapsulatedMessage,
  Envelope,
  MimeLimits,
  MimePart,
  ParsedMessage,
} from './types.js';
export type { HeaderBlock, HeaderField, ParseHeadersOptions } from './headers.js';
export { parseHeaders, getHeader } from './headers.js';
export { decodeTransferEncoding } from './transferEncoding.js';
export { decodeCharset, isKnownCharset } from './charset.js';
export { decodeEncodedWords } from './encodedWords.js';
export { parseAddressList } from './address.js';
export { parseParameterised, parseContentType } from './params.js';
export { parseDate } from './date.js';
export { baseSubject } from './subject.js';
export { parseMessageIds } from './envelope.js';
export { htmlToText } from './html.js';
export { findPart, walkParts } from './sections.js';
export { partFileName } from './text.js';

/** Version of the parser's output; bump it whenever ParsedMessage changes for the same input. */
export const MIME_PARSER_VERSION = 1;

/** Bounds used when parseMessage is not given others. */
export const DEFAULT_MIME_LIMITS: Readonly<MimeLimits> = Object.freeze({
  maxDepth: 32,
  maxParts: 1000,
  maxHeaderBytes: 256 * 1024,
  maxBodyTextChars: 256 * 1024,
  maxHeaderTextChars: 64 * 1024,
  maxPreviewChars: 256,
});

/** Parses a raw message into its stored form; pure, synchronous, bounded, never throws. */
export function parseMessage(raw: Uint8Array, limits: Partial<MimeLimits> = {}): ParsedMessage {
  const lim: MimeLimits = { ...DEFAULT_MIME_LIMITS, ...limits };
  try {
    return parseUnchecked(raw, lim);
  } catch (err) {
    // Last resort so that delivery never fails on a parser bug: store a minimal, valid result
    // whose defects say what happened. Tests assert that no input reaches this.
    return minimalResult(raw, err);
  }
}

function parseUnchecked(raw: Uint8Array, limits: MimeLimits): ParsedMessage {
  const buf = asBuffer(raw);
  const { root, fields, defects } = parseTree(buf, limits);
  const envelope = buildEnvelope(fields);
  const text = extractText(buf, root, limits);
  const messageIds = parseMessageIds(envelope.messageId, 1);
  return {
    version: MIME_PARSER_VERSION,
    size: raw.length,
    root,
    envelope,
    messageId: messageIds[0] ?? null,
    inReplyTo: parseMessageIds(envelope.inReplyTo, 100),
    references: parseMessageIds(getHeader(fields, 'references')?.value, 1000),
    baseSubject: envelope.subject === null ? '' : baseSubject(envelope.subject),
    sentAt: parseDate(envelope.date),
    searchText: { headers: headerText(fields, limits.maxHeaderTextChars), body: text.body },
    preview: text.preview,
    hasAttachment: text.attachments.length > 0,
    attachments: text.attachments,
    defects: [...defects].sort(),
  };
}

function minimalResult(raw: Uint8Array, err: unknown): ParsedMessage {
  const name = err instanceof Error ? err.name : 'unknown';
  return {
    version: MIME_PARSER_VERSION,
    size: raw.length,
    root: {
      headerStart: 0,
      headerEnd: 0,
      bodyStart: 0,
      bodyEnd: raw.length,
      type: 'application',
      subtype: 'octet-stream',
      params: {},
      id: null,
      description: null,
      encoding: '7bit',
      size: raw.length,
      lines: null,
      md5: null,
      disposition: null,
      language: null,
      location: null,
    },
    envelope: {
      date: null, subject: null, subjectRaw: null, from: null, sender: null, replyTo: null,
      to: null, cc: null, bcc: null, inReplyTo: null, messageId: null,
    },
    messageId: null,
    inReplyTo: [],
    references: [],
    baseSubject: '',
    sentAt: null,
    searchText: { headers: '', body: '' },
    preview: '',
    hasAttachment: false,
    attachments: [],
    defects: [`internal-error:${name}`],
  };
}
export { invariantViolations } from './invariants.js';
