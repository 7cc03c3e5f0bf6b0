import { describe, expect, it } from 'vitest';
import { getHeader, parseContentType, parseHeaders, parseParameterised } from './index.js';

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

describe('parseHeaders', () => {
  it('unfolds fields and keeps exact byte offsets, the empty line included in end', () => {
    const raw = 'Subject: a\r\n long\r\n\tsubject\r\nX-A:b\r\n\r\nbody';
    const h = parseHeaders(enc(raw), 0, raw.length);
    expect(h.fields.map((f) => [f.name, f.value])).toEqual([
      ['Subject', 'a long\tsubject'],
      ['X-A', 'b'],
    ]);
    expect(h.hasSeparator).toBe(true);
    expect(h.end).toBe(raw.indexOf('body'));
    expect(raw.slice(h.fields[1]!.start, h.fields[1]!.end)).toBe('X-A:b\r\n');
  });

  it('handles bare LF line endings', () => {
    const raw = 'A: 1\n  2\nB: 3\n\nbody\n';
    const h = parseHeaders(enc(raw), 0, raw.length);
    expect(h.fields.map((f) => f.value)).toEqual(['1  2', '3']);
    expect(h.end).toBe(raw.indexOf('body'));
  });

  it('accepts whitespace before the colon (RFC 5322 §4.5) and decodes raw UTF-8', () => {
    const raw = 'Subject : Grüße\r\n\r\n';
    const h = parseHeaders(enc(raw), 0, Buffer.byteLength(raw));
    expect(getHeader(h.fields, 'SUBJECT')?.value).toBe('Grüße');
  });

  it('decodes stray 8-bit bytes as windows-1252', () => {
    const raw = new Uint8Array(Buffer.from('Subject: caf\xe9\r\n\r\n', 'latin1'));
    expect(parseHeaders(raw, 0, raw.length).fields[0]?.value).toBe('café');
  });

  it('ends the block at a line that is not a field (no separator)', () => {
    const raw = 'A: 1\r\nthis is body\r\n';
    const h = parseHeaders(enc(raw), 0, raw.length);
    expect(h.hasSeparator).toBe(false);
    expect(h.end).toBe(6);
  });

  it('spans the whole region when no empty line follows', () => {
    const raw = 'A: 1\r\nB: 2';
    const h = parseHeaders(enc(raw), 0, raw.length);
    expect(h.end).toBe(raw.length);
    expect(h.fields).toHaveLength(2);
  });

  it('parses only within [start, end)', () => {
    const raw = 'junkA: 1\r\n\r\nB: 2\r\n';
    const h = parseHeaders(enc(raw), 4, 10);
    expect(h.fields.map((f) => f.name)).toEqual(['A']);
    expect(h.end).toBe(10);
  });

  it('stops parsing fields past maxHeaderBytes but still finds the end', () => {
    const raw = `A: 1\r\nB: ${'x'.repeat(100)}\r\nC: 3\r\n\r\nbody`;
    const h = parseHeaders(enc(raw), 0, raw.length, { maxHeaderBytes: 20 });
    expect(h.fields.map((f) => f.name)).toEqual(['A', 'B']);
    expect(h.fields[1]!.value.length).toBeLessThan(20);
    expect(h.isTruncated).toBe(true);
    expect(h.end).toBe(raw.indexOf('body'));
  });

  it('skips a leading mbox From line only when asked', () => {
    const raw = 'From someone Sat Jan  3 01:05:34 1996\r\nA: 1\r\n\r\n';
    expect(parseHeaders(enc(raw), 0, raw.length, { allowMboxFrom: true }).fields.map((f) => f.name)).toEqual(['A']);
    expect(parseHeaders(enc(raw), 0, raw.length).hasSeparator).toBe(false);
  });
});

describe('parseParameterised / parseContentType', () => {
  it('parses type, subtype and params, lower-casing names', () => {
    expect(parseContentType('Text/HTML; Charset="UTF-8"; format=flowed (comment)')).toEqual({
      type: 'text',
      subtype: 'html',
      params: { charset: 'UTF-8', format: 'flowed' },
    });
  });

  it('joins RFC 2231 continuations and decodes charset (RFC 2231 §3, §4, §4.1)', () => {
    const v = "attachment; filename*0*=utf-8'de'Gr%C3%BC; filename*1=sse; filename*2*=%2Etxt";
    expect(parseParameterised(v)).toEqual({ value: 'attachment', params: { filename: 'Grüsse.txt' } });
    expect(parseParameterised("a; title*=iso-8859-1''caf%E9").params['title']).toBe('café');
    expect(parseParameterised('a; url*0="ftp://"; url*1="example.org/x"').params['url']).toBe('ftp://example.org/x');
  });

  it('prefers the RFC 2231 form of a parameter over the plain one', () => {
    expect(parseParameterised("a; filename=\"plain.txt\"; filename*=utf-8''%C3%A9.txt").params['filename']).toBe('é.txt');
  });

  it('orders continuations by number, not appearance', () => {
    expect(parseParameterised('a; n*1=b; n*0=a; n*2=c').params['n']).toBe('abc');
  });

  it('tolerates RFC 2047 words in quoted values and unquoted values with spaces', () => {
    expect(parseParameterised('attachment; filename="=?UTF-8?B?w6kudHh0?="').params['filename']).toBe('é.txt');
    expect(parseParameterised('attachment; filename=my file.pdf').params['filename']).toBe('my file.pdf');
  });

  it('keeps the first of duplicate parameters and ignores bare words', () => {
    expect(parseParameterised('a; x=1; junk; x=2').params).toEqual({ x: '1' });
  });

  it('rejects invalid content types and repairs bare "text"', () => {
    expect(parseContentType('')).toBeNull();
    expect(parseContentType('/plain')).toBeNull();
    expect(parseContentType('image')).toBeNull();
    expect(parseContentType('text')).toMatchObject({ type: 'text', subtype: 'plain' });
  });
});
