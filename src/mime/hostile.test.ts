/** Hostile input: everything here must finish, stay within limits and never throw. */
import { describe, expect, it } from 'vitest';
import { findPart, invariantViolations, parseMessage, type MimePart } from './index.js';

const LIMITS = { maxDepth: 32, maxParts: 1000 };
const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function depthOf(p: MimePart): number {
  const kids = p.parts ?? (p.message ? [p.message.root] : []);
  return 1 + kids.reduce((m, k) => Math.max(m, depthOf(k)), 0);
}
function countParts(p: MimePart): number {
  const kids = p.parts ?? (p.message ? [p.message.root] : []);
  return 1 + kids.reduce((n, k) => n + countParts(k), 0);
}

describe('hostile input', () => {
  it('bounds 10,000 nested multiparts at maxDepth', () => {
    const open: string[] = [];
    const close: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      open.push(`Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`);
      close.push(`\r\n--b${i}--`);
    }
    const raw = latin1(`${open.join('')}Content-Type: text/plain\r\n\r\ncore${close.reverse().join('')}\r\n`);
    const msg = parseMessage(raw);
    expect(invariantViolations(msg, LIMITS)).toEqual([]);
    expect(depthOf(msg.root)).toBe(33);
    expect(msg.defects).toContain('depth-limit');
    expect(findPart(msg.root, Array(32).fill(1))).toBeDefined();
  });

  it('bounds 10,000 nested message/rfc822 parts at maxDepth', () => {
    const raw = latin1(`${'Content-Type: message/rfc822\r\n\r\n'.repeat(10_000)}body`);
    const msg = parseMessage(raw);
    expect(invariantViolations(msg, LIMITS)).toEqual([]);
    expect(depthOf(msg.root)).toBe(33);
  });

  it('bounds 100,000 sibling parts at maxParts', () => {
    const raw = latin1(`Content-Type: multipart/mixed; boundary=x\r\n\r\n${'--x\r\n\r\np\r\n'.repeat(100_000)}--x--\r\n`);
    const msg = parseMessage(raw);
    expect(invariantViolations(msg, LIMITS)).toEqual([]);
    expect(countParts(msg.root)).toBe(1000);
    expect(msg.defects).toContain('part-limit');
  });

  it('honours a smaller part limit across nested messages too', () => {
    const inner = 'Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=y\r\n\r\n--y\r\n\r\na\r\n--y\r\n\r\nb\r\n--y--';
    const raw = latin1(`Content-Type: multipart/mixed; boundary=x\r\n\r\n${`--x\r\n${inner}\r\n`.repeat(50)}--x--`);
    const msg = parseMessage(raw, { maxParts: 20 });
    expect(invariantViolations(msg, { maxDepth: 32, maxParts: 20 })).toEqual([]);
    expect(countParts(msg.root)).toBeLessThanOrEqual(20);
  });

  it('handles a boundary that never closes in a 5 MB message with thousands of parts and long lines', () => {
    const part = `--zz\r\nContent-Type: text/plain\r\n\r\n${'y'.repeat(1500)}\r\n--z\r\n-- zz\r\n`;
    const raw = latin1(`Content-Type: multipart/mixed; boundary=zz\r\n\r\n${part.repeat(3000)}${'L'.repeat(500_000)}`);
    expect(raw.length).toBeGreaterThan(5_000_000);
    const msg = parseMessage(raw, { maxParts: 5000 });
    expect(invariantViolations(msg, { maxDepth: 32, maxParts: 5000 })).toEqual([]);
    expect(msg.root.parts).toHaveLength(3000);
    expect(msg.defects).toContain('unclosed-multipart');
    expect(msg.searchText.body.length).toBeLessThanOrEqual(256 * 1024 + 1);
  });

  it('handles a 10 MB single header line', () => {
    const raw = latin1(`Subject: ${'s'.repeat(10 * 1024 * 1024)}\r\nFrom: a@b\r\n\r\nbody`);
    const msg = parseMessage(raw);
    expect(invariantViolations(msg, LIMITS)).toEqual([]);
    expect(msg.root.bodyStart).toBe(raw.length - 4);
    expect(msg.envelope.subject!.length).toBeLessThanOrEqual(256 * 1024);
    expect(msg.searchText.headers.length).toBeLessThanOrEqual(64 * 1024);
  });

  it('handles a 10 MB header line without a colon or line end', () => {
    const msg = parseMessage(latin1('x'.repeat(10 * 1024 * 1024)));
    expect(invariantViolations(msg, LIMITS)).toEqual([]);
  });

  it('survives NUL bytes in headers, boundaries and bodies', () => {
    const raw = latin1('Subject: a\0b\r\nContent-Type: multipart/mixed; boundary="\0"\r\n\r\n--\0\r\n\r\n\0\0\0\r\n--\0--\r\n');
    const msg = parseMessage(raw);
    expect(invariantViolations(msg, LIMITS)).toEqual([]);
    expect(msg.root.parts).toHaveLength(1);
    expect(msg.envelope.subject).toBe('a\0b');
    // A NUL inside a field name is not a header line: the body starts there.
    const bad = parseMessage(latin1('A: 1\r\nSubj\0ect: x\r\n\r\n'));
    expect(invariantViolations(bad, LIMITS)).toEqual([]);
    expect(bad.root.bodyStart).toBe(6);
  });

  it('survives invalid base64, invalid quoted-printable and unknown charsets in text', () => {
    const raw = latin1(
      'Content-Type: multipart/mixed; boundary=q\r\n\r\n' +
        '--q\r\nContent-Type: text/plain; charset=x-bogus\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!====@@@@\xff\xfe\r\n' +
        '--q\r\nContent-Type: text/html; charset="\xff\xfe"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n=X=\r=\n=ff=FF=G1<p\r\n' +
        '--q\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n+AAAA+/+-+\r\n--q--',
    );
    const msg = parseMessage(raw);
    expect(invariantViolations(msg, LIMITS)).toEqual([]);
    expect(msg.root.parts).toHaveLength(3);
  });

  it('survives pathological RFC 2231 and RFC 2047 headers', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `; n*${i}*=%FF`).join('');
    const words = '=?utf-8?q?a?= '.repeat(10_000);
    const raw = latin1(`Content-Type: text/plain${many}\r\nSubject: ${words}\r\nFrom: ${'<'.repeat(50_000)}\r\n\r\nx`);
    const msg = parseMessage(raw);
    expect(invariantViolations(msg, LIMITS)).toEqual([]);
    expect(msg.envelope.subject === 'a'.repeat(10_000)).toBe(true);
    expect(Object.keys(msg.root.params)).toEqual(['n']);
  });

  it('survives 100,000 nested comments and quotes in address headers', () => {
    const raw = latin1(`To: ${'('.repeat(100_000)}a@b\r\nCc: ${'"\\'.repeat(100_000)}\r\n\r\n`);
    const msg = parseMessage(raw);
    expect(invariantViolations(msg, LIMITS)).toEqual([]);
  });
});

describe('hostile subjects', () => {
  it('extracts a base subject from 200 KB of reply prefixes and trailers', async () => {
    const { baseSubject } = await import('./index.js');
    expect(baseSubject(`${'Re: [x] '.repeat(25_000)}core${' (fwd)'.repeat(30_000)}`)).toBe('core');
    expect(baseSubject('[fwd: '.repeat(10_000) + 'core' + ']'.repeat(10_000))).toBe('core');
  });
});
