/**
 * Case folding for text search, and which characters the text indexes may be trusted with.
 *
 * RFC 9051 §6.4.4 asks for substring matching, case-insensitive at least for ASCII; Bulwark
 * folds every character to its simple (one code point) lower case, so 'ÉTÉ' finds 'été'.
 * Context-free on purpose: String#toLowerCase turns a word-final 'Σ' into 'ς', which would
 * make a substring's fold depend on what follows it. No Unicode normalisation is applied
 * (neither the FTS5 nor the pg_trgm index normalises), and one-to-many foldings ('ß' to
 * 'ss') are not made.
 *
 * The indexes fold by their own tables (SQLite FTS5's built-in Unicode table, PostgreSQL's
 * lower() under the database's LC_CTYPE), which are older or newer than the JavaScript
 * engine's. An index may only narrow candidates if it never drops a true match, so a needle
 * is cut at every character whose case class the index might fold differently, and only the
 * pieces between are looked up (see indexSegments). test/search-fold.test.ts checks the
 * trusted ranges against the bundled SQLite.
 */

/** Folds one character (a code point as a string) to its simple lower case. */
export function foldChar(c: string): string {
  const l = c.toLowerCase();
  // One-to-many lower cases (U+0130 → "i̇") are left alone: a fold must keep lengths.
  return l.length === c.length || [...l].length === 1 ? l : c;
}

// The only characters where String#toLowerCase is not the per-code-point simple fold: U+0130
// (lower-cases to two code points) and U+03A3 (final-sigma context rule).
const CONTEXTUAL = /[\u0130\u03a3]/;

/** Folds a string for case-insensitive substring matching (per code point, see above). */
export function foldCase(s: string): string {
  if (!CONTEXTUAL.test(s)) return s.toLowerCase();
  let out = '';
  for (const c of s) out += foldChar(c);
  return out;
}

/** Whether `needle` occurs in `haystack`, case-insensitively (RFC 9051 §6.4.4 substring match). */
export function containsFolded(haystack: string, foldedNeedle: string): boolean {
  return foldedNeedle === '' || foldCase(haystack).includes(foldedNeedle);
}

let classes: Map<string, string[]> | undefined;

/**
 * Case classes: fold target → every character that folds to it (target included), for the
 * characters that have a case at all. Characters outside every class fold to themselves and
 * nothing else folds to them. No character above U+1FFFF has a case.
 */
export function caseClasses(): Map<string, string[]> {
  if (classes) return classes;
  const m = new Map<string, string[]>();
  for (let cp = 0; cp <= 0x1ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    const f = foldChar(c);
    if (f === c) continue;
    let members = m.get(f);
    if (!members) m.set(f, (members = [f]));
    members.push(c);
  }
  classes = m;
  return m;
}

let memberOf: Map<string, string> | undefined;

/** The fold target of a cased character, or undefined for a character without case. */
export function caseClassOf(c: string): string | undefined {
  if (!memberOf) {
    const m = new Map<string, string>();
    for (const [target, members] of caseClasses()) for (const x of members) m.set(x, target);
    memberOf = m;
  }
  return memberOf.get(c);
}

/**
 * Fold targets whose whole class the indexes are trusted to fold alike: ASCII, Latin-1
 * Supplement, Latin Extended-A/B, Greek and Cyrillic, except letters whose case partner came
 * late to Unicode (so older tables, as in SQLite's FTS5, do not pair them). Other cased
 * scripts still match exactly; they just cut the needle.
 */
export function isTrustedTarget(target: string): boolean {
  const cp = target.codePointAt(0)!;
  // U+019B gained an upper case in Unicode 16 (U+A7DC), U+03F3 in Unicode 7 (U+037F).
  if (cp === 0x19b || cp === 0x3f3) return false;
  return cp < 0x80 || (cp >= 0xc0 && cp <= 0x24f) || (cp >= 0x370 && cp <= 0x3ff) || (cp >= 0x400 && cp <= 0x4ff);
}

/**
 * The pieces of a folded needle that an index may look up: the needle is cut at characters
 * it cannot be trusted with (`isSafe` false) and at NUL. Every true match contains every piece.
 */
export function indexSegments(foldedNeedle: string, isSafe: (c: string) => boolean): string[] {
  const out: string[] = [];
  let cur = '';
  for (const c of foldedNeedle) {
    if (c !== '\0' && isSafe(c)) cur += c;
    else {
      if (cur) out.push(cur);
      cur = '';
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** Safe for SQLite FTS5: no case, or a trusted class (verified by test/search-fold.test.ts). */
export function isFtsSafe(c: string): boolean {
  const t = caseClassOf(c);
  return t === undefined || isTrustedTarget(t);
}
