/**
 * Command parsing (RFC 9051 §6, §9): a CommandUnit -> a typed Command, or a syntax error that
 * names the tag when one was read. The verb picks the argument parser; FETCH and SEARCH/SORT/
 * THREAD have files of their own under commands/.
 */
import { Cursor, SyntaxFailure, type SequenceSet } from './grammar.js';
import { isTag, type CommandUnit } from './reader.js';
import { parseFetch, type FetchArgs } from './commands/fetch.js';
import { parseSearch, parseSort, parseThread, type SearchArgs, type SortArgs, type ThreadArgs } from './commands/search.js';

/** STATUS data items (RFC 9051 §6.3.11, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ, RFC 8474 MAILBOXID). */
export const STATUS_ITEMS = ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'DELETED', 'SIZE', 'RECENT', 'HIGHESTMODSEQ', 'APPENDLIMIT', 'MAILBOXID'] as const;
/** One STATUS data item. */
export type StatusItem = (typeof STATUS_ITEMS)[number];

/** RFC 7162 §3.2.5 QRESYNC parameters of SELECT/EXAMINE. */
export interface QresyncParams {
  uidValidity: number;
  modseq: number;
  knownUids: SequenceSet | null;
}

/** Parsed LIST (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154). */
export interface ListArgs {
  selection: { subscribed: boolean; remote: boolean; recursiveMatch: boolean; specialUse: boolean };
  reference: string;
  patterns: string[];
  returns: { subscribed: boolean; children: boolean; specialUse: boolean; status: StatusItem[] | null };
  extended: boolean;
}

/** A parsed command. */
export type Command = { tag: string } & (
  | { name: 'CAPABILITY' | 'NOOP' | 'LOGOUT' | 'STARTTLS' | 'CHECK' | 'CLOSE' | 'UNSELECT' | 'EXPUNGE' | 'IDLE' | 'NAMESPACE' }
  | { name: 'LOGIN'; username: string; password: string }
  | { name: 'AUTHENTICATE'; mechanism: string; initialResponse: string | null }
  | { name: 'ENABLE'; capabilities: string[] }
  | { name: 'ID'; params: Array<[string, string | null]> | null }
  | { name: 'COMPRESS'; algorithm: string }
  | { name: 'SELECT' | 'EXAMINE'; mailbox: string; condstore: boolean; qresync: QresyncParams | null }
  | { name: 'CREATE'; mailbox: string; specialUse: string[] }
  | { name: 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE' | 'GETQUOTAROOT'; mailbox: string }
  | { name: 'GETQUOTA'; root: string }
  | { name: 'RENAME'; from: string; to: string }
  | ({ name: 'LIST' } & ListArgs)
  | { name: 'LSUB'; reference: string; pattern: string }
  | { name: 'STATUS'; mailbox: string; items: StatusItem[] }
  | { name: 'APPEND'; mailbox: string; flags: string[]; date: number | null; message: Buffer; binary: boolean }
  | ({ name: 'FETCH'; uid: boolean } & FetchArgs)
  | { name: 'STORE'; uid: boolean; set: SequenceSet; mode: 'add' | 'remove' | 'replace'; silent: boolean; flags: string[]; unchangedSince: number | null }
  | { name: 'COPY' | 'MOVE'; uid: boolean; set: SequenceSet; mailbox: string }
  | ({ name: 'SEARCH'; uid: boolean } & SearchArgs)
  | ({ name: 'SORT'; uid: boolean } & SortArgs)
  | ({ name: 'THREAD'; uid: boolean } & ThreadArgs)
  | { name: 'UID EXPUNGE'; set: SequenceSet }
);

/** The verb of a command. */
export type CommandName = Command['name'];

/** Result of parsing a unit. */
export type ParseResult =
  | { ok: true; command: Command }
  | { ok: false; tag: string | null; code: 'PARSE' | 'LIMIT' | 'BADCHARSET' | 'CLIENTBUG'; text: string; verb: string | null };

const KNOWN = new Set(['LOGIN', 'AUTHENTICATE', 'ENABLE', 'ID', 'COMPRESS', 'SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'SUBSCRIBE', 'UNSUBSCRIBE', 'GETQUOTAROOT', 'GETQUOTA', 'RENAME', 'LIST', 'LSUB', 'STATUS', 'APPEND', 'FETCH', 'STORE', 'COPY', 'MOVE', 'SEARCH', 'SORT', 'THREAD', 'CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'CHECK', 'CLOSE', 'UNSELECT', 'EXPUNGE', 'IDLE', 'NAMESPACE']);
const NO_ARGS = new Set(['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'CHECK', 'CLOSE', 'UNSELECT', 'EXPUNGE', 'IDLE', 'NAMESPACE']);

/** Parses one command unit. `utf8` allows raw UTF-8 in quoted strings. */
export function parseCommand(unit: CommandUnit, utf8 = true): ParseResult {
  const c = new Cursor(unit, utf8);
  let tag: string | null = null;
  let verb: string | null = null;
  try {
    const t = c.astringAtom();
    if (!isTag(t)) c.fail('bad tag');
    tag = t;
    c.sp();
    verb = c.keyword();
    if (verb === 'UID') {
      c.sp();
      const sub = c.keyword();
      verb = `UID ${sub}`;
      if (!['FETCH', 'STORE', 'COPY', 'MOVE', 'SEARCH', 'EXPUNGE', 'SORT', 'THREAD'].includes(sub)) c.fail(`unknown UID command ${sub}`);
      c.sp();
      return { ok: true, command: { tag, ...parseArgs(c, sub, true) } as Command };
    }
    if (!KNOWN.has(verb)) c.fail(`unknown command ${verb}`);
    if (NO_ARGS.has(verb)) {
      c.end();
      return { ok: true, command: { tag, name: verb } as Command };
    }
    if (c.atEnd()) c.fail('missing arguments');
    c.sp();
    return { ok: true, command: { tag, ...parseArgs(c, verb, false) } as Command };
  } catch (e) {
    if (e instanceof SyntaxFailure) return { ok: false, tag, code: e.code, text: e.message, verb };
    throw e;
  }
}

type Args = Record<string, unknown> & { name: string };

function parseArgs(c: Cursor, verb: string, uid: boolean): Args {
  switch (verb) {
    case 'LOGIN': {
      const username = c.astring();
      c.sp();
      const password = c.astring();
      c.end();
      return { name: 'LOGIN', username, password };
    }
    case 'AUTHENTICATE': {
      const mechanism = c.atom().toUpperCase();
      let initialResponse: string | null = null;
      // RFC 4959 §3: SASL-IR initial response ("=" for empty).
      if (c.maybeSp()) {
        const ir = c.atom();
        initialResponse = ir === '=' ? '' : ir;
      }
      c.end();
      return { name: 'AUTHENTICATE', mechanism, initialResponse };
    }
    case 'ENABLE': {
      const capabilities = [c.atom().toUpperCase()];
      while (c.maybeSp()) capabilities.push(c.atom().toUpperCase());
      c.end();
      return { name: 'ENABLE', capabilities };
    }
    case 'ID':
      return { name: 'ID', params: idParams(c) };
    case 'COMPRESS': {
      const algorithm = c.atom().toUpperCase();
      c.end();
      return { name: 'COMPRESS', algorithm };
    }
    case 'SELECT':
    case 'EXAMINE':
      return { name: verb, ...selectArgs(c) };
    case 'CREATE': {
      const mailbox = c.mailbox();
      const specialUse: string[] = [];
      if (c.maybeSp()) {
        // RFC 6154 §3: CREATE ... (USE (\Sent)).
        c.char('(');
        if (c.keyword() !== 'USE') c.fail('expected USE');
        c.sp();
        specialUse.push(...c.flagList());
        c.char(')');
      }
      c.end();
      return { name: 'CREATE', mailbox, specialUse };
    }
    case 'DELETE':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
    case 'GETQUOTAROOT': {
      const mailbox = c.mailbox();
      c.end();
      return { name: verb, mailbox };
    }
    case 'GETQUOTA': {
      const root = c.astring();
      c.end();
      return { name: verb, root };
    }
    case 'RENAME': {
      const from = c.mailbox();
      c.sp();
      const to = c.mailbox();
      c.end();
      return { name: 'RENAME', from, to };
    }
    case 'LIST':
      return { name: 'LIST', ...listArgs(c) };
    case 'LSUB': {
      const reference = c.mailbox();
      c.sp();
      const pattern = c.listMailbox();
      c.end();
      return { name: 'LSUB', reference, pattern };
    }
    case 'STATUS': {
      const mailbox = c.mailbox();
      c.sp();
      const items = statusItems(c);
      c.end();
      return { name: 'STATUS', mailbox, items };
    }
    case 'APPEND':
      return { name: 'APPEND', ...appendArgs(c) };
    case 'FETCH':
      return { name: 'FETCH', uid, ...parseFetch(c) };
    case 'STORE':
      return { name: 'STORE', uid, ...storeArgs(c) };
    case 'COPY':
    case 'MOVE': {
      const set = c.sequenceSet();
      c.sp();
      const mailbox = c.mailbox();
      c.end();
      return { name: verb, uid, set, mailbox };
    }
    case 'SEARCH':
      return { name: 'SEARCH', uid, ...parseSearch(c) };
    case 'SORT':
      return { name: 'SORT', uid, ...parseSort(c) };
    case 'THREAD':
      return { name: 'THREAD', uid, ...parseThread(c) };
    case 'EXPUNGE': {
      // RFC 4315 §2.1 UID EXPUNGE.
      const set = c.sequenceSet();
      c.end();
      return { name: 'UID EXPUNGE', set };
    }
    default:
      c.fail(`unknown command ${verb}`);
  }
}

function idParams(c: Cursor): Array<[string, string | null]> | null {
  if (c.maybeWord('NIL')) {
    c.end();
    return null;
  }
  c.char('(');
  const out: Array<[string, string | null]> = [];
  while (!c.maybeChar(')')) {
    if (out.length > 0) c.sp();
    const k = c.string();
    c.sp();
    const v = c.nstring();
    out.push([k.slice(0, 30), v === null ? null : v.slice(0, 1024)]);
    // RFC 2971 §3.3: at most 30 pairs.
    if (out.length > 30) throw new SyntaxFailure('too many ID fields', 'LIMIT');
  }
  c.end();
  return out;
}

function selectArgs(c: Cursor): { mailbox: string; condstore: boolean; qresync: QresyncParams | null } {
  const mailbox = c.mailbox();
  let condstore = false;
  let qresync: QresyncParams | null = null;
  if (c.maybeSp()) {
    c.list(() => {
      const p = c.keyword();
      if (p === 'CONDSTORE') condstore = true;
      else if (p === 'QRESYNC') {
        // RFC 7162 §3.2.5: (uidvalidity modseq [known-uids [seq-match-data]]).
        c.sp();
        c.char('(');
        const uidValidity = c.nzNumber();
        c.sp();
        const modseq = c.number();
        let knownUids: SequenceSet | null = null;
        if (c.maybeSp()) {
          if (c.peek() !== 0x28) knownUids = c.sequenceSet();
          if (c.maybeSp() || c.peek() === 0x28) {
            // seq-match-data is accepted and ignored: we answer from the change log.
            c.char('(');
            c.sequenceSet();
            c.sp();
            c.sequenceSet();
            c.char(')');
          }
        }
        c.char(')');
        qresync = { uidValidity, modseq, knownUids };
      } else c.fail(`unknown select parameter ${p}`);
    }, 10, 'too many select parameters');
  }
  c.end();
  return { mailbox, condstore, qresync };
}

function statusItems(c: Cursor): StatusItem[] {
  const items: StatusItem[] = [];
  c.list(
    () => {
      const w = c.keyword() as StatusItem;
      if (!STATUS_ITEMS.includes(w)) c.fail(`unknown status item ${w}`);
      items.push(w);
    },
    20,
    'too many status items',
  );
  if (items.length === 0) c.fail('empty status list');
  return items;
}

function listArgs(c: Cursor): ListArgs {
  const selection = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
  const returns: ListArgs['returns'] = { subscribed: false, children: false, specialUse: false, status: null };
  let extended = false;
  if (c.peek() === 0x28) {
    // RFC 5258 §3: list-select-opts.
    extended = true;
    c.list(
      () => {
        const o = c.keyword();
        if (o === 'SUBSCRIBED') selection.subscribed = true;
        else if (o === 'REMOTE') selection.remote = true;
        else if (o === 'RECURSIVEMATCH') selection.recursiveMatch = true;
        else if (o === 'SPECIAL-USE') selection.specialUse = true;
        else c.fail(`unknown selection option ${o}`);
      },
      20,
      'too many selection options',
    );
    // RFC 5258 §3: RECURSIVEMATCH needs another option.
    if (selection.recursiveMatch && !selection.subscribed) c.fail('RECURSIVEMATCH alone');
    c.sp();
  }
  const reference = c.mailbox();
  c.sp();
  const patterns: string[] = [];
  if (c.peek() === 0x28) {
    extended = true;
    c.char('(');
    while (!c.maybeChar(')')) {
      if (patterns.length > 0) c.sp();
      patterns.push(c.listMailbox());
      if (patterns.length > 100) throw new SyntaxFailure('too many patterns', 'LIMIT');
    }
  } else patterns.push(c.listMailbox());
  if (c.maybeSp()) {
    extended = true;
    if (c.keyword() !== 'RETURN') c.fail('expected RETURN');
    c.sp();
    c.list(
      () => {
        const o = c.keyword();
        if (o === 'SUBSCRIBED') returns.subscribed = true;
        else if (o === 'CHILDREN') returns.children = true;
        else if (o === 'SPECIAL-USE') returns.specialUse = true;
        else if (o === 'STATUS') {
          c.sp();
          returns.status = statusItems(c);
        } else c.fail(`unknown return option ${o}`);
      },
      20,
      'too many return options',
    );
  }
  c.end();
  return { selection, reference, patterns, returns, extended };
}

function appendArgs(c: Cursor): { mailbox: string; flags: string[]; date: number | null; message: Buffer; binary: boolean } {
  const mailbox = c.mailbox();
  c.sp();
  let flags: string[] = [];
  let date: number | null = null;
  if (c.peek() === 0x28) {
    flags = c.flagList();
    c.sp();
  }
  if (c.peek() === 0x22) {
    date = c.dateTime();
    c.sp();
  }
  // RFC 3516 §4.4: APPEND with literal8 (~{n}) is BINARY; RFC 4469 CATENATE is not offered.
  const binary = c.peek() === 0x7e;
  if (c.peek() !== 0x7b && !binary) c.fail('expected a message literal');
  const message = c.stringBytes();
  c.end();
  return { mailbox, flags, date, message, binary };
}

function storeArgs(c: Cursor): { set: SequenceSet; mode: 'add' | 'remove' | 'replace'; silent: boolean; flags: string[]; unchangedSince: number | null } {
  const set = c.sequenceSet();
  c.sp();
  let unchangedSince: number | null = null;
  if (c.peek() === 0x28) {
    // RFC 7162 §3.1.3: (UNCHANGEDSINCE n).
    c.char('(');
    if (c.keyword() !== 'UNCHANGEDSINCE') c.fail('expected UNCHANGEDSINCE');
    c.sp();
    unchangedSince = c.number();
    c.char(')');
    c.sp();
  }
  const op = c.keyword();
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(op);
  if (!m) c.fail('expected FLAGS, +FLAGS or -FLAGS');
  c.sp();
  const flags = c.storeFlags();
  c.end();
  return { set, mode: m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace', silent: !!m[2], flags, unchangedSince };
}

/** The command type of one verb (or verbs), narrowing grouped variants. */
export type CommandOf<N extends CommandName> = N extends CommandName ? Extract<Command, { name: unknown }> extends infer X ? (X extends { name: infer M } ? (N extends M ? X & { name: N } : never) : never) : never : never;
