/**
 * Message flags and keywords (RFC 9051 §2.3.2). Stored as one space-separated string in a
 * canonical order (system flags first, then keywords, each sorted), so two equal sets are
 * equal strings and a flag search is a string test.
 */
import { InvalidInput } from '../errors.js';

/** System flags a client may set (RFC 9051 §2.3.2; \Recent is gone in rev2 and never stored). */
export const SYSTEM_FLAGS = ['\\Answered', '\\Deleted', '\\Draft', '\\Flagged', '\\Seen'] as const;

const SYSTEM_BY_LOWER = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));

/** The canonical system flag for a flag written in any case, or undefined. */
export function systemFlag(flag: string): (typeof SYSTEM_FLAGS)[number] | undefined {
  return SYSTEM_BY_LOWER.get(flag.toLowerCase());
}

/**
 * The SQL test that a message has (or lacks) a system flag. The flag is written as a literal
 * in exactly the form of migration 6's partial indexes (unseen, deleted, flagged), so those
 * serve UNSEEN, DELETED, FLAGGED and EXPUNGE without reading every message of the mailbox.
 * Exact: system flags are stored in canonical case, none contains another, and no keyword
 * contains a backslash (KEYWORD below).
 */
export function systemFlagSql(column: string, flag: (typeof SYSTEM_FLAGS)[number], set: boolean): string {
  return `${column} ${set ? '' : 'NOT '}LIKE '%${flag}%' ESCAPE '!'`;
}

// RFC 9051 §9 atom-char minus resp-specials; keywords are case-insensitive, stored as given.
const KEYWORD = /^[^\s(){%*"\\\]\x00-\x1f\x7f]{1,100}$/;

/** Canonical form of one flag, or throws InvalidInput. */
export function canonicalFlag(flag: string): string {
  if (flag.startsWith('\\')) {
    const sys = SYSTEM_BY_LOWER.get(flag.toLowerCase());
    if (!sys) throw new InvalidInput(`unknown system flag ${flag}`);
    return sys;
  }
  if (!KEYWORD.test(flag)) throw new InvalidInput(`invalid keyword ${JSON.stringify(flag)}`);
  return flag;
}

/** Canonical stored string of a set of flags. */
export function normaliseFlags(flags: Iterable<string>): string {
  const sys = new Set<string>();
  const kw = new Map<string, string>();
  for (const f of flags) {
    const c = canonicalFlag(f);
    if (c.startsWith('\\')) sys.add(c);
    else if (!kw.has(c.toLowerCase())) kw.set(c.toLowerCase(), c);
  }
  return [...[...sys].sort(), ...[...kw.keys()].sort().map((k) => kw.get(k)!)].join(' ');
}

/** The flags of a stored string. */
export function parseStoredFlags(stored: string): string[] {
  return stored ? stored.split(' ') : [];
}

/** How a STORE changes flags (RFC 9051 §6.4.6). */
export type FlagMode = 'add' | 'remove' | 'replace';

/** Applies a flag change to a stored string, returning the new stored string. */
export function applyFlags(stored: string, mode: FlagMode, flags: readonly string[]): string {
  if (mode === 'replace') return normaliseFlags(flags);
  const current = parseStoredFlags(stored);
  if (mode === 'add') return normaliseFlags([...current, ...flags]);
  const drop = new Set(flags.map((f) => canonicalFlag(f).toLowerCase()));
  return normaliseFlags(current.filter((f) => !drop.has(f.toLowerCase())));
}
