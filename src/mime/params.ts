/**
 * Structured MIME headers with parameters: Content-Type (RFC 2045 §5.1), Content-Disposition
 * (RFC 2183 §2), with RFC 2231 continuations, charsets and languages, and RFC 2047 encoded-words
 * in quoted values tolerated (Outlook and others send them).
 */
import { Buffer } from 'node:buffer';
import { decodeCharset } from './charset.js';
import { decodeEncodedWords } from './encodedWords.js';

/** A header value of the form `value *(";" name=value)` taken apart. */
export interface ParameterisedValue {
  /** The part before the first ";", comments removed, trimmed (case kept). */
  value: string;
  /** Parameters with lower-cased names and decoded values; the first occurrence of a name wins. */
  params: Record<string, string>;
}

interface RawParam {
  name: string;
  value: string;
}

function skipComment(s: string, i: number): number {
  // RFC 5322 §3.2.2: comments nest and may contain quoted-pairs.
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return s.length;
}

function skipWsAndComments(s: string, i: number): number {
  for (;;) {
    while (i < s.length && /\s/.test(s[i] as string)) i++;
    if (s[i] === '(') i = skipComment(s, i);
    else return i;
  }
}

/** Splits a header value into its leading value and raw (undecoded) parameters. */
function tokenize(s: string): { value: string; raw: RawParam[] } {
  let i = 0;
  let value = '';
  // Leading value: up to ";" outside quotes, comments dropped.
  while (i < s.length && s[i] !== ';') {
    const c = s[i] as string;
    if (c === '(') {
      i = skipComment(s, i);
      value += ' ';
      continue;
    }
    if (c === '"') {
      const q = readQuoted(s, i);
      value += q.text;
      i = q.next;
      continue;
    }
    value += c;
    i++;
  }
  const raw: RawParam[] = [];
  while (i < s.length && raw.length < 256) {
    i++; // ";"
    i = skipWsAndComments(s, i);
    const nameStart = i;
    while (i < s.length && s[i] !== '=' && s[i] !== ';') i++;
    const name = s.slice(nameStart, i).trim().toLowerCase();
    if (s[i] !== '=') continue; // a bare word: ignored
    i = skipWsAndComments(s, i + 1);
    let v: string;
    if (s[i] === '"') {
      const q = readQuoted(s, i);
      v = q.text;
      i = q.next;
      while (i < s.length && s[i] !== ';') i++; // junk after the closing quote
    } else {
      const vs = i;
      while (i < s.length && s[i] !== ';') i++;
      // Unquoted values with spaces are tolerated; a trailing comment is dropped.
      v = s.slice(vs, i).replace(/\s*\([^()]*\)\s*$/, '').trim();
    }
    if (name !== '') raw.push({ name, value: v });
  }
  return { value: value.trim(), raw };
}

function readQuoted(s: string, i: number): { text: string; next: number } {
  // RFC 5322 §3.2.4 quoted-string; an unterminated one runs to the end.
  let text = '';
  i++;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    if (c === '"') return { text, next: i + 1 };
    text += c;
    i++;
  }
  return { text, next: i };
}

function percentDecode(s: string, out: number[]): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      out.push(c);
    } else {
      for (const b of Buffer.from(s[i] as string, 'utf8')) out.push(b);
    }
  }
}

interface Segment {
  index: number;
  isEncoded: boolean;
  value: string;
}

/**
 * Parses `value; name=value; ...` with RFC 2231 decoding: `name*=charset'lang'%XX` values,
 * `name*0=`/`name*1*=` continuations joined in order (§3, §4.1), the charset of segment 0 applied
 * to the joined bytes, the language dropped. An RFC 2231 form of a name wins over a plain one.
 */
export function parseParameterised(headerValue: string): ParameterisedValue {
  const { value, raw } = tokenize(headerValue);
  const params: Record<string, string> = {};
  const extended = new Map<string, Segment[]>();
  for (const p of raw) {
    const m = /^([^*]+)\*(?:(\d{1,3})\*?)?$/.exec(p.name) ?? null;
    if (m && /\*/.test(p.name)) {
      const base = m[1] as string;
      const index = m[2] === undefined ? 0 : Number(m[2]);
      const isEncoded = p.name.endsWith('*');
      let segs = extended.get(base);
      if (!segs) extended.set(base, (segs = []));
      if (!segs.some((s) => s.index === index)) segs.push({ index, isEncoded, value: p.value });
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(params, p.name)) continue;
    params[p.name] = p.value.includes('=?') ? decodeEncodedWords(p.value) : p.value;
  }
  for (const [base, segs] of extended) {
    segs.sort((a, b) => a.index - b.index);
    const bytes: number[] = [];
    let charset = '';
    for (const seg of segs) {
      let v = seg.value;
      if (seg.isEncoded && seg === segs[0]) {
        // RFC 2231 §4: charset ' language ' value, only on the first segment.
        const q1 = v.indexOf("'");
        const q2 = q1 === -1 ? -1 : v.indexOf("'", q1 + 1);
        if (q2 !== -1) {
          charset = v.slice(0, q1);
          v = v.slice(q2 + 1);
        }
      }
      if (seg.isEncoded) percentDecode(v, bytes);
      else for (const b of Buffer.from(v, 'utf8')) bytes.push(b);
    }
    let decoded = decodeCharset(Uint8Array.from(bytes), charset || null);
    if (decoded.includes('=?')) decoded = decodeEncodedWords(decoded);
    params[base] = decoded;
  }
  return { value, params };
}

/** Content-Type (RFC 2045 §5.1) taken apart: lower-cased type and subtype, or null when invalid. */
export function parseContentType(headerValue: string): { type: string; subtype: string; params: Record<string, string> } | null {
  const { value, params } = parseParameterised(headerValue);
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*(?:\/\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+))?/.exec(value);
  if (!m) return null;
  const type = (m[1] as string).toLowerCase();
  let subtype = m[2]?.toLowerCase();
  if (subtype === undefined) {
    // "Content-Type: text" is common enough to repair; other bare types are invalid (§5.2).
    if (type !== 'text') return null;
    subtype = 'plain';
  }
  return { type, subtype, params };
}
