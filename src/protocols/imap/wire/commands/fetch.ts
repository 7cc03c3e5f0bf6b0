/**
 * FETCH arguments (RFC 9051 §6.4.5, RFC 3501 §6.4.5; BINARY RFC 3516 §4.2; CONDSTORE
 * CHANGEDSINCE RFC 7162 §3.1.4; QRESYNC VANISHED RFC 7162 §3.2.6) -> typed value.
 */
import { SyntaxFailure, type Cursor, type SequenceSet } from '../grammar.js';

/** A body section specifier (RFC 9051 §6.4.5). */
export interface Section {
  /** Part numbers; empty for the whole message. */
  part: number[];
  /** The text specifier, if any. */
  text: null | 'HEADER' | 'TEXT' | 'MIME' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT';
  /** Header field names for HEADER.FIELDS (.NOT). */
  fields: string[];
}

/** One FETCH data item. */
export type FetchItem =
  | { kind: 'simple'; name: 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODY' | 'BODYSTRUCTURE' | 'UID' | 'MODSEQ' | 'EMAILID' | 'THREADID' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT' | 'SAVEDATE' }
  | { kind: 'body'; peek: boolean; section: Section; partial: Partial | null; label: string }
  | { kind: 'binary'; peek: boolean; part: number[]; partial: Partial | null; label: string }
  | { kind: 'binary.size'; part: number[]; label: string };

/** A partial range <origin.length>. */
export interface Partial {
  origin: number;
  length: number;
}

/** Parsed FETCH (or UID FETCH). */
export interface FetchArgs {
  set: SequenceSet;
  items: FetchItem[];
  changedSince: number | null;
  vanished: boolean;
}

const SIMPLE = new Set(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'UID', 'MODSEQ', 'EMAILID', 'THREADID', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT', 'SAVEDATE']);

/** Parses what follows "FETCH SP". */
export function parseFetch(c: Cursor): FetchArgs {
  const set = c.sequenceSet();
  c.sp();
  const items: FetchItem[] = [];
  if (c.peek() === 0x28) {
    c.list(() => items.push(fetchAtt(c)), 100, 'too many fetch items');
    if (items.length === 0) c.fail('empty fetch list');
  } else {
    const w = c.lookingAt('ALL') || c.lookingAt('FAST') || c.lookingAt('FULL') ? macro(c) : null;
    if (w) items.push(...w);
    else items.push(fetchAtt(c));
  }
  let changedSince: number | null = null;
  let vanished = false;
  if (c.maybeSp()) {
    // RFC 7162 §3.1.4.1 / §3.2.6: fetch modifiers.
    c.list(
      () => {
        const m = c.keyword();
        if (m === 'CHANGEDSINCE') {
          c.sp();
          changedSince = c.number();
        } else if (m === 'VANISHED') vanished = true;
        else c.fail(`unknown fetch modifier ${m}`);
      },
      10,
      'too many fetch modifiers',
    );
  }
  c.end();
  return { set, items, changedSince, vanished };
}

function macro(c: Cursor): FetchItem[] | null {
  const save = c.keyword();
  const s = (name: 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODY'): FetchItem => ({ kind: 'simple', name });
  // RFC 9051 §6.4.5 macros.
  if (save === 'ALL') return [s('FLAGS'), s('INTERNALDATE'), s('RFC822.SIZE'), s('ENVELOPE')];
  if (save === 'FAST') return [s('FLAGS'), s('INTERNALDATE'), s('RFC822.SIZE')];
  if (save === 'FULL') return [s('FLAGS'), s('INTERNALDATE'), s('RFC822.SIZE'), s('ENVELOPE'), s('BODY')];
  c.fail('unknown fetch macro');
}

function fetchAtt(c: Cursor): FetchItem {
  const name = c.word();
  if (name === 'BODY' || name === 'BODY.PEEK') {
    if (c.peek() !== 0x5b) {
      if (name === 'BODY.PEEK') c.fail('BODY.PEEK needs a section');
      return { kind: 'simple', name: 'BODY' };
    }
    const { section, text } = sectionSpec(c);
    const partial = partialSpec(c);
    return { kind: 'body', peek: name === 'BODY.PEEK', section, partial, label: `BODY[${text}]` };
  }
  if (name === 'BINARY' || name === 'BINARY.PEEK' || name === 'BINARY.SIZE') {
    // RFC 3516 §4.2: section-binary = "[" [section-part] "]".
    c.char('[');
    const part: number[] = [];
    while (c.peek() !== 0x5d) {
      if (part.length > 0) c.char('.');
      part.push(c.nzNumber());
      if (part.length > 64) throw new SyntaxFailure('section too deep', 'LIMIT');
    }
    c.char(']');
    const label = `[${part.join('.')}]`;
    if (name === 'BINARY.SIZE') return { kind: 'binary.size', part, label: `BINARY.SIZE${label}` };
    return { kind: 'binary', peek: name === 'BINARY.PEEK', part, partial: partialSpec(c), label: `BINARY${label}` };
  }
  if (SIMPLE.has(name)) return { kind: 'simple', name: name as never };
  c.fail(`unknown fetch item ${name}`);
}

function partialSpec(c: Cursor): Partial | null {
  if (!c.maybeChar('<')) return null;
  const origin = c.number();
  c.char('.');
  const length = c.nzNumber();
  c.char('>');
  return { origin, length };
}

/** RFC 9051 §9 section; returns the section and its canonical text for the response label. */
function sectionSpec(c: Cursor): { section: Section; text: string } {
  c.char('[');
  const part: number[] = [];
  let text: Section['text'] = null;
  const fields: string[] = [];
  while (c.peek() >= 0x30 && c.peek() <= 0x39) {
    part.push(c.nzNumber());
    if (part.length > 64) throw new SyntaxFailure('section too deep', 'LIMIT');
    if (!c.maybeChar('.')) break;
  }
  if (c.peek() !== 0x5d) {
    const w = c.word();
    if (w === 'HEADER' || w === 'TEXT') text = w;
    else if (w === 'MIME' && part.length > 0) text = 'MIME';
    else if (w === 'HEADER.FIELDS' || w === 'HEADER.FIELDS.NOT') {
      text = w;
      c.sp();
      c.list(() => fields.push(c.astring()), 200, 'too many header fields');
      if (fields.length === 0) c.fail('empty header list');
    } else c.fail(`bad section text ${w}`);
  }
  c.char(']');
  let label = part.join('.');
  if (text) label += (label ? '.' : '') + text;
  if (text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT') label += ` (${fields.map((f) => f.toUpperCase()).join(' ')})`;
  return { section: { part, text, fields }, text: label };
}
