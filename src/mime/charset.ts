/**
 * Charset decoding (RFC 2045 §5.1 charset parameter, RFC 2046 §4.1.2). Relies on Node's
 * TextDecoder (full ICU), which knows the WHATWG Encoding labels; adds UTF-7 (RFC 2152) and a
 * few common aliases, and falls back for unknown labels.
 */
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';

const decoders = new Map<string, TextDecoder | null>();

// Labels seen in real mail that WHATWG does not list; mapped to the closest known encoding.
const ALIASES: Record<string, string> = {
  'utf8': 'utf-8',
  'unicode-1-1-utf-8': 'utf-8',
  'x-unknown': '',
  'unknown-8bit': '',
  'unknown': '',
  'default': '',
  'ascii': 'us-ascii',
  'us_ascii': 'us-ascii',
  'iso8859-1': 'iso-8859-1',
  'iso_8859_1': 'iso-8859-1',
  'latin-1': 'iso-8859-1',
  'cp936': 'gbk',
  'cp949': 'euc-kr',
  'cp932': 'shift_jis',
  'ms932': 'shift_jis',
  'x-sjis': 'shift_jis',
  'sjis': 'shift_jis',
  'windows-31j': 'shift_jis',
  'cp819': 'iso-8859-1',
  'ibm819': 'iso-8859-1',
  'x-user-defined': '',
};

function normaliseLabel(charset: string): string {
  let c = charset.trim().toLowerCase();
  // Some mailers quote or decorate the label: "utf-8"; also RFC 2231 language suffixes.
  c = c.replace(/^["']+|["']+$/g, '');
  const star = c.indexOf('*');
  if (star !== -1) c = c.slice(0, star);
  const alias = ALIASES[c];
  if (alias !== undefined) return alias;
  // "iso8859-15", "iso_8859-2:1987", "windows1252", "cp1251"
  let m = /^iso[-_ ]?8859[-_ ]?(\d+)/.exec(c);
  if (m) return `iso-8859-${m[1]}`;
  m = /^(?:windows|cp|win)[-_ ]?(125\d)$/.exec(c);
  if (m) return `windows-${m[1]}`;
  return c;
}

function decoderFor(label: string): TextDecoder | null {
  let d = decoders.get(label);
  if (d !== undefined) return d;
  d = null;
  if (label !== '' && label !== 'replacement') {
    // The TextDecoder constructor rejects unknown labels with a RangeError; probe with the
    // list of supported labels is not exposed, so a failed construction means "unknown".
    try {
      d = new TextDecoder(label);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      d = null; // unknown label: callers fall back, see decodeCharset
    }
  }
  if (decoders.size < 256) decoders.set(label, d);
  return d;
}

/** True when TextDecoder (or our UTF-7 decoder) knows this charset label. */
export function isKnownCharset(charset: string): boolean {
  const label = normaliseLabel(charset);
  return label === 'utf-7' || decoderFor(label) !== null;
}

const utf8 = new TextDecoder('utf-8');

// windows-1252 0x80–0x9F (WHATWG index); undefined positions map to the C1 control, as WHATWG does.
const CP1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/**
 * windows-1252, which WHATWG also uses for the iso-8859-1 and us-ascii labels.
 * Deviation: not via TextDecoder, because Node 20's decoder for this label returns ISO-8859-1
 * (0x80 → U+0080 instead of "€").
 */
export function decodeWindows1252(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    const chunk = bytes.subarray(i, i + 8192);
    const codes = new Array<number>(chunk.length);
    for (let k = 0; k < chunk.length; k++) {
      const b = chunk[k] as number;
      codes[k] = b >= 0x80 && b <= 0x9f ? CP1252_HIGH.charCodeAt(b - 0x80) : b;
    }
    out += String.fromCharCode(...codes);
  }
  return out;
}

const windows1252 = { decode: decodeWindows1252 };

/**
 * Decodes bytes in the named charset to a string; never throws. An absent or unknown charset
 * decodes as UTF-8 when the bytes are valid UTF-8 and as windows-1252 otherwise (so 8-bit
 * bytes always survive as some character instead of U+FFFD).
 */
export function decodeCharset(bytes: Uint8Array, charset: string | null | undefined): string {
  const label = charset ? normaliseLabel(charset) : '';
  if (label === 'utf-7' || label === 'unicode-1-1-utf-7' || label === 'csunicode11utf7') return decodeUtf7(bytes);
  // us-ascii is a subset of UTF-8; 8-bit bytes under a us-ascii label are usually UTF-8 really.
  if (label === 'us-ascii' || label === 'utf-8' || label === '') {
    if (label === 'utf-8' || isUtf8(bytes)) return utf8.decode(bytes);
    return windows1252.decode(bytes);
  }
  const d = decoderFor(label);
  if (d) return d.encoding === 'windows-1252' ? decodeWindows1252(bytes) : d.decode(bytes);
  return isUtf8(bytes) ? utf8.decode(bytes) : windows1252.decode(bytes);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** RFC 2152 UTF-7: ASCII, with "+" starting modified-base64 UTF-16 runs ended by "-" or any non-base64 char. */
function decodeUtf7(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b !== 0x2b /* + */) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    i++;
    if (bytes[i] === 0x2d /* - */) {
      out += '+';
      i++;
      continue;
    }
    let bits = 0;
    let nbits = 0;
    const units: number[] = [];
    while (i < bytes.length) {
      const v = B64.indexOf(String.fromCharCode(bytes[i] as number));
      if (v === -1) break;
      bits = ((bits << 6) | v) & 0xffffff;
      nbits += 6;
      if (nbits >= 16) {
        nbits -= 16;
        units.push((bits >> nbits) & 0xffff);
      }
      i++;
    }
    if (bytes[i] === 0x2d) i++;
    // Decoding through UTF-16LE turns unpaired surrogates from broken input into U+FFFD.
    const le = new Uint8Array(units.length * 2);
    units.forEach((u, k) => {
      le[2 * k] = u & 0xff;
      le[2 * k + 1] = u >> 8;
    });
    out += utf16le.decode(le);
  }
  return out;
}

const utf16le = new TextDecoder('utf-16le');
