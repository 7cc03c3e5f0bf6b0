/**
 * SearchKey → SQL over one mailbox (RFC 9051 §6.4.4 and its extensions). Every key compiles to
 * a predicate over `mm` (mailbox_messages) and `m` (messages) that is never NULL, so NOT stays a
 * true complement. Keys that need JavaScript (text keys, sent-date keys) are evaluated first
 * into UID sets, which the predicate then tests.
 */
import type { Dialect, SqlValue } from '../../../store/port.js';
import { InvalidInput } from '../../errors.js';
import type { SearchKey } from '../search-types.js';
import { systemFlag, systemFlagSql } from '../flags.js';

/** A SQL predicate with its parameters. */
export interface Sql {
  sql: string;
  params: SqlValue[];
}

const DAY_MS = 86_400_000;

/** Milliseconds of 00:00 UTC of a YYYY-MM-DD day, or throws InvalidInput. */
export function dayStartMs(day: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) throw new InvalidInput(`invalid search date ${JSON.stringify(day)}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) throw new InvalidInput(`invalid search date ${day}`);
  return ms;
}

/** Whether a key needs a JavaScript pass before SQL can use it. */
export function needsJs(key: SearchKey): boolean {
  return key.op === 'text' || key.op === 'header' || (key.op === 'date' && key.which === 'sent');
}

/** Whether a key or any key inside it needs a JavaScript pass. */
export function containsJs(key: SearchKey): boolean {
  switch (key.op) {
    case 'and':
      return key.keys.some(containsJs);
    case 'or':
      return containsJs(key.a) || containsJs(key.b);
    case 'not':
      return containsJs(key.key);
    default:
      return needsJs(key);
  }
}

// UIDs are inlined as integer literals (no parameter limit with long sequence sets); only
// values that pass this check reach the SQL text.
function uidLiteral(n: number): string {
  if (!Number.isFinite(n)) throw new InvalidInput('invalid UID');
  return String(Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.trunc(n))));
}

/** Whether compiled SQL reads the messages table (alias m), so a query must join it. */
export function readsMessages(sql: string): boolean {
  return /\bm\./.test(sql);
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** ASCII-only lower case: keywords are atoms (RFC 9051 §9), case-insensitive (§2.3.2). */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * Joins predicates with AND or OR as a balanced tree: SQLite parses a flat chain as a tree of
 * depth n and refuses depths over 1000 (SQLITE_MAX_EXPR_DEPTH).
 */
function balanced(parts: readonly string[], op: 'AND' | 'OR'): string {
  if (parts.length === 1) return parts[0]!;
  const mid = parts.length >> 1;
  return `(${balanced(parts.slice(0, mid), op)}) ${op} (${balanced(parts.slice(mid), op)})`;
}

/** Compiles keys; `jsUids` holds the pre-computed UID sets of the keys needsJs selects. */
export class Compiler {
  constructor(
    private readonly dialect: Dialect,
    private readonly jsUids: ReadonlyMap<SearchKey, readonly number[]>,
    /** Largest UID in the mailbox (null when empty), for "*" in UID ranges. */
    private readonly maxUid: number | null,
    private readonly nowMs: number,
  ) {}

  /** The predicate of a key. */
  compile(key: SearchKey): Sql {
    switch (key.op) {
      case 'all':
        return { sql: '1=1', params: [] };
      case 'and': {
        if (key.keys.length === 0) return { sql: '1=1', params: [] };
        const parts = key.keys.map((k) => this.compile(k));
        // Parameters stay in text order: balanced() keeps the parts in sequence.
        return { sql: balanced(parts.map((p) => p.sql), 'AND'), params: parts.flatMap((p) => p.params) };
      }
      case 'or': {
        const a = this.compile(key.a);
        const b = this.compile(key.b);
        return { sql: `(${a.sql}) OR (${b.sql})`, params: [...a.params, ...b.params] };
      }
      case 'not': {
        const a = this.compile(key.key);
        return { sql: `NOT (${a.sql})`, params: a.params };
      }
      case 'flag': {
        // A flag is an atom: one with white space (or none at all) is set on no message.
        if (key.flag === '' || /\s/.test(key.flag)) return { sql: key.set ? '1=0' : '1=1', params: [] };
        if (key.flag.startsWith('\\')) {
          // A system flag; one we do not store (\Recent, an unknown extension) is set on none.
          const sys = systemFlag(key.flag);
          return sys ? { sql: systemFlagSql('mm.flags', sys, key.set), params: [] } : { sql: key.set ? '1=0' : '1=1', params: [] };
        }
        // RFC 9051 §6.4.4 KEYWORD/UNKEYWORD: the stored string is space-separated canonical
        // flags (flags.ts), tested as " flags " LIKE "% keyword %".
        // Keywords are atoms, case-insensitive in ASCII (RFC 9051 §2.3.2); SQLite's lower() is
        // ASCII-only, PostgreSQL's follows the locale, so PostgreSQL folds by translate().
        const folded = this.dialect === 'sqlite' ? 'lower(mm.flags)' : "translate(mm.flags, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')";
        const test = `(' ' || ${folded} || ' ') LIKE ? ESCAPE '\\'`;
        const param = `% ${likeEscape(asciiLower(key.flag))} %`;
        return { sql: key.set ? test : `NOT ${test}`, params: [param] };
      }
      case 'uid':
        return this.uidRanges(key.ranges);
      case 'size':
        // RFC 9051 §6.4.4 LARGER / SMALLER: RFC822.SIZE strictly above / below.
        return { sql: key.cmp === 'larger' ? 'mm.size > ?' : 'mm.size < ?', params: [Math.trunc(key.bytes)] };
      case 'date': {
        if (key.which === 'sent') return this.uidSet(key);
        // RFC 9051 §6.4.4 BEFORE/ON/SINCE (INTERNALDATE), RFC 8514 SAVEDBEFORE/SAVEDON/SAVEDSINCE:
        // by calendar day. Stored times are instants, so their day is taken in UTC.
        const col = key.which === 'internal' ? 'm.received_at' : 'mm.saved_at';
        const start = dayStartMs(key.day);
        if (key.cmp === 'before') return { sql: `${col} < ?`, params: [start] };
        if (key.cmp === 'since') return { sql: `${col} >= ?`, params: [start] };
        return { sql: `${col} >= ? AND ${col} < ?`, params: [start, start + DAY_MS] };
      }
      case 'age': {
        // RFC 5032 §3: target = now - interval, to the second; OLDER matches INTERNALDATE <=
        // target, YOUNGER >= target (both match at equality).
        const targetSec = Math.floor(this.nowMs / 1000) - Math.trunc(key.seconds);
        return key.cmp === 'older'
          ? { sql: 'm.received_at < ?', params: [(targetSec + 1) * 1000] }
          : { sql: 'm.received_at >= ?', params: [targetSec * 1000] };
      }
      case 'modseq':
        // RFC 7162 §3.1.5: per-message mod-sequence greater than or equal to the value.
        return { sql: 'mm.modseq >= ?', params: [Math.trunc(key.min)] };
      case 'emailid':
        // RFC 8474 §5.1 EMAILID.
        return { sql: 'm.id = ?', params: [key.id] };
      case 'threadid':
        // RFC 8474 §5.2 THREADID.
        return { sql: 'm.thread_id = ?', params: [key.id] };
      case 'text':
      case 'header':
        return this.uidSet(key);
    }
  }

  /**
   * RFC 9051 §9 sequence-set semantics: "*" is the largest UID; n:m equals m:n. Ranges are
   * merged; single UIDs go into IN lists and the rest into a balanced OR, so that a saved
   * result of thousands of UIDs stays within SQLite's expression depth limit.
   */
  private uidRanges(ranges: readonly (readonly [number, number])[]): Sql {
    const spans: Array<[number, number]> = [];
    for (const [rawLo, rawHi] of ranges) {
      if ((rawLo === Infinity || rawHi === Infinity) && this.maxUid === null) continue;
      const lo = rawLo === Infinity ? this.maxUid! : rawLo;
      const hi = rawHi === Infinity ? this.maxUid! : rawHi;
      spans.push(lo <= hi ? [lo, hi] : [hi, lo]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const s of spans) {
      const last = merged[merged.length - 1];
      if (last && s[0] <= last[1] + 1) last[1] = Math.max(last[1], s[1]);
      else merged.push([s[0], s[1]]);
    }
    const singles = merged.filter(([a, b]) => a === b).map(([a]) => uidLiteral(a));
    const parts = merged.filter(([a, b]) => a !== b).map(([a, b]) => `mm.uid BETWEEN ${uidLiteral(a)} AND ${uidLiteral(b)}`);
    for (let i = 0; i < singles.length; i += 1000) parts.push(`mm.uid IN (${singles.slice(i, i + 1000).join(',')})`);
    return parts.length === 0 ? { sql: '1=0', params: [] } : { sql: balanced(parts, 'OR'), params: [] };
  }

  /** Membership in a pre-computed UID set, passed as one JSON parameter. */
  private uidSet(key: SearchKey): Sql {
    const uids = this.jsUids.get(key);
    if (!uids) throw new Error('search: a text key was not evaluated before compiling');
    if (uids.length === 0) return { sql: '1=0', params: [] };
    const json = JSON.stringify(uids);
    return this.dialect === 'sqlite'
      ? { sql: 'mm.uid IN (SELECT value FROM json_each(?))', params: [json] }
      : { sql: 'mm.uid IN (SELECT CAST(jsonb_array_elements_text(CAST(? AS jsonb)) AS bigint))', params: [json] };
  }
}
