/** Content-Transfer-Encoding decoding (RFC 2045 §6), tolerant of the damage real mail shows. */

const B64_VALUES = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUES['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/**
 * Decodes base64 (RFC 2045 §6.8). Characters outside the alphabet are ignored, as §6.8 says a
 * decoder must; "=" ends the current 4-character quantum, so concatenated encodings with
 * padding in the middle still decode; a trailing partial quantum yields the bytes it holds.
 */
export function decodeBase64(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.floor((bytes.length * 3) / 4) + 3);
  let o = 0;
  let acc = 0;
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    const v = B64_VALUES[c] as number;
    if (v >= 0) {
      acc = (acc << 6) | v;
      n++;
      if (n === 4) {
        out[o++] = (acc >> 16) & 0xff;
        out[o++] = (acc >> 8) & 0xff;
        out[o++] = acc & 0xff;
        acc = 0;
        n = 0;
      }
    } else if (c === 0x3d /* = */ && n > 0) {
      o = flushQuantum(out, o, acc, n);
      acc = 0;
      n = 0;
    }
  }
  if (n > 0) o = flushQuantum(out, o, acc, n);
  return out.subarray(0, o);
}

function flushQuantum(out: Uint8Array, o: number, acc: number, n: number): number {
  // n chars carry 6n bits; whole bytes only (1 char alone carries no full byte).
  if (n === 2) {
    out[o++] = (acc >> 4) & 0xff;
  } else if (n === 3) {
    out[o++] = (acc >> 10) & 0xff;
    out[o++] = (acc >> 2) & 0xff;
  }
  return o;
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57; // lower case: RFC 2045 §6.7 (1) says decoders may accept it
  return -1;
}

/**
 * Decodes quoted-printable (RFC 2045 §6.7). "=XX" with either case of hex becomes a byte; "="
 * followed by optional whitespace and a line break is a soft break; any other "=" is kept
 * literally (§6.7 note on robust decoders); trailing whitespace on lines is dropped (rule 3).
 * Line breaks (CRLF or bare LF) are kept as they are.
 */
export function decodeQuotedPrintable(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let o = 0;
  let i = 0;
  const len = bytes.length;
  while (i < len) {
    const c = bytes[i] as number;
    if (c === 0x3d) {
      const h = hexValue(bytes[i + 1]);
      const l = hexValue(bytes[i + 2]);
      if (h >= 0 && l >= 0) {
        out[o++] = (h << 4) | l;
        i += 3;
        continue;
      }
      // Soft line break, tolerating whitespace between "=" and the line end.
      let j = i + 1;
      while (j < len && (bytes[j] === 0x20 || bytes[j] === 0x09)) j++;
      if (j >= len) {
        i = len;
        continue;
      }
      if (bytes[j] === 0x0a) {
        i = j + 1;
        continue;
      }
      if (bytes[j] === 0x0d && (j + 1 >= len || bytes[j + 1] === 0x0a)) {
        i = j + 2;
        continue;
      }
      out[o++] = c;
      i++;
      continue;
    }
    if (c === 0x20 || c === 0x09) {
      // Rule 3: whitespace at the end of an encoded line was added in transport; drop it.
      let j = i;
      while (j < len && (bytes[j] === 0x20 || bytes[j] === 0x09)) j++;
      if (j >= len || bytes[j] === 0x0a || (bytes[j] === 0x0d && bytes[j + 1] === 0x0a)) {
        i = j;
        continue;
      }
      while (i < j) out[o++] = bytes[i++] as number;
      continue;
    }
    out[o++] = c;
    i++;
  }
  return out.subarray(0, o);
}

/**
 * Undoes a Content-Transfer-Encoding. base64 and quoted-printable are decoded; 7bit, 8bit,
 * binary and unknown encodings return the bytes unchanged (RFC 2045 §6.4 says an unknown
 * encoding is to be treated as application/octet-stream, i.e. left alone).
 */
export function decodeTransferEncoding(bytes: Uint8Array, encoding: string | null | undefined): Uint8Array {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === 'base64') return decodeBase64(bytes);
  if (e === 'quoted-printable') return decodeQuotedPrintable(bytes);
  return bytes;
}

/** Octets after decoding, computed without keeping the decoded bytes for base64. */
export function decodedLength(bytes: Uint8Array, encoding: string): number {
  if (encoding === 'base64') {
    const fast = cleanBase64Length(bytes);
    if (fast !== null) return fast;
    let n = 0;
    let total = 0;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i] as number;
      if ((B64_VALUES[c] as number) >= 0) {
        n++;
        if (n === 4) {
          total += 3;
          n = 0;
        }
      } else if (c === 0x3d && n > 0) {
        total += n === 2 ? 1 : n === 3 ? 2 : 0;
        n = 0;
      }
    }
    return total + (n === 2 ? 1 : n === 3 ? 2 : 0);
  }
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(bytes).length;
  return bytes.length;
}

const NOT_CLEAN_BASE64 = /[^A-Za-z0-9+/=\r\n]/;
const PADDING_TAIL = /^=+[\r\n]*$/;

/**
 * The decoded length of well-formed base64 (alphabet and line breaks only, padding only at
 * the end) computed with native scans: the common case of every attachment. Null for anything
 * else, which the tolerant byte loop then handles.
 */
function cleanBase64Length(bytes: Uint8Array): number | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buf.toString('latin1');
  if (NOT_CLEAN_BASE64.test(text)) return null;
  const eq = text.indexOf('=');
  if (eq !== -1 && !PADDING_TAIL.test(text.slice(eq))) return null;
  let breaks = 0;
  for (const c of [0x0d, 0x0a]) {
    for (let i = buf.indexOf(c); i !== -1; i = buf.indexOf(c, i + 1)) breaks++;
  }
  const padding = eq === -1 ? 0 : text.slice(eq).replace(/[\r\n]/g, '').length;
  const dataChars = text.length - breaks - padding;
  // Four characters carry three octets; a final group of two or three carries one or two.
  return Math.floor((dataChars * 3) / 4);
}
