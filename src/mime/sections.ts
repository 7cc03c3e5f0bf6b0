/** IMAP section numbers (RFC 9051 §6.4.5) over a stored MimePart tree. */
import type { MimePart } from './types.js';

/**
 * The parts that the next section number indexes into below `part`: a multipart's children; for
 * message/rfc822 the encapsulated message's top-level children (or that message's single body
 * when it is not multipart); nothing for other parts.
 */
function childrenOf(part: MimePart): MimePart[] {
  if (part.parts) return part.parts;
  if (part.message) {
    const inner = part.message.root;
    return inner.parts ?? [inner];
  }
  return [];
}

/**
 * Finds the part named by an IMAP section number such as "1.2" ("" or absent = the root).
 * For a message that is not multipart, its body is part "1" (RFC 9051 §6.4.5). Returns
 * undefined when there is no such part. Text specifiers (HEADER, TEXT, MIME) are the caller's.
 */
export function findPart(root: MimePart, section: string | readonly number[]): MimePart | undefined {
  const nums = typeof section === 'string' ? (section === '' ? [] : section.split('.').map(Number)) : section;
  let part = root;
  let list = root.parts ?? [root];
  for (const n of nums) {
    if (!Number.isInteger(n) || n < 1) return undefined;
    const next = list[n - 1];
    if (!next) return undefined;
    part = next;
    list = childrenOf(part);
  }
  return part;
}

/**
 * Visits every part in document order with its IMAP section number ("" for a multipart root,
 * "1" for a single-part root's body). Parts inside encapsulated messages are visited too: below
 * a message/rfc822 part N, a multipart encapsulated root is not visited itself (its children are
 * N.1, N.2, ...) while a single-part one is N.1.
 */
export function walkParts(root: MimePart, visit: (part: MimePart, section: string) => void): void {
  const walk = (part: MimePart, section: string): void => {
    visit(part, section);
    const kids = childrenOf(part);
    const prefix = section === '' ? '' : `${section}.`;
    kids.forEach((k, i) => {
      walk(k, `${prefix}${i + 1}`);
    });
  };
  if (root.parts) walk(root, '');
  else walk(root, '1');
}
