/**
 * Text for search and preview, and the attachment summary. Which parts are "the body" follows
 * the spirit of RFC 8621 §4.1.4 (JMAP textBody/htmlBody) in a simpler form: in
 * multipart/alternative the text/plain child is read (else text/html, else the first child);
 * elsewhere every inline text/plain and text/html leaf is read.
 */
import type { Buffer } from 'node:buffer';
import { decodeCharset } from './charset.js';
import { decodeEncodedWords } from './encodedWords.js';
import type { HeaderField } from './headers.js';
import { htmlToText } from './html.js';
import { decodedLength, decodeTransferEncoding } from './transferEncoding.js';
import type { AttachmentSummary, MimeLimits, MimePart } from './types.js';

/** What the text pass produces. */
export interface TextResult {
  body: string;
  preview: string;
  attachments: AttachmentSummary[];
}

// Parts that carry signatures or encryption control data, not something a user attached.
const CONTROL_TYPES = new Set([
  'application/pgp-signature',
  'application/pkcs7-signature',
  'application/x-pkcs7-signature',
  'application/pgp-encrypted',
]);

const MAX_NAMES_CHARS = 16 * 1024;

/** The file name of a part: Content-Disposition filename, else Content-Type name (RFC 2183 §2.3). */
export function partFileName(part: MimePart): string | null {
  const n = part.disposition?.params['filename'] ?? part.params['name'];
  if (n === undefined) return null;
  const t = n.trim();
  return t === '' ? null : t;
}

function isBodyText(part: MimePart): boolean {
  if (part.type !== 'text' || (part.subtype !== 'plain' && part.subtype !== 'html')) return false;
  return part.disposition?.type !== 'attachment';
}

/** Decoded text of one text part, reading at most `maxRawBytes` of its body. */
export function partText(buf: Buffer, part: MimePart, maxRawBytes: number): string {
  const raw = buf.subarray(part.bodyStart, Math.min(part.bodyEnd, part.bodyStart + maxRawBytes));
  const bytes = decodeTransferEncoding(raw, part.encoding);
  const text = decodeCharset(bytes, part.params['charset'] ?? null);
  return part.subtype === 'html' ? htmlToText(text) : text.replace(/\r\n?/g, '\n');
}

/** Collects body text (capped), the preview and the attachment summary of a tree. */
export function extractText(buf: Buffer, root: MimePart, limits: MimeLimits): TextResult {
  const texts: string[] = [];
  let textChars = 0;
  const attachments: AttachmentSummary[] = [];
  const names: string[] = [];
  let namesChars = 0;

  const previewTexts: string[] = [];
  const addText = (part: MimePart, isOwnText: boolean): void => {
    const room = limits.maxBodyTextChars - textChars;
    if (room <= 0) return;
    // Raw bytes needed for `room` characters: base64 and HTML markup both inflate; 8x covers both.
    const t = partText(buf, part, room * 8 + 1024);
    if (t === '') return;
    const kept = t.length > room ? t.slice(0, room) : t;
    texts.push(kept);
    if (isOwnText) previewTexts.push(kept);
    textChars += kept.length + 1;
  };

  const addAttachment = (part: MimePart, section: string): void => {
    const name = partFileName(part);
    if (name !== null && namesChars < MAX_NAMES_CHARS) {
      names.push(name);
      namesChars += name.length + 1;
    }
    attachments.push({
      section,
      type: `${part.type}/${part.subtype}`,
      name,
      decodedSize: decodedLength(buf.subarray(part.bodyStart, part.bodyEnd), part.encoding),
      disposition: part.disposition?.type ?? null,
      cid: part.id,
    });
  };

  // `section` is the IMAP section number of `part`; `related` is true for non-root children of
  // multipart/related (RFC 2387), whose inline images belong to the HTML, not the user;
  // `inMessage` is true inside an attached message, whose text is indexed but whose parts are
  // not attachments of this message.
  const walk = (part: MimePart, section: string, related: boolean, inMessage: boolean): void => {
    const prefix = section === '' ? '' : `${section}.`;
    if (part.parts) {
      const kids = part.parts;
      let chosen = -1;
      if (part.subtype === 'alternative') {
        chosen = kids.findIndex((k) => k.type === 'text' && k.subtype === 'plain');
        if (chosen === -1) chosen = kids.findIndex((k) => k.type === 'text' && k.subtype === 'html');
        if (chosen === -1) chosen = 0;
      }
      kids.forEach((k, i) => {
        const s = `${prefix}${i + 1}`;
        if (chosen >= 0 && i !== chosen) {
          // An alternative not read for text: still look for attachments inside multipart ones.
          if (k.parts && !inMessage) walkAttachmentsOnly(k, s);
          return;
        }
        walk(k, s, part.subtype === 'related' && i > 0, inMessage);
      });
      return;
    }
    const fullType = `${part.type}/${part.subtype}`;
    if (CONTROL_TYPES.has(fullType)) return;
    if (isBodyText(part) && !(related && partFileName(part) !== null)) {
      addText(part, !inMessage);
      return;
    }
    if (related && part.disposition?.type !== 'attachment' && part.id !== null) return; // embedded
    if (!inMessage) addAttachment(part, section);
    if (part.message) walk(part.message.root, `${section}.1`, false, true);
  };

  const walkAttachmentsOnly = (part: MimePart, section: string): void => {
    part.parts?.forEach((k, i) => {
      const s = `${section}.${i + 1}`;
      if (k.parts) walkAttachmentsOnly(k, s);
      else if (!isBodyText(k) && !CONTROL_TYPES.has(`${k.type}/${k.subtype}`) && k.id === null) addAttachment(k, s);
    });
  };

  walk(root, root.parts ? '' : '1', false, false);

  let body = texts.join('\n');
  if (names.length > 0) body += `${body === '' ? '' : '\n'}${names.join('\n')}`;
  const head = previewTexts.join(' ').slice(0, limits.maxPreviewChars * 8);
  const preview = head.replace(/\s+/g, ' ').trim().slice(0, limits.maxPreviewChars);
  return { body, preview, attachments };
}

/** "name: value" lines of a header block, encoded-words decoded, capped at `maxChars`. */
export function headerText(fields: readonly HeaderField[], maxChars: number): string {
  let out = '';
  for (const f of fields) {
    const line = `${f.name}: ${decodeEncodedWords(f.value)}\n`;
    if (out.length + line.length > maxChars) {
      out += line.slice(0, maxChars - out.length);
      break;
    }
    out += line;
  }
  return out.endsWith('\n') ? out.slice(0, -1) : out;
}
