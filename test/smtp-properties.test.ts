/**
 * Properties across the SMTP wire and the queue: what the outbound client dot-stuffs, the
 * inbound DATA machine restores byte for byte; xtext round-trips; the MTA-STS policy parser and
 * the DSN status extraction never throw and stay within their grammar.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dotStuff, mxMatches, parseMtaStsPolicy, statusOf } from '../src/core/queue/index.js';
import { decodeXtext, encodeXtext } from '../src/protocols/smtp/wire/command.js';
import { DataState } from '../src/protocols/smtp/wire/reader.js';

const crlfText = fc
  .array(fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a.filter((b) => b !== 10 && b !== 13))), { minLength: 1, maxLength: 15 })
  .map((lines) => Buffer.concat(lines.map((l) => Buffer.concat([l, Buffer.from('\r\n')]))));

describe('wire properties', () => {
  it('dotStuff (queue client) then the DATA machine (server) is the identity on CRLF text', () => {
    fc.assert(
      fc.property(crlfText, (text) => {
        const wire = Buffer.concat([dotStuff(text), Buffer.from('.\r\n')]);
        const r = new DataState({ maxBytes: 1 << 20, maxHeaderBytes: 1 << 20 }).feed(wire);
        expect(r.result?.kind).toBe('end');
        if (r.result?.kind === 'end') expect(Buffer.from(r.result.message).equals(text)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('xtext round-trips every string of printable and control ASCII (RFC 3461 §4)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)), maxLength: 40 }), (s) => {
        const x = encodeXtext(s);
        expect(x).toMatch(/^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*$/);
        expect(decodeXtext(x)).toBe(s);
      }),
    );
  });

  it('the MTA-STS policy parser never throws and only returns valid modes', () => {
    const lines = fc.array(fc.oneof(fc.constantFrom('version: STSv1', 'mode: enforce', 'mode: testing', 'mode: none', 'mode: bogus', 'mx: *.example.com', 'mx: mail.example.com', 'max_age: 86400', 'max_age: -1', 'max_age: x'), fc.string({ maxLength: 30 })), { maxLength: 8 });
    fc.assert(
      fc.property(lines, fc.constantFrom('\n', '\r\n'), (ls, eol) => {
        const p = parseMtaStsPolicy(ls.join(eol));
        if (p) {
          expect(['enforce', 'testing', 'none']).toContain(p.mode);
          expect(p.maxAgeSeconds).toBeGreaterThanOrEqual(0);
          expect(p.maxAgeSeconds).toBeLessThanOrEqual(31_557_600);
        }
      }),
    );
  });

  it('a wildcard MX pattern matches exactly one extra label (RFC 8461 §4.1)', () => {
    const label = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    fc.assert(
      fc.property(label, label, fc.array(label, { minLength: 1, maxLength: 3 }), (a, b, base) => {
        const d = base.join('.');
        expect(mxMatches(`*.${d}`, `${a}.${d}`)).toBe(true);
        expect(mxMatches(`*.${d}`, `${a}.${b}.${d}`)).toBe(false);
        expect(mxMatches(`*.${d}`, d)).toBe(false);
      }),
    );
  });

  it('statusOf always gives an RFC 3463 code of the reply class', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 599 }), fc.string({ maxLength: 30 }), (code, text) => {
        const s = statusOf(code, text);
        expect(s).toMatch(/^[245]\.\d{1,3}\.\d{1,3}$/);
      }),
    );
  });
});
