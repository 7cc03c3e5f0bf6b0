import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { astr, decodeModifiedUtf7, encodeModifiedUtf7, formatValues } from './responses.js';

describe('IMAP response formatting', () => {
  it('never puts CR, LF or NUL in a quoted string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 50 }), (s) => {
        const out = formatValues([{ str: s }], { utf8: false }).toString('latin1');
        if (out.startsWith('"')) expect(/[\r\n\0]/.test(out)).toBe(false);
        else expect(out).toMatch(/^\{\d+\}\r\n/);
      }),
    );
  });

  it('sends 8-bit text as a literal unless UTF-8 is enabled', () => {
    expect(formatValues([{ str: 'Entwürfe' }], { utf8: false }).toString('utf8')).toBe('{9}\r\nEntwürfe');
    expect(formatValues([{ str: 'Entwürfe' }], { utf8: true }).toString('utf8')).toBe('"Entwürfe"');
  });

  it('escapes quotes and backslashes', () => {
    expect(formatValues([{ str: 'a"b\\c' }], { utf8: false }).toString()).toBe('"a\\"b\\\\c"');
  });

  it('writes atoms for plain mailbox names and quotes NIL', () => {
    expect(formatValues([astr('INBOX'), astr('NIL'), astr('A B')], { utf8: false }).toString()).toBe('INBOX "NIL" "A B"');
  });

  it('round-trips modified UTF-7 (RFC 3501 §5.1.3)', () => {
    expect(encodeModifiedUtf7('日本語')).toBe('&ZeVnLIqe-');
    expect(encodeModifiedUtf7('a&b')).toBe('a&-b');
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 20 }), (s) => {
        expect(decodeModifiedUtf7(encodeModifiedUtf7(s))).toBe(s);
      }),
    );
    expect(decodeModifiedUtf7('&Jjo!')).toBeNull();
  });
});
