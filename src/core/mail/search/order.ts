/**
 * SORT (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO) over message metadata. Pure: the caller
 * loads MessageMeta once for the UIDs it sorts.
 */
import type { Address, AddressList } from '../../../mime/index.js';
import type { SortCriterion } from '../search-types.js';

/** What SORT and THREAD read of one message. */
export interface MessageMeta {
  uid: number;
  /** INTERNALDATE, ms. */
  receivedAt: number;
  /** Date header as an instant (UTC), or null. */
  sentAt: number | null;
  size: number;
  /** Decoded Subject, or null. */
  subject: string | null;
  /** RFC 5256 §2.1 base subject. */
  baseSubject: string;
  from: AddressList | null;
  to: AddressList | null;
  cc: AddressList | null;
  /** Normalised `<id>` or null. */
  messageId: string | null;
  inReplyTo: string[];
  references: string[];
}

/** RFC 5256 §2.2 sent date: the Date header in UTC, else INTERNALDATE. */
export function sentDate(m: MessageMeta): number {
  return m.sentAt ?? m.receivedAt;
}

/**
 * i;ascii-casemap (RFC 4790 §9.2): ASCII letters compare as upper case, everything else by
 * octet. Code point order is UTF-8 octet order, so strings compare by code point.
 */
export function compareAsciiCasemap(a: string, b: string): number {
  const x = a.replace(/[a-z]/g, (c) => c.toUpperCase());
  const y = b.replace(/[a-z]/g, (c) => c.toUpperCase());
  if (x === y) return 0;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const cx = x.codePointAt(i)!;
    const cy = y.codePointAt(i)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
    if (cx > 0xffff) i++;
  }
  return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
}

/** The first IMAP address of a list: a group's start marker carries the group name as mailbox. */
function firstAddress(list: AddressList | null): { name: string | null; mailbox: string | null; host: string | null } | null {
  const first = list?.[0];
  if (!first) return null;
  if ('group' in first) return { name: null, mailbox: first.group, host: null };
  const a: Address = first;
  return { name: a.name, mailbox: a.mailbox, host: a.host };
}

/** RFC 5256 §3 FROM/TO/CC: addr-mailbox of the first address; '' when absent. */
export function addrMailbox(list: AddressList | null): string {
  return firstAddress(list)?.mailbox ?? '';
}

/** RFC 5957 §3 display sort value of the first address; '' when absent. */
export function displayValue(list: AddressList | null): string {
  const a = firstAddress(list);
  if (!a) return '';
  if (a.name) return a.name;
  if (a.mailbox && a.host) return `${a.mailbox}@${a.host}`;
  return a.mailbox ?? '';
}

function criterionCompare(key: SortCriterion['key'], a: MessageMeta, b: MessageMeta): number {
  switch (key) {
    case 'arrival':
      return a.receivedAt - b.receivedAt;
    case 'date':
      return sentDate(a) - sentDate(b);
    case 'size':
      return a.size - b.size;
    case 'subject':
      return compareAsciiCasemap(a.baseSubject, b.baseSubject);
    case 'from':
      return compareAsciiCasemap(addrMailbox(a.from), addrMailbox(b.from));
    case 'to':
      return compareAsciiCasemap(addrMailbox(a.to), addrMailbox(b.to));
    case 'cc':
      return compareAsciiCasemap(addrMailbox(a.cc), addrMailbox(b.cc));
    case 'displayfrom':
      return compareAsciiCasemap(displayValue(a.from), displayValue(b.from));
    case 'displayto':
      return compareAsciiCasemap(displayValue(a.to), displayValue(b.to));
  }
}

/**
 * Sorts by the criteria in priority order, each optionally REVERSEd; the implicit last
 * criterion is sequence order (ascending UID), never reversed (RFC 5256 §3 REVERSE note).
 */
export function sortMeta(metas: readonly MessageMeta[], criteria: readonly SortCriterion[]): MessageMeta[] {
  return [...metas].sort((a, b) => {
    for (const c of criteria) {
      const r = Math.sign(criterionCompare(c.key, a, b));
      if (r !== 0) return c.reverse ? -r : r;
    }
    return a.uid - b.uid;
  });
}
