/** RFC 5256 §2.1 base subject extraction, used for threading and SORT by SUBJECT. */
import { decodeEncodedWords } from './encodedWords.js';

// RFC 5256 §5: subj-blob = "[" *BLOBCHAR "]" *WSP, BLOBCHAR excludes "[" and "]".
const BLOB = /^\[[^[\]]*\][ \t]*/;
// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
const REFWD = /^(?:re|fwd?)[ \t]*(?:\[[^[\]]*\][ \t]*)?:/i;

/**
 * Returns the base subject of a Subject header value (raw or already decoded). Follows the
 * seven steps of RFC 5256 §2.1 exactly; comparisons are case-insensitive as the ABNF is.
 */
export function baseSubject(subject: string): string {
  // (1) decode encoded-words, tabs and continuations to space, runs of spaces to one.
  let s = decodeEncodedWords(subject).replace(/[\t\r\n]+/g, ' ').replace(/ {2,}/g, ' ');
  for (;;) {
    // (2) remove subj-trailer ("(fwd)" / WSP) repeatedly; scanned from the end so that a
    // subject of many "(fwd)" stays linear.
    let end = s.length;
    for (;;) {
      const c = s[end - 1];
      if (c === ' ' || c === '\t') end--;
      else if (end >= 5 && s.slice(end - 5, end).toLowerCase() === '(fwd)') end -= 5;
      else break;
    }
    s = s.slice(0, end);
    // (3)–(5) remove subj-leader, and a subj-blob when something remains, until neither matches.
    for (;;) {
      const before = s;
      s = stripLeaders(s);
      const blob = BLOB.exec(s);
      if (blob && s.length > blob[0].length) {
        const rest = s.slice(blob[0].length);
        if (/[^ \t]/.test(rest)) s = rest;
      }
      if (s === before) break;
    }
    // (6) "[fwd:" ... "]" wrapper: remove and start again from (2).
    if (s.length >= 6 && s.slice(0, 5).toLowerCase() === '[fwd:' && s.endsWith(']')) {
      s = s.slice(5, -1);
      continue;
    }
    return s;
  }
}

// subj-leader = (*subj-blob subj-refwd) / WSP
function stripLeaders(s: string): string {
  for (;;) {
    if (s.startsWith(' ') || s.startsWith('\t')) {
      s = s.slice(1);
      continue;
    }
    let rest = s;
    let blob: RegExpExecArray | null;
    while ((blob = BLOB.exec(rest))) rest = rest.slice(blob[0].length);
    const refwd = REFWD.exec(rest);
    if (!refwd) return s;
    s = rest.slice(refwd[0].length);
  }
}
