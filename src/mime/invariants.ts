/**
 * Structural checks on a ParsedMessage: what tests assert for every input, and what a reader of
 * stored JSON can run before trusting offsets into a blob.
 */
import type { MimeLimits, MimePart, ParsedMessage } from './types.js';

/** Lists every broken invariant of a parsed message (empty when it is sound). */
export function invariantViolations(msg: ParsedMessage, limits?: Pick<MimeLimits, 'maxDepth' | 'maxParts'>): string[] {
  const errors: string[] = [];
  let count = 0;
  let maxDepthSeen = 0;
  const check = (part: MimePart, lo: number, hi: number, depth: number, path: string): void => {
    count++;
    if (depth > maxDepthSeen) maxDepthSeen = depth;
    const { headerStart, headerEnd, bodyStart, bodyEnd } = part;
    if (!(lo <= headerStart && headerStart <= headerEnd && headerEnd === bodyStart && bodyStart <= bodyEnd && bodyEnd <= hi)) {
      errors.push(`${path}: offsets ${headerStart},${headerEnd},${bodyStart},${bodyEnd} not within [${lo},${hi}]`);
    }
    if (part.size !== bodyEnd - bodyStart) errors.push(`${path}: size ${part.size} != ${bodyEnd - bodyStart}`);
    if (!/^[^A-Z\s]+$/.test(part.type) || !/^[^A-Z\s]+$/.test(part.subtype)) errors.push(`${path}: type ${part.type}/${part.subtype}`);
    if (part.encoding !== part.encoding.toLowerCase() || part.encoding === '') errors.push(`${path}: encoding ${part.encoding}`);
    if (part.parts && part.type !== 'multipart') errors.push(`${path}: parts on ${part.type}`);
    if (part.message && part.parts) errors.push(`${path}: both parts and message`);
    let prevEnd = bodyStart;
    part.parts?.forEach((k, i) => {
      if (k.headerStart < prevEnd) errors.push(`${path}.${i + 1}: overlaps previous sibling`);
      check(k, bodyStart, bodyEnd, depth + 1, `${path}.${i + 1}`);
      prevEnd = k.bodyEnd;
    });
    if (part.message) {
      const r = part.message.root;
      if (r.headerStart !== bodyStart || r.bodyEnd !== bodyEnd) errors.push(`${path}: encapsulated message does not span the body`);
      check(r, bodyStart, bodyEnd, depth + 1, `${path}.msg`);
    }
  };
  check(msg.root, 0, msg.size, 0, 'root');
  if (msg.root.headerStart !== 0) errors.push('root does not start at 0');
  if (msg.root.bodyEnd !== msg.size) errors.push('root does not end at size');
  if (limits && count > limits.maxParts) errors.push(`part count ${count} > ${limits.maxParts}`);
  if (limits && maxDepthSeen > limits.maxDepth) errors.push(`depth ${maxDepthSeen} > ${limits.maxDepth}`);
  if (msg.defects.some((d) => d.startsWith('internal-error'))) errors.push(`internal error: ${msg.defects.join(',')}`);
  return errors;
}
