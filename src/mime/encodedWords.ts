/**
 * RFC 2047 encoded-words in header text, and the RFC 2231 §5 language suffix on their charset.
 * Raw 8-bit UTF-8 (RFC 6532) has already become characters when header bytes were decoded.
 */
import { decodeCharset } from './charset.js';
import { decodeBase64 } from './transferEncoding.js';

// RFC 2047 §2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?="; we accept any
// printable text without "?" and whitespace, longer than 75 chars too (§2 limit is often broken).
const WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

interface Word {
  start: number;
  end: number;
  charset: string;
  bytes: Uint8Array;
}

function qDecode(text: string): Uint8Array {
  // RFC 2047 §4.2: "_" is space, "=XX" a byte; anything else literal.
  const out = new Uint8Array(text.length);
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) {
      out[o++] = 0x20;
    } else if (c === 0x3d && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[o++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      out[o++] = c & 0xff;
    }
  }
  return out.subarray(0, o);
}

function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/**
 * Decodes RFC 2047 encoded-words (B and Q) in a header value. Whitespace between adjacent
 * encoded-words is removed (RFC 2047 §6.2); adjacent words in the same charset are joined
 * before charset decoding so a multi-byte character split across words survives. Malformed
 * words are left as they are. Never throws.
 */
export function decodeEncodedWords(value: string): string {
  if (value.indexOf('=?') === -1) return value;
  const words: Word[] = [];
  WORD.lastIndex = 0;
  for (let m = WORD.exec(value); m; m = WORD.exec(value)) {
    const [, rawCharset = '', enc = '', text = ''] = m;
    const star = rawCharset.indexOf('*'); // RFC 2231 §5: charset*language
    const charset = (star === -1 ? rawCharset : rawCharset.slice(0, star)).toLowerCase();
    let bytes: Uint8Array;
    if (enc === 'b' || enc === 'B') {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) continue; // malformed: leave as is
      bytes = decodeBase64(asciiBytes(text));
    } else {
      bytes = qDecode(text);
    }
    words.push({ start: m.index, end: m.index + m[0].length, charset, bytes });
  }
  if (words.length === 0) return value;
  let out = '';
  let pos = 0;
  let i = 0;
  while (i < words.length) {
    const first = words[i] as Word;
    out += value.slice(pos, first.start);
    const chunks = [first.bytes];
    let end = first.end;
    let j = i + 1;
    // Join following words in the same charset separated only by linear whitespace (§6.2).
    for (; j < words.length; j++) {
      const next = words[j] as Word;
      if (next.charset !== first.charset || !isLinearWhitespace(value, end, next.start)) break;
      chunks.push(next.bytes);
      end = next.end;
    }
    out += decodeCharset(chunks.length === 1 ? first.bytes : concatAll(chunks), first.charset);
    pos = end;
    // An adjacent word in another charset: the whitespace between them is still dropped.
    const next = words[j];
    if (next && isLinearWhitespace(value, end, next.start)) pos = next.start;
    i = j;
  }
  return out + value.slice(pos);
}

function isLinearWhitespace(s: string, from: number, to: number): boolean {
  for (let k = from; k < to; k++) {
    const c = s.charCodeAt(k);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return false;
  }
  return true;
}

function concatAll(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
