import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeEncodedWords,
  decodeTransferEncoding,
  invariantViolations,
  parseAddressList,
  parseMessage,
  type Address,
  type MimePart,
} from './index.js';

const LIMITS = { maxDepth: 32, maxParts: 1000 };
const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function assertSound(raw: Uint8Array): void {
  const msg = parseMessage(raw);
  expect(invariantViolations(msg, LIMITS)).toEqual([]);
  expect(JSON.parse(JSON.stringify(msg))).toEqual(msg);
}

describe('arbitrary input', () => {
  it('never throws and keeps invariants on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4000 }), (b) => assertSound(b)), { numRuns: 300 });
  });

  it('never throws and keeps invariants on MIME-shaped noise', () => {
    const piece = fc.constantFrom(
      'Content-Type: multipart/mixed; boundary=b\r\n',
      'Content-Type: multipart/alternative; boundary="c"\n',
      'Content-Type: message/rfc822\r\n',
      'Content-Type: multipart/digest; boundary=b\r\n',
      'Content-Transfer-Encoding: base64\r\n',
      'Content-Transfer-Encoding: quoted-printable\r\n',
      'Content-Disposition: attachment; filename*0*=utf-8\'\'%C3; filename*1*=%A9\r\n',
      'Subject: =?utf-8?q?a=C3?= =?iso-8859-1?b?6Q==?=\r\n',
      'From: "a" <b@c>, g: d@e;\r\n',
      '--b\r\n', '--b--\r\n', '--c\n', '--c--', '\r\n', '\n', '\r', ' ', 'x', ':', '=', '=?', '\u0000', '\u00ff', '<', '>',
    );
    fc.assert(fc.property(fc.array(piece, { maxLength: 120 }), (ps) => assertSound(latin1(ps.join('')))), { numRuns: 500 });
  });
});

// A model of a MIME tree, serialised with CRLF and parsed back.
type Node =
  | { kind: 'leaf'; subtype: string; encoding: '7bit' | 'base64' | 'quoted-printable'; content: Uint8Array }
  | { kind: 'multi'; subtype: string; children: Node[] }
  | { kind: 'msg'; subject: string; inner: Node };

const textContent = fc
  .array(fc.stringMatching(/^[a-z0-9 .,]{0,60}$/), { maxLength: 6 })
  .map((lines) => latin1(lines.join('\r\n')));

const leaf: fc.Arbitrary<Node> = fc.oneof(
  fc.record({ kind: fc.constant('leaf' as const), subtype: fc.constant('plain'), encoding: fc.constant('7bit' as const), content: textContent }),
  fc.record({
    kind: fc.constant('leaf' as const),
    subtype: fc.constantFrom('octet-stream', 'pdf'),
    encoding: fc.constantFrom('base64' as const, 'quoted-printable' as const),
    content: fc.uint8Array({ maxLength: 300 }),
  }),
);

const tree = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ kind: fc.constant('multi' as const), subtype: fc.constantFrom('mixed', 'alternative', 'related'), children: fc.array(tie('node'), { minLength: 1, maxLength: 4 }) }),
    fc.record({ kind: fc.constant('msg' as const), subject: fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9 ]{0,18}[A-Za-z0-9])?$/), inner: tie('node') }),
  ),
})).node;

function qpEncode(b: Uint8Array): string {
  let out = '';
  let lineLen = 0;
  for (const c of b) {
    const ch = c >= 33 && c <= 126 && c !== 61 ? String.fromCharCode(c) : `=${c.toString(16).toUpperCase().padStart(2, '0')}`;
    if (lineLen + ch.length > 75) {
      out += '=\r\n';
      lineLen = 0;
    }
    out += ch;
    lineLen += ch.length;
  }
  return out;
}

function serialise(node: Node, counter: { n: number }): string {
  if (node.kind === 'leaf') {
    const type = node.subtype === 'plain' ? 'text/plain' : `application/${node.subtype}`;
    const body =
      node.encoding === '7bit'
        ? Buffer.from(node.content).toString('latin1')
        : node.encoding === 'base64'
          ? (Buffer.from(node.content).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
          : qpEncode(node.content);
    return `Content-Type: ${type}\r\nContent-Transfer-Encoding: ${node.encoding}\r\n\r\n${body}`;
  }
  if (node.kind === 'msg') {
    return `Content-Type: message/rfc822\r\n\r\nSubject: ${node.subject}\r\n${serialise(node.inner, counter)}`;
  }
  const boundary = `=_b${counter.n++}.x`;
  const kids = node.children.map((k) => `--${boundary}\r\n${serialise(k, counter)}\r\n`).join('');
  return `Content-Type: multipart/${node.subtype}; boundary="${boundary}"\r\n\r\npreamble\r\n${kids}--${boundary}--\r\nepilogue`;
}

function compare(raw: Uint8Array, node: Node, part: MimePart): void {
  if (node.kind === 'leaf') {
    expect(part.type).toBe(node.subtype === 'plain' ? 'text' : 'application');
    expect(part.subtype).toBe(node.subtype);
    expect(part.encoding).toBe(node.encoding);
    expect(Buffer.from(decodeTransferEncoding(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding))).toEqual(Buffer.from(node.content));
  } else if (node.kind === 'msg') {
    expect(`${part.type}/${part.subtype}`).toBe('message/rfc822');
    expect(part.message?.envelope.subject).toBe(node.subject);
    compare(raw, node.inner, part.message!.root);
  } else {
    expect(`${part.type}/${part.subtype}`).toBe(`multipart/${node.subtype}`);
    expect(part.parts).toHaveLength(node.children.length);
    node.children.forEach((k, i) => compare(raw, k, part.parts![i]!));
  }
}

describe('generated MIME trees', () => {
  it('parse back to the structure and content they were built from', () => {
    fc.assert(
      fc.property(tree, fc.boolean(), (node, lfOnly) => {
        let text = `MIME-Version: 1.0\r\nSubject: generated\r\n${serialise(node, { n: 0 })}`;
        // Bare-LF variant: only valid when no leaf content carries CR bytes of its own.
        if (lfOnly && !/\r(?!\n)/.test(text) && !hasBinaryLeaf(node)) text = text.replace(/\r\n/g, '\n');
        const raw = latin1(text);
        const msg = parseMessage(raw);
        expect(invariantViolations(msg, LIMITS)).toEqual([]);
        expect(msg.defects).toEqual([]);
        compare(raw, node, msg.root);
      }),
      { numRuns: 300 },
    );
  });
});

function hasBinaryLeaf(node: Node): boolean {
  if (node.kind === 'leaf') return node.encoding === '7bit' && node.content.length > 0;
  if (node.kind === 'msg') return hasBinaryLeaf(node.inner);
  return node.children.some(hasBinaryLeaf);
}

// RFC 2047 encoder for the round trip: splits at character boundaries so no word exceeds 75.
function encodeWords(s: string, mode: 'B' | 'Q', sep: string): string {
  const words: string[] = [];
  let chunk = '';
  const flush = (): void => {
    if (chunk === '') return;
    const b = Buffer.from(chunk, 'utf8');
    const text =
      mode === 'B'
        ? b.toString('base64')
        : [...b].map((c) => (/[A-Za-z0-9]/.test(String.fromCharCode(c)) ? String.fromCharCode(c) : c === 32 ? '_' : `=${c.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
    words.push(`=?UTF-8?${mode}?${text}?=`);
    chunk = '';
  };
  for (const ch of s) {
    if (Buffer.byteLength(chunk + ch) > 12) flush();
    chunk += ch;
  }
  flush();
  return words.join(sep);
}

describe('encoded-word round trips', () => {
  it('decodeEncodedWords inverts a B or Q encoding split over several words', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.constantFrom<'B' | 'Q'>('B', 'Q'), fc.constantFrom(' ', '\r\n ', '\t', '  '), (s, mode, sep) => {
        expect(decodeEncodedWords(encodeWords(s, mode, sep))).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves text without encoded words unchanged', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }).filter((s) => !s.includes('=?')), (s) => {
      expect(decodeEncodedWords(s)).toBe(s);
    }));
  });
});

describe('address list round trips', () => {
  const atext = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}$/);
  const dotAtom = fc.array(atext, { minLength: 1, maxLength: 3 }).map((a) => a.join('.'));
  const quotedLocal = fc.stringMatching(/^[ -~]{1,12}$/).filter((s) => s.trim() === s && /[ "(),:;<>@[\\\]]/.test(s));
  const host = fc.array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 1, maxLength: 3 }).map((a) => a.join('.'));
  const name = fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 20 })
    .filter((s) => s.trim() === s && s !== '' && !/[\u0000-\u001f\u007f]/.test(s) && !s.includes('=?') && !/\s{2}/.test(s));
  const address: fc.Arbitrary<Address> = fc.record({ name: fc.option(name, { nil: null }), mailbox: fc.oneof(dotAtom, quotedLocal), host });

  const quote = (s: string): string => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  const format = (a: Address): string => {
    const local = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/.test(a.mailbox) && !a.mailbox.includes('..') ? a.mailbox : quote(a.mailbox);
    const spec = `${local}@${a.host}`;
    return a.name === null ? spec : `${quote(a.name)} <${spec}>`;
  };

  it('parseAddressList inverts formatting of mailbox lists', () => {
    fc.assert(
      fc.property(fc.array(address, { maxLength: 5 }), (list) => {
        expect(parseAddressList(list.map(format).join(', '))).toEqual(list);
      }),
      { numRuns: 500 },
    );
  });

  it('parseAddressList inverts formatting of a group', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,10}[A-Za-z0-9]$/).filter((s) => !/\s{2}/.test(s)), fc.array(address, { maxLength: 4 }), (g, list) => {
        expect(parseAddressList(`${g}: ${list.map(format).join(', ')};`)).toEqual([{ group: g, addresses: list }]);
      }),
    );
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => void parseAddressList(s)));
  });
});
