/**
 * FETCH data built from the stored ParsedMessage (DESIGN.md "Parse once"): ENVELOPE
 * (RFC 9051 §7.5.2), BODY and BODYSTRUCTURE (RFC 9051 §7.5.2, RFC 3501 §7.4.2), and byte
 * ranges of body sections (RFC 9051 §6.4.5) read from the blob by range.
 */
import type { Address, AddressList, Envelope, MimePart, ParsedMessage } from '../../../mime/index.js';
import { findPart } from '../../../mime/index.js';
import type { Section } from '../wire/commands/fetch.js';
import { atom, nstr, type WireValue } from '../wire/responses.js';

/** RFC 2047 B-encodes text with 8-bit characters for clients without UTF-8. */
function enc(s: string | null, utf8: boolean): WireValue {
  if (s === null) return null;
  if (utf8 || /^[\x00-\x7f]*$/.test(s)) return { str: s };
  return { str: `=?utf-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=` };
}

function address(a: Address, utf8: boolean): WireValue {
  return [enc(a.name, utf8), null, nstr(a.mailbox), nstr(a.host)];
}

function addressList(list: AddressList | null, utf8: boolean): WireValue {
  if (!list || list.length === 0) return null;
  const out: WireValue[] = [];
  for (const item of list) {
    if ('group' in item) {
      // RFC 9051 §7.5.2: a group is marked by NIL host: (NIL NIL "group" NIL) ... (NIL NIL NIL NIL).
      out.push([null, null, enc(item.group, utf8), null]);
      for (const a of item.addresses) out.push(address(a, utf8));
      out.push([null, null, null, null]);
    } else out.push(address(item, utf8));
  }
  return out;
}

/** RFC 9051 §7.5.2 ENVELOPE; sender and reply-to default to from. */
export function envelope(e: Envelope, utf8: boolean): WireValue {
  const from = addressList(e.from, utf8);
  const subject = e.subject !== null && !utf8 && e.subjectRaw !== null && /^[\x00-\x7f]*$/.test(e.subjectRaw) ? { str: e.subjectRaw } : enc(e.subject, utf8);
  return [
    nstr(e.date),
    subject,
    from,
    e.sender ? addressList(e.sender, utf8) : from,
    e.replyTo ? addressList(e.replyTo, utf8) : from,
    addressList(e.to, utf8),
    addressList(e.cc, utf8),
    addressList(e.bcc, utf8),
    nstr(e.inReplyTo),
    nstr(e.messageId),
  ];
}

function params(p: Record<string, string>, utf8: boolean): WireValue {
  const keys = Object.keys(p);
  if (keys.length === 0) return null;
  return keys.flatMap((k) => [nstr(k.toUpperCase()), enc(p[k]!, utf8)]);
}

function disposition(part: MimePart, utf8: boolean): WireValue {
  if (!part.disposition) return null;
  return [nstr(part.disposition.type.toUpperCase()), params(part.disposition.params, utf8)];
}

function language(part: MimePart): WireValue {
  if (!part.language || part.language.length === 0) return null;
  return part.language.map((l) => nstr(l));
}

/** RFC 9051 §7.5.2 BODYSTRUCTURE (extensible) or BODY (non-extensible). */
export function bodyStructure(part: MimePart, extensible: boolean, utf8: boolean): WireValue {
  if (part.type === 'multipart') {
    const kids = part.parts && part.parts.length > 0 ? part.parts : null;
    // A multipart with no parsed children is shown with one empty text/plain (as Dovecot does).
    const children: WireValue[] = kids
      ? kids.map((k) => bodyStructure(k, extensible, utf8))
      : [[nstr('TEXT'), nstr('PLAIN'), [nstr('CHARSET'), nstr('us-ascii')], null, null, nstr('7BIT'), atom(0), atom(0)]];
    // RFC 9051 §9: body-type-mpart = 1*body SP media-subtype (the bodies are not separated).
    const out: WireValue[] = [{ seq: children }, nstr(part.subtype.toUpperCase())];
    if (extensible) out.push(params(part.params, utf8), disposition(part, utf8), language(part), nstr(part.location));
    return out;
  }
  // RFC 2045 §5.2: text without a charset is US-ASCII; saying so spares clients a guess.
  const partParams = part.type === 'text' && !('charset' in part.params) ? { charset: 'us-ascii', ...part.params } : part.params;
  const out: WireValue[] = [
    nstr(part.type.toUpperCase()),
    nstr(part.subtype.toUpperCase()),
    params(partParams, utf8),
    nstr(part.id),
    enc(part.description, utf8),
    nstr(part.encoding.toUpperCase()),
    atom(part.size),
  ];
  if (part.type === 'message' && (part.subtype === 'rfc822' || part.subtype === 'global') && part.message) {
    out.push(envelope(part.message.envelope, utf8), bodyStructure(part.message.root, extensible, utf8), atom(part.lines ?? 0));
  } else if (part.type === 'text') out.push(atom(part.lines ?? 0));
  if (extensible) out.push(nstr(part.md5), disposition(part, utf8), language(part), nstr(part.location));
  return out;
}

/** A byte range [start, end) of the raw message, or a filtered header block. */
export type SectionSource = { kind: 'range'; start: number; end: number } | { kind: 'fields'; start: number; end: number; fields: string[]; not: boolean } | { kind: 'empty' };

/** Where a body section's bytes are (RFC 9051 §6.4.5). */
export function sectionSource(msg: ParsedMessage, section: Section): SectionSource {
  const root = msg.root;
  let part: MimePart | undefined = root;
  if (section.part.length > 0) part = findPart(root, section.part);
  if (!part) return { kind: 'empty' };
  const top = section.part.length === 0;
  // HEADER/TEXT of part N refer to the message inside a message/rfc822 part.
  const msgRoot = top ? root : part.message?.root;
  switch (section.text) {
    case null:
      return top ? { kind: 'range', start: 0, end: msg.size } : { kind: 'range', start: part.bodyStart, end: part.bodyEnd };
    case 'MIME':
      return { kind: 'range', start: part.headerStart, end: part.headerEnd };
    case 'HEADER':
      return msgRoot ? { kind: 'range', start: msgRoot.headerStart, end: msgRoot.headerEnd } : { kind: 'empty' };
    case 'TEXT':
      return msgRoot ? { kind: 'range', start: msgRoot.bodyStart, end: top ? msg.size : msgRoot.bodyEnd } : { kind: 'empty' };
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      return msgRoot ? { kind: 'fields', start: msgRoot.headerStart, end: msgRoot.headerEnd, fields: section.fields.map((f) => f.toLowerCase()), not: section.text === 'HEADER.FIELDS.NOT' } : { kind: 'empty' };
  }
}

/** Filters a raw header block to (or without) the named fields, keeping the final blank line. */
export function filterHeaderFields(block: Buffer, fields: readonly string[], not: boolean): Buffer {
  const text = block.toString('latin1');
  const lines = text.split(/(?<=\n)/);
  const out: string[] = [];
  let keep = false;
  for (const line of lines) {
    if (line === '\r\n' || line === '\n') break;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (keep) out.push(line);
      continue;
    }
    const name = line.slice(0, line.indexOf(':')).trim().toLowerCase();
    keep = line.includes(':') && fields.includes(name) !== not;
    if (keep) out.push(line);
  }
  // RFC 9051 §6.4.5: the blank line after the header is included.
  out.push('\r\n');
  return Buffer.from(out.join(''), 'latin1');
}
