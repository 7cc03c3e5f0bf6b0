import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommand } from './command.js';
import { CommandReader, DEFAULT_READER_LIMITS, type ReaderEvent } from './reader.js';
import { SEED_COMMANDS } from '../../../../test/fixtures/imap/seeds.js';

const b = (s: string) => Buffer.from(s, 'latin1');


function feed(chunks: Buffer[]): ReaderEvent[] {
  const r = new CommandReader({ ...DEFAULT_READER_LIMITS, maxLineBytes: 1000, maxOtherLiteralBytes: 100, maxAppendLiteralBytes: 1000, maxSkipBytes: 2000 });
  return chunks.flatMap((c) => r.push(c));
}

describe('CommandReader', () => {
  it('splits pipelined commands and asks for a synchronizing literal', () => {
    const ev = feed([b('a NOOP\r\nb LOGIN x {3}\r\n'), b('abc\r\nc NOOP\r\n')]);
    expect(ev.map((e) => e.kind)).toEqual(['unit', 'continue', 'unit', 'unit']);
    const login = ev[2]!.kind === 'unit' ? ev[2]!.unit : null;
    expect(login!.parts.map((p) => p.toString())).toEqual(['b LOGIN x {3}', 'abc', '']);
  });

  it('reads a non-synchronizing literal without a continuation request', () => {
    const ev = feed([b('a LOGIN x {3+}\r\nabc\r\n')]);
    expect(ev.map((e) => e.kind)).toEqual(['unit']);
  });

  it('refuses an oversized synchronizing literal with TOOBIG and carries on', () => {
    const ev = feed([b('a LOGIN x {2147483648}\r\nb NOOP\r\n')]);
    expect(ev[0]).toMatchObject({ kind: 'error', tag: 'a', code: 'TOOBIG', fatal: false });
    expect(ev[1]!.kind).toBe('unit');
  });

  it('closes on a non-synchronizing literal too large to skip', () => {
    const ev = feed([b('a APPEND INBOX {2147483648+}\r\n')]);
    expect(ev[0]).toMatchObject({ kind: 'error', code: 'TOOBIG', fatal: true });
  });

  it('skips a moderately oversized non-synchronizing literal and answers TOOBIG', () => {
    const ev = feed([b('a LOGIN x {150+}\r\n' + 'y'.repeat(150) + '\r\nb NOOP\r\n')]);
    expect(ev.map((e) => e.kind)).toEqual(['error', 'unit']);
  });

  it('answers an overlong line with LIMIT and resumes at the next line', () => {
    const ev = feed([b('a NOOP ' + 'x'.repeat(3000)), b('\r\nb NOOP\r\n')]);
    expect(ev[0]).toMatchObject({ kind: 'error', code: 'LIMIT' });
    expect(ev[1]!.kind).toBe('unit');
  });

  it('gives the same units however the bytes are split (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...SEED_COMMANDS), { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 20 }), (cmds, cuts) => {
        const all = b(cmds.map((c) => c + '\r\n').join(''));
        const whole = feed([all]).filter((e) => e.kind === 'unit');
        const pieces: Buffer[] = [];
        let pos = 0;
        for (const c of cuts) {
          if (pos >= all.length) break;
          pieces.push(all.subarray(pos, pos + c));
          pos += c;
        }
        pieces.push(all.subarray(pos));
        const split = feed(pieces).filter((e) => e.kind === 'unit');
        expect(split).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes, and the parser never throws on its units (fuzz)', () => {
    const mutated = fc.tuple(fc.constantFrom(...SEED_COMMANDS), fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })).map(([cmd, muts]) => {
      const bytes = [...b(cmd + '\r\n')];
      for (const [at, v] of muts) bytes.splice(at % (bytes.length + 1), v % 3 === 0 ? 1 : 0, v);
      return Buffer.from(bytes);
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(mutated, fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u))), { maxLength: 6 }), (chunks) => {
        for (const ev of feed(chunks)) {
          if (ev.kind === 'unit') {
            const r = parseCommand(ev.unit, true);
            const r7 = parseCommand(ev.unit, false);
            expect(typeof r.ok).toBe('boolean');
            expect(typeof r7.ok).toBe('boolean');
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parses every seed command', () => {
    for (const cmd of SEED_COMMANDS) {
      const ev = feed([b(cmd + '\r\n')]).filter((e) => e.kind === 'unit');
      expect(ev.length, cmd).toBe(1);
      const r = parseCommand(ev[0]!.kind === 'unit' ? ev[0]!.unit : { parts: [] });
      expect(r.ok, `${cmd}: ${r.ok ? '' : r.text}`).toBe(true);
    }
  });
});
