/** ENVELOPE fields and thread hints from a message's top-level header fields. */
import { parseAddressList } from './address.js';
import { decodeEncodedWords } from './encodedWords.js';
import { getHeader, type HeaderField } from './headers.js';
import type { AddressList, Envelope } from './types.js';

function addresses(fields: readonly HeaderField[], name: string): AddressList | null {
  const f = getHeader(fields, name);
  return f ? parseAddressList(f.value) : null;
}

/** Builds the IMAP ENVELOPE (RFC 9051 §7.5.2) of a header block; the first field of each name is used. */
export function buildEnvelope(fields: readonly HeaderField[]): Envelope {
  const subject = getHeader(fields, 'subject');
  return {
    date: getHeader(fields, 'date')?.value ?? null,
    subject: subject ? decodeEncodedWords(subject.value) : null,
    subjectRaw: subject ? subject.value : null,
    from: addresses(fields, 'from'),
    sender: addresses(fields, 'sender'),
    replyTo: addresses(fields, 'reply-to'),
    to: addresses(fields, 'to'),
    cc: addresses(fields, 'cc'),
    bcc: addresses(fields, 'bcc'),
    inReplyTo: getHeader(fields, 'in-reply-to')?.value ?? null,
    messageId: getHeader(fields, 'message-id')?.value ?? null,
  };
}

/**
 * Extracts msg-ids (RFC 5322 §3.6.4) from a Message-ID, In-Reply-To or References value, each
 * normalised to `<id>`. Comments and phrases between ids (obs-in-reply-to, §4.5.4) are skipped;
 * a value with no angle brackets at all is taken as whitespace-separated bare ids.
 */
export function parseMessageIds(value: string | null | undefined, max = 1000): string[] {
  if (!value) return [];
  const s = value.replace(/\([^()]*\)/g, ' ');
  const ids: string[] = [];
  const re = /<([^<>\s]*)>/g;
  for (let m = re.exec(s); m && ids.length < max; m = re.exec(s)) {
    if ((m[1] as string) !== '') ids.push(`<${m[1]}>`);
  }
  if (ids.length === 0 && s.indexOf('<') === -1) {
    for (const w of s.split(/[\s,]+/)) {
      // A bare "id@host" without brackets, as some broken mailers write.
      if (w.includes('@') && ids.length < max) ids.push(`<${w}>`);
    }
  }
  return ids;
}
