/**
 * SEARCH arguments (RFC 9051 §6.4.4, RFC 3501 §6.4.4 keys NEW/OLD/RECENT/UNRECENT; ESEARCH
 * RETURN options RFC 4731 §3 / RFC 9051; SEARCHRES "$" RFC 5182; MODSEQ RFC 7162 §3.1.5;
 * EMAILID/THREADID RFC 8474 §5; OLDER/YOUNGER RFC 5032) -> typed value. Also SORT and
 * THREAD arguments (RFC 5256 §3), which share the search program.
 *
 * Message sequence numbers stay as sequence sets here: only the session knows its mapping.
 */
import { MAX_NESTING, SyntaxFailure, type Cursor, type SequenceSet } from '../grammar.js';

/** A search key as the wire has it. */
export type WireSearchKey =
  | { op: 'all' }
  | { op: 'and'; keys: WireSearchKey[] }
  | { op: 'or'; a: WireSearchKey; b: WireSearchKey }
  | { op: 'not'; key: WireSearchKey }
  | { op: 'flag'; flag: string; set: boolean }
  | { op: 'recent'; set: boolean }
  | { op: 'seq'; set: SequenceSet }
  | { op: 'uid'; set: SequenceSet }
  | { op: 'header'; field: string; value: string }
  | { op: 'text'; field: 'body' | 'text' | 'subject' | 'from' | 'to' | 'cc' | 'bcc'; value: string }
  | { op: 'size'; cmp: 'larger' | 'smaller'; bytes: number }
  | { op: 'date'; which: 'internal' | 'sent' | 'saved'; cmp: 'before' | 'on' | 'since'; day: string }
  | { op: 'age'; cmp: 'older' | 'younger'; seconds: number }
  | { op: 'modseq'; min: number }
  | { op: 'emailid'; id: string }
  | { op: 'threadid'; id: string };

/** ESEARCH RETURN options (RFC 4731 §3.1, RFC 5182 SAVE). */
export interface SearchReturn {
  min: boolean;
  max: boolean;
  all: boolean;
  count: boolean;
  save: boolean;
}

/** Parsed SEARCH. */
export interface SearchArgs {
  /** RETURN (...) given: answer with ESEARCH (RFC 4731). */
  returns: SearchReturn | null;
  charset: string | null;
  key: WireSearchKey;
}

/** Parses what follows "SEARCH SP". */
export function parseSearch(c: Cursor): SearchArgs {
  let returns: SearchReturn | null = null;
  if (c.maybeWord('RETURN ')) {
    returns = { min: false, max: false, all: false, count: false, save: false };
    const r = returns;
    c.list(
      () => {
        const o = c.keyword();
        if (o === 'MIN') r.min = true;
        else if (o === 'MAX') r.max = true;
        else if (o === 'ALL') r.all = true;
        else if (o === 'COUNT') r.count = true;
        else if (o === 'SAVE') r.save = true;
        else c.fail(`unknown RETURN option ${o}`);
      },
      20,
      'too many RETURN options',
    );
    // RFC 4731 §3.1: RETURN () means RETURN (ALL).
    if (!returns.min && !returns.max && !returns.count && !returns.save) returns.all = true;
    c.sp();
  }
  let charset: string | null = null;
  if (c.maybeWord('CHARSET ')) {
    charset = c.astring().toUpperCase();
    c.sp();
  }
  const key = searchProgram(c);
  c.end();
  return { returns, charset, key };
}

/** Parses search keys up to the end of the command, ANDed. */
export function searchProgram(c: Cursor): WireSearchKey {
  const keys: WireSearchKey[] = [searchKey(c)];
  while (c.maybeSp()) {
    keys.push(searchKey(c));
    if (keys.length > 1000) throw new SyntaxFailure('too many search keys', 'LIMIT');
  }
  return keys.length === 1 ? keys[0]! : { op: 'and', keys };
}

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};
const TEXT_KEYS: Record<string, 'body' | 'text' | 'subject' | 'from' | 'to' | 'cc' | 'bcc'> = {
  BODY: 'body',
  TEXT: 'text',
  SUBJECT: 'subject',
  FROM: 'from',
  TO: 'to',
  CC: 'cc',
  BCC: 'bcc',
};
const DATE_KEYS: Record<string, ['internal' | 'sent' | 'saved', 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
  SAVEDBEFORE: ['saved', 'before'],
  SAVEDON: ['saved', 'on'],
  SAVEDSINCE: ['saved', 'since'],
};

function searchKey(c: Cursor): WireSearchKey {
  const ch = c.peek();
  if (ch === 0x28) {
    c.char('(');
    if (c.depth > MAX_NESTING) throw new SyntaxFailure('too deeply nested', 'LIMIT');
    const keys: WireSearchKey[] = [searchKey(c)];
    while (!c.maybeChar(')')) {
      c.sp();
      keys.push(searchKey(c));
      if (keys.length > 1000) throw new SyntaxFailure('too many search keys', 'LIMIT');
    }
    return keys.length === 1 ? keys[0]! : { op: 'and', keys };
  }
  if ((ch >= 0x30 && ch <= 0x39) || ch === 0x2a || ch === 0x24) return { op: 'seq', set: c.sequenceSet() };
  const w = c.keyword();
  const flag = FLAG_KEYS[w];
  if (flag) return { op: 'flag', flag: flag[0], set: flag[1] };
  const text = TEXT_KEYS[w];
  if (text) {
    c.sp();
    return { op: 'text', field: text, value: c.astringBytes().toString('utf8') };
  }
  const date = DATE_KEYS[w];
  if (date) {
    c.sp();
    return { op: 'date', which: date[0], cmp: date[1], day: c.date() };
  }
  switch (w) {
    case 'ALL':
      return { op: 'all' };
    case 'NEW':
      // RFC 3501 §6.4.4: NEW = RECENT UNSEEN.
      return { op: 'and', keys: [{ op: 'recent', set: true }, { op: 'flag', flag: '\\Seen', set: false }] };
    case 'OLD':
      return { op: 'recent', set: false };
    case 'RECENT':
      return { op: 'recent', set: true };
    case 'KEYWORD':
    case 'UNKEYWORD':
      c.sp();
      return { op: 'flag', flag: c.atom(), set: w === 'KEYWORD' };
    case 'HEADER': {
      c.sp();
      const field = c.astring();
      c.sp();
      return { op: 'header', field, value: c.astringBytes().toString('utf8') };
    }
    case 'LARGER':
    case 'SMALLER':
      c.sp();
      return { op: 'size', cmp: w === 'LARGER' ? 'larger' : 'smaller', bytes: c.number() };
    case 'NOT':
      c.sp();
      return { op: 'not', key: nested(c) };
    case 'OR': {
      c.sp();
      const a = nested(c);
      c.sp();
      return { op: 'or', a, b: nested(c) };
    }
    case 'UID':
      c.sp();
      return { op: 'uid', set: c.sequenceSet() };
    case 'OLDER':
    case 'YOUNGER':
      c.sp();
      return { op: 'age', cmp: w === 'OLDER' ? 'older' : 'younger', seconds: c.nzNumber() };
    case 'MODSEQ': {
      c.sp();
      // RFC 7162 §3.1.5: [entry-name SP entry-type-req SP] mod-sequence-valzer.
      if (c.peek() === 0x22) {
        c.string();
        c.sp();
        c.keyword();
        c.sp();
      }
      return { op: 'modseq', min: c.number() };
    }
    case 'EMAILID':
    case 'THREADID': {
      c.sp();
      const id = c.atom();
      return w === 'EMAILID' ? { op: 'emailid', id } : { op: 'threadid', id };
    }
    default:
      c.fail(`unknown search key ${w}`);
  }
}

function nested(c: Cursor): WireSearchKey {
  c.enter();
  try {
    return searchKey(c);
  } finally {
    c.depth--;
  }
}

/** Parsed SORT (RFC 5256 §3). */
export interface SortArgs {
  criteria: Array<{ key: string; reverse: boolean }>;
  returns: SearchReturn | null;
  charset: string;
  key: WireSearchKey;
}

const SORT_KEYS = new Set(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

/** Parses what follows "SORT SP". */
export function parseSort(c: Cursor): SortArgs {
  c.char('(');
  const criteria: SortArgs['criteria'] = [];
  let reverse = false;
  while (!c.maybeChar(')')) {
    if (criteria.length > 0 || reverse) c.sp();
    const k = c.keyword();
    if (k === 'REVERSE') {
      reverse = true;
      continue;
    }
    if (!SORT_KEYS.has(k)) c.fail(`unknown sort key ${k}`);
    criteria.push({ key: k.toLowerCase(), reverse });
    reverse = false;
    if (criteria.length > 20) throw new SyntaxFailure('too many sort keys', 'LIMIT');
  }
  if (criteria.length === 0 || reverse) c.fail('bad sort criteria');
  c.sp();
  const charset = c.astring().toUpperCase();
  c.sp();
  const key = searchProgram(c);
  c.end();
  return { criteria, returns: null, charset, key };
}

/** Parsed THREAD (RFC 5256 §3). */
export interface ThreadArgs {
  algorithm: string;
  charset: string;
  key: WireSearchKey;
}

/** Parses what follows "THREAD SP". */
export function parseThread(c: Cursor): ThreadArgs {
  const algorithm = c.keyword();
  c.sp();
  const charset = c.astring().toUpperCase();
  c.sp();
  const key = searchProgram(c);
  c.end();
  return { algorithm, charset, key };
}
