import { describe, expect, it } from 'vitest';
import { decodeCharset, decodeEncodedWords, decodeTransferEncoding, isKnownCharset } from './index.js';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

describe('decodeTransferEncoding', () => {
  it('decodes base64 with line breaks and junk characters ignored', () => {
    expect(text(decodeTransferEncoding(bytes('SGVs\r\nbG8s\n IHdv*cmxk!'), 'base64'))).toBe('Hello, world');
  });

  it('decodes base64 with missing padding and with padding in the middle', () => {
    expect(text(decodeTransferEncoding(bytes('SGk'), 'base64'))).toBe('Hi');
    expect(text(decodeTransferEncoding(bytes('SGk=SGk='), 'BASE64'))).toBe('HiHi');
    expect(text(decodeTransferEncoding(bytes('QQ==\r\nQg=='), 'base64'))).toBe('AB');
  });

  it('ignores a lone trailing base64 character', () => {
    expect(text(decodeTransferEncoding(bytes('SGVsbG8h\nQ'), 'base64'))).toBe('Hello!');
  });

  it('decodes quoted-printable hex, soft breaks and keeps hard breaks', () => {
    expect(text(decodeTransferEncoding(bytes('caf=C3=A9 =\r\nna=efve\r\nline2'), 'quoted-printable'))).toBe('caf\xc3\xa9 na\xefve\r\nline2');
  });

  it('tolerates broken quoted-printable: soft break with trailing space, bad escapes, bare LF', () => {
    expect(text(decodeTransferEncoding(bytes('a= \r\nb'), 'quoted-printable'))).toBe('ab');
    expect(text(decodeTransferEncoding(bytes('a=\nb'), 'quoted-printable'))).toBe('ab');
    expect(text(decodeTransferEncoding(bytes('100% =ZZ =4'), 'quoted-printable'))).toBe('100% =ZZ =4');
    expect(text(decodeTransferEncoding(bytes('x=\r'), 'quoted-printable'))).toBe('x');
  });

  it('drops transport-added trailing whitespace in quoted-printable (RFC 2045 §6.7 rule 3)', () => {
    expect(text(decodeTransferEncoding(bytes('a  \r\nb\t\nc '), 'quoted-printable'))).toBe('a\r\nb\nc');
  });

  it('returns identity encodings and unknown encodings unchanged', () => {
    const b = bytes('=41 QUJD');
    for (const e of ['7bit', '8bit', 'binary', 'x-uuencode', '', null]) expect(decodeTransferEncoding(b, e)).toBe(b);
  });
});

describe('decodeCharset', () => {
  it('decodes common legacy charsets', () => {
    expect(decodeCharset(bytes('caf\xe9'), 'iso-8859-1')).toBe('café');
    expect(decodeCharset(bytes('\xa4'), 'ISO-8859-15')).toBe('€');
    expect(decodeCharset(bytes('\x80'), 'windows-1252')).toBe('€');
    expect(decodeCharset(bytes('\xf0\xd2\xc9\xd7\xc5\xd4'), 'koi8-r')).toBe('Привет');
    expect(decodeCharset(bytes('\x82\xa0'), 'shift_jis')).toBe('あ');
    expect(decodeCharset(bytes('\x1b$B$"\x1b(B'), 'iso-2022-jp')).toBe('あ');
    expect(decodeCharset(bytes('\xc4\xe3\xba\xc3'), 'gb2312')).toBe('你好');
  });

  it('maps mail-world aliases', () => {
    expect(decodeCharset(bytes('\xe9'), 'iso8859-1')).toBe('é');
    expect(decodeCharset(bytes('\xe9'), 'cp1252')).toBe('é');
    expect(decodeCharset(bytes('\xe9'), '"latin1"')).toBe('é');
    expect(decodeCharset(bytes('\xc3\xa9'), 'utf8')).toBe('é');
  });

  it('decodes UTF-7 (RFC 2152)', () => {
    expect(decodeCharset(bytes('Hi Mom -+Jjo--!'), 'utf-7')).toBe('Hi Mom -☺-!');
    expect(decodeCharset(bytes('A+ImIDkQ.'), 'UTF-7')).toBe('A≢Α.');
    expect(decodeCharset(bytes('1 +- 1'), 'utf-7')).toBe('1 + 1');
  });

  it('falls back for unknown charsets: UTF-8 when valid, else windows-1252', () => {
    expect(isKnownCharset('x-no-such-charset')).toBe(false);
    expect(decodeCharset(bytes('caf\xc3\xa9'), 'x-no-such-charset')).toBe('café');
    expect(decodeCharset(bytes('caf\xe9'), 'x-no-such-charset')).toBe('café');
    expect(decodeCharset(bytes('caf\xe9'), 'us-ascii')).toBe('café');
    expect(decodeCharset(bytes('caf\xe9'), null)).toBe('café');
  });

  it('replaces invalid bytes for a declared UTF-8 charset', () => {
    expect(decodeCharset(bytes('a\xffb'), 'utf-8')).toBe('a\ufffdb');
  });
});

describe('decodeEncodedWords', () => {
  it('decodes B and Q words', () => {
    expect(decodeEncodedWords('=?UTF-8?B?w6k=?=')).toBe('é');
    expect(decodeEncodedWords('=?iso-8859-1?q?caf=E9_au_lait?=')).toBe('café au lait');
  });

  it('removes whitespace between adjacent encoded words only (RFC 2047 §6.2)', () => {
    expect(decodeEncodedWords('=?utf-8?q?a?= =?utf-8?q?b?=')).toBe('ab');
    expect(decodeEncodedWords('=?utf-8?q?a?=\r\n\t=?utf-8?q?b?=')).toBe('ab');
    expect(decodeEncodedWords('x =?utf-8?q?a?= y')).toBe('x a y');
  });

  it('joins a multi-byte character split across words', () => {
    // "é" = C3 A9, split between two B words.
    expect(decodeEncodedWords('=?utf-8?B?w6?= =?utf-8?B?kK?=')).not.toContain('\ufffd\ufffd');
    expect(decodeEncodedWords('=?utf-8?Q?=C3?= =?utf-8?Q?=A9?=')).toBe('é');
  });

  it('decodes mixed charsets in one value', () => {
    expect(decodeEncodedWords('=?iso-8859-1?q?=E9?= =?koi8-r?b?8NLJ18XU?= end')).toBe('éПривет end');
  });

  it('accepts an RFC 2231 language suffix on the charset', () => {
    expect(decodeEncodedWords('=?US-ASCII*EN?Q?Keith_Moore?=')).toBe('Keith Moore');
  });

  it('leaves malformed words as they are', () => {
    for (const s of ['=?utf-8?x?abc?=', '=?utf-8?b?@@@?=', '=?utf-8?q?unterminated', '=??q?a?=', 'a =? b ?= c']) {
      expect(decodeEncodedWords(s)).toBe(s);
    }
  });

  it('keeps raw UTF-8 text (RFC 6532) untouched', () => {
    expect(decodeEncodedWords('Grüße =?utf-8?q?aus?= Köln')).toBe('Grüße aus Köln');
  });
});

describe('decodedLength', () => {
  it('equals the length of the decoded bytes, for clean and for messy base64', async () => {
    const fc = (await import('fast-check')).default;
    const { decodedLength, decodeTransferEncoding } = await import('./transferEncoding.js');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 4, max: 80 }), fc.constantFrom('', 'junk', 'midpad', 'space'), (data, width, mess) => {
        let b64 = Buffer.from(data).toString('base64');
        b64 = b64.replace(new RegExp(`.{${width}}`, 'g'), '$&\r\n');
        if (mess === 'junk') b64 = b64.slice(0, b64.length >> 1) + '!*' + b64.slice(b64.length >> 1);
        if (mess === 'midpad') b64 = b64 + '=\r\nQUJD';
        if (mess === 'space') b64 = ' ' + b64.replace(/\r\n/g, ' \r\n');
        const bytes = Buffer.from(b64, 'latin1');
        expect(decodedLength(bytes, 'base64')).toBe(decodeTransferEncoding(bytes, 'base64').length);
      }),
      { numRuns: 500 },
    );
  });
});
