import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmtpReader } from './reader.js';

/** Splits bytes at random points, as TCP may. */
const chunked = (data: Buffer, cuts: number[]): Buffer[] => {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(data.subarray(prev, p));
    prev = p;
  }
  out.push(data.subarray(prev));
  return out;
};

/** A line without CR or LF. */
const lineArb = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a.filter((b) => b !== 0x0a && b !== 0x0d)));

function runData(input: Buffer[], limits = { maxBytes: 1 << 20, maxHeaderBytes: 1 << 20 }) {
  const r = new SmtpReader(4096);
  r.startData(limits);
  let pushed = 0;
  for (const c of input) {
    r.push(c);
    pushed += c.length;
    const res = r.nextData();
    if (res) return { res, rest: r.pendingBytes, consumed: pushed - r.pendingBytes };
  }
  return null;
}

describe('DATA state machine (property)', () => {
  it('un-stuffs dots and ends exactly at CRLF.CRLF, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 8 }), fc.uint8Array({ maxLength: 10 }), (lines, cuts, trailing) => {
        const original = Buffer.concat(lines.map((l) => Buffer.concat([l, Buffer.from('\r\n')])));
        // RFC 5321 §4.5.2: the sender doubles a leading dot.
        const stuffed = Buffer.concat(lines.map((l) => Buffer.concat([l[0] === 0x2e ? Buffer.from('.') : Buffer.alloc(0), l, Buffer.from('\r\n')])));
        const wire = Buffer.concat([stuffed, Buffer.from('.\r\n'), Buffer.from(trailing)]);
        const out = runData(chunked(wire, cuts));
        expect(out?.res.kind).toBe('end');
        if (out?.res.kind !== 'end') return;
        expect(Buffer.from(out.res.message).equals(original)).toBe(true);
        // Bytes after the end marker stay for the command reader (pipelining).
        expect(out.rest).toBeLessThanOrEqual(trailing.length);
      }),
      { numRuns: 500 },
    );
  });

  it('never ends on anything but CRLF.CRLF and never keeps a bare CR or LF', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a.map((b) => [0x0a, 0x0d, 0x2e, 0x41][b % 4]!))), fc.array(fc.nat(), { maxLength: 6 }), (data, cuts) => {
        const out = runData(chunked(data, cuts));
        if (!out) return;
        if (out.res.kind === 'end') {
          const consumed = out.consumed;
          const seen = data.subarray(0, consumed);
          expect(seen.subarray(-5).equals(Buffer.from('\r\n.\r\n')) || seen.equals(Buffer.from('.\r\n'))).toBe(true);
          const msg = Buffer.from(out.res.message).toString('latin1');
          expect(/\r(?!\n)|(?<!\r)\n/.test(msg)).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('any bare LF before the end refuses the message', () => {
    fc.assert(
      fc.property(lineArb, lineArb, (a, b) => {
        const wire = Buffer.concat([a, Buffer.from('\n.\n'), b, Buffer.from('\r\n.\r\n')]);
        const out = runData([wire]);
        expect(out?.res).toEqual({ kind: 'abort', error: 'bareLf' });
      }),
    );
  });

  it('keeps at most maxBytes and reports tooLarge at the end marker', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.array(lineArb, { maxLength: 30 }), (max, lines) => {
        const body = Buffer.concat(lines.map((l) => Buffer.concat([Buffer.from('x'), l, Buffer.from('\r\n')])));
        const out = runData([Buffer.concat([Buffer.from('\r\n'), body, Buffer.from('.\r\n')])], { maxBytes: max, maxHeaderBytes: 1 << 20 });
        expect(out).not.toBeNull();
        if (out!.res.kind === 'end') expect(out!.res.message.length).toBeLessThanOrEqual(max);
        else expect(out!.res).toMatchObject({ kind: 'error', error: 'tooLarge' });
      }),
    );
  });
});

describe('command line reader (property)', () => {
  it('never yields a line longer than the bound, whatever arrives', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 10 }), (data, cuts) => {
        const r = new SmtpReader(100);
        for (const c of chunked(Buffer.from(data), cuts)) {
          r.push(c);
          for (let x = r.nextLine(); x; x = r.nextLine()) if (x.kind === 'line') expect(x.line.length).toBeLessThanOrEqual(100);
          expect(r.pendingBytes).toBeLessThanOrEqual(100 + c.length);
        }
      }),
    );
  });

  it('splits pipelined commands exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Z ]{0,30}$/), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 5 }), (cmds, cuts) => {
        const r = new SmtpReader(100);
        const got: string[] = [];
        for (const c of chunked(Buffer.from(cmds.map((x) => x + '\r\n').join('')), cuts)) {
          r.push(c);
          for (let x = r.nextLine(); x; x = r.nextLine()) if (x.kind === 'line') got.push(Buffer.from(x.line).toString());
        }
        expect(got).toEqual(cmds);
      }),
    );
  });
});
