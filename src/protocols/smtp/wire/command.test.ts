import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommand } from './command.js';

const b = (s: string) => Buffer.from(s, 'utf8');
const ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~";
const atom = fc.string({ unit: fc.constantFrom(...ATEXT.split('')), minLength: 1, maxLength: 10 });
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const localArb = fc.array(atom, { minLength: 1, maxLength: 3 }).map((a) => a.join('.'));
const domainArb = fc.array(label, { minLength: 1, maxLength: 4 }).map((a) => a.join('.'));

const SEEDS = ['EHLO a.example', 'MAIL FROM:<a@b.example> SIZE=10 BODY=8BITMIME', 'RCPT TO:<b@c.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@c.example', 'DATA', 'AUTH PLAIN AGEAYg==', 'RSET', 'QUIT'];

describe('command parser (property)', () => {
  it('never throws, in either transaction state, on any bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(...SEEDS).chain((s) => fc.uint8Array({ maxLength: 50 }).map((tail) => Buffer.concat([b(s), tail])))), fc.boolean(), (line, utf8) => {
        const r = parseCommand(line, { isUtf8Transaction: utf8 });
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('parses every well-formed mailbox back to its parts', () => {
    fc.assert(
      fc.property(localArb, domainArb, (local, domain) => {
        const r = parseCommand(b(`MAIL FROM:<${local}@${domain}>`), { isUtf8Transaction: false });
        expect(r).toMatchObject({ ok: true, command: { verb: 'MAIL', from: { local, domain, isQuoted: false } } });
        const t = parseCommand(b(`RCPT TO:<@relay.example:${local}@${domain}>`), { isUtf8Transaction: false });
        expect(t).toMatchObject({ ok: true, command: { verb: 'RCPT', to: { local, domain } } });
      }),
      { numRuns: 1000 },
    );
  });

  it('the domain it returns is always one host name or literal (never "a@b", "a%b", "a!b")', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab.@%!"\\:,[]<>-'.split('')), maxLength: 20 }), (path) => {
        const r = parseCommand(b(`RCPT TO:<${path}>`), { isUtf8Transaction: false });
        if (r.ok && r.command.verb === 'RCPT' && !r.command.isPostmaster) expect(r.command.to.domain).toMatch(/^(\[.*\]|[A-Za-z0-9.-]+)$/);
      }),
      { numRuns: 3000 },
    );
  });

  it('a NUL anywhere is refused', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.nat(), (s, at) => {
        const bytes = b(s);
        const i = at % (bytes.length + 1);
        const line = Buffer.concat([bytes.subarray(0, i), Buffer.from([0]), bytes.subarray(i)]);
        expect(parseCommand(line, { isUtf8Transaction: true })).toMatchObject({ ok: false, error: 'nul' });
      }),
    );
  });

  it('8-bit bytes are refused outside MAIL ... SMTPUTF8 and its RCPTs', () => {
    fc.assert(
      fc.property(fc.constantFrom('EHLO ', 'NOOP ', 'RCPT TO:<', 'MAIL FROM:<', 'VRFY '), fc.string({ unit: fc.constantFrom('é', 'ü', '中'), minLength: 1, maxLength: 5 }), (prefix, word) => {
        const r = parseCommand(b(`${prefix}${word}@x.example>`), { isUtf8Transaction: false });
        expect(r.ok).toBe(false);
      }),
    );
    expect(parseCommand(b('MAIL FROM:<jörg@x.example> SMTPUTF8'), { isUtf8Transaction: false }).ok).toBe(true);
    expect(parseCommand(b('RCPT TO:<jörg@bücher.example>'), { isUtf8Transaction: true }).ok).toBe(true);
  });
});
