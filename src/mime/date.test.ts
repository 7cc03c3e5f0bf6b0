import { describe, expect, it } from 'vitest';
import { parseDate } from './index.js';

describe('parseDate', () => {
  it('parses RFC 5322 §3.3 dates with numeric zones', () => {
    expect(parseDate('Fri, 21 Nov 1997 09:55:06 -0600')).toBe(Date.UTC(1997, 10, 21, 15, 55, 6));
    expect(parseDate('1 Jan 2020 00:00 +0100')).toBe(Date.UTC(2019, 11, 31, 23, 0, 0));
  });

  it('parses obsolete forms (RFC 5322 §4.3)', () => {
    expect(parseDate('Thu, 13 Feb 69 23:32:54 -0330')).toBe(Date.UTC(1969, 1, 14, 3, 2, 54));
    expect(parseDate('21 Nov 97 09:55:06 GMT')).toBe(Date.UTC(1997, 10, 21, 9, 55, 6));
    expect(parseDate('21 Nov 02 09:55:06 EST')).toBe(Date.UTC(2002, 10, 21, 14, 55, 6));
    expect(parseDate('21 Nov 102 09:55:06 PDT')).toBe(Date.UTC(2002, 10, 21, 16, 55, 6));
    expect(parseDate('Fri, 21 Nov 1997 09:55:06 -0600 (MDT)')).toBe(Date.UTC(1997, 10, 21, 15, 55, 6));
  });

  it('treats military and unknown zones as UTC', () => {
    expect(parseDate('21 Nov 1997 09:55:06 A')).toBe(Date.UTC(1997, 10, 21, 9, 55, 6));
    expect(parseDate('21 Nov 1997 09:55:06')).toBe(Date.UTC(1997, 10, 21, 9, 55, 6));
  });

  it('accepts common breakage: month first, ISO 8601, extra spaces and commas', () => {
    expect(parseDate('Mon, Jan 6 2020 10:00:00 +0000')).toBe(Date.UTC(2020, 0, 6, 10));
    expect(parseDate('2020-01-06T10:00:00Z')).toBe(Date.UTC(2020, 0, 6, 10));
    expect(parseDate('  Mon ,  6   Jan  2020   10:00:00   +0000 ')).toBe(Date.UTC(2020, 0, 6, 10));
  });

  it('returns null for garbage and impossible dates', () => {
    for (const s of ['', 'yesterday', '31 Feb 2020 10:00:00 +0000', '1 Jan 2020 25:00:00', null, undefined]) {
      expect(parseDate(s)).toBeNull();
    }
  });
});
