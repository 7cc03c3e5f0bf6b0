/**
 * Address lists (RFC 5322 §3.4) with groups, comments, quoted local parts, the obsolete route
 * syntax (§4.4) and best-effort recovery from broken input. Display names are decoded (RFC 2047).
 */
import { decodeEncodedWords } from './encodedWords.js';
import type { Address, AddressGroup, AddressList } from './types.js';

type Tok =
  | { kind: 'word'; text: string; isQuoted: boolean; hasSpaceBefore: boolean }
  | { kind: 'comment'; text: string }
  | { kind: 'special'; text: '<' | '>' | '@' | ',' | ';' | ':' | '.' };

const MAX_TOKENS = 100_000;

function tokenize(s: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let space = false;
  while (i < s.length && toks.length < MAX_TOKENS) {
    const c = s[i] as string;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      space = true;
      i++;
    } else if (c === '(') {
      let depth = 0;
      let text = '';
      for (; i < s.length; i++) {
        const d = s[i] as string;
        if (d === '\\' && i + 1 < s.length) {
          text += s[++i];
          continue;
        }
        if (d === '(') {
          if (depth++ > 0) text += d;
        } else if (d === ')') {
          if (--depth === 0) {
            i++;
            break;
          }
          text += d;
        } else text += d;
      }
      toks.push({ kind: 'comment', text: text.trim() });
      space = true;
    } else if (c === '"') {
      let text = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        text += s[i];
        i++;
      }
      i++;
      toks.push({ kind: 'word', text, isQuoted: true, hasSpaceBefore: space });
      space = false;
    } else if (c === '[') {
      // Domain literal (RFC 5322 §3.4.1), kept with its brackets.
      const close = s.indexOf(']', i);
      const j = close === -1 ? s.length : close + 1;
      toks.push({ kind: 'word', text: s.slice(i, j), isQuoted: false, hasSpaceBefore: space });
      space = false;
      i = j;
    } else if (c === '<' || c === '>' || c === '@' || c === ',' || c === ';' || c === ':' || c === '.') {
      toks.push({ kind: 'special', text: c });
      // "." keeps the spacing memory so "John Q. Public" rebuilds with its spaces.
      if (c !== '.') space = false;
      i++;
    } else {
      let text = '';
      while (i < s.length) {
        const d = s[i] as string;
        if (' \t\r\n()"<>@,;:.['.includes(d)) break;
        if (d === '\\' && i + 1 < s.length) {
          text += s[i + 1];
          i += 2;
          continue;
        }
        text += d;
        i++;
      }
      toks.push({ kind: 'word', text, isQuoted: false, hasSpaceBefore: space });
      space = false;
    }
  }
  return toks;
}

/** Display text of phrase tokens: words joined with single spaces where the input had space. */
function phraseText(toks: Tok[]): string {
  let out = '';
  for (const t of toks) {
    if (t.kind === 'comment') continue;
    if (t.kind === 'word') {
      if (out !== '' && t.hasSpaceBefore) out += ' ';
      out += t.text;
    } else {
      out += t.text;
    }
  }
  // RFC 2047 §5(3) words in phrases; also tolerated inside quoted strings, as clients send them.
  return decodeEncodedWords(out.trim()).trim();
}

/** Splits addr-spec tokens at the last "@" into local part and domain. */
function addrSpec(toks: Tok[]): { mailbox: string; host: string } {
  let at = -1;
  for (let k = toks.length - 1; k >= 0; k--) {
    const t = toks[k] as Tok;
    if (t.kind === 'special' && t.text === '@') {
      at = k;
      break;
    }
  }
  const join = (ts: Tok[]): string => {
    let out = '';
    for (const t of ts) if (t.kind !== 'comment') out += t.kind === 'word' ? t.text : t.text === '@' ? '@' : t.text === '.' ? '.' : '';
    return out;
  };
  if (at === -1) return { mailbox: join(toks), host: '' };
  return { mailbox: join(toks.slice(0, at)), host: join(toks.slice(at + 1)) };
}

function lastComment(toks: Tok[]): string | null {
  for (let k = toks.length - 1; k >= 0; k--) {
    const t = toks[k] as Tok;
    if (t.kind === 'comment' && t.text !== '') return decodeEncodedWords(t.text);
  }
  return null;
}

/**
 * Parses an address header value into mailboxes and groups; never throws. Recovers from missing
 * brackets, unbalanced quotes and stray separators by keeping whatever looks like an address.
 * Where there is no display name, a comment after the address (`user@host (Name)`) becomes it.
 */
export function parseAddressList(value: string): AddressList {
  const toks = tokenize(value);
  const out: AddressList = [];
  let group: AddressGroup | null = null;
  let phrase: Tok[] = [];
  let angle: { mailbox: string; host: string } | null = null;
  let trailing: Tok[] = []; // tokens after ">" (comments, junk)

  const flush = (): void => {
    let addr: Address | null = null;
    if (angle) {
      const name = phraseText(phrase);
      addr = { name: name !== '' ? name : lastComment(trailing), mailbox: angle.mailbox, host: angle.host };
    } else if (phrase.some((t) => t.kind === 'word')) {
      const spec = addrSpec(phrase);
      addr = { name: lastComment(phrase), mailbox: spec.mailbox, host: spec.host };
      if (spec.host === '' && phrase.filter((t) => t.kind === 'word').length > 1) {
        // "To: John Smith" (no address at all): keep the words as the local part, spaced.
        addr.mailbox = phraseText(phrase);
      }
    }
    if (addr && (addr.mailbox !== '' || addr.host !== '')) (group ? group.addresses : out).push(addr);
    phrase = [];
    angle = null;
    trailing = [];
  };

  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as Tok;
    if (t.kind === 'special' && t.text === '<') {
      // angle-addr (§3.4), with an obsolete route "@a,@b:" dropped (§4.4).
      const inner: Tok[] = [];
      i++;
      for (; i < toks.length; i++) {
        const u = toks[i] as Tok;
        if (u.kind === 'special' && u.text === '>') break;
        inner.push(u);
      }
      let colon = -1;
      if (inner[0]?.kind === 'special' && inner[0].text === '@') {
        colon = inner.findIndex((u) => u.kind === 'special' && u.text === ':');
      }
      const spec = addrSpec(inner.slice(colon + 1).filter((u) => u.kind !== 'special' || u.text === '@' || u.text === '.'));
      if (angle) {
        // A second <...> in the same item: previous item lacked a comma.
        flush();
      }
      angle = spec;
      continue;
    }
    if (t.kind === 'special' && t.text === ',') {
      flush();
      continue;
    }
    if (t.kind === 'special' && t.text === ':' && !group && !angle) {
      // group = display-name ":" [group-list] ";" (§3.4)
      group = { group: phraseText(phrase), addresses: [] };
      phrase = [];
      continue;
    }
    if (t.kind === 'special' && t.text === ';') {
      flush();
      if (group) {
        out.push(group);
        group = null;
      }
      continue;
    }
    if (angle) trailing.push(t);
    else phrase.push(t);
  }
  flush();
  if (group) out.push(group);
  return out;
}
