import { describe, expect, it } from 'vitest';
import { findPart, invariantViolations, parseMessage, walkParts, type MimePart } from './index.js';

const crlf = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8'));
const slice = (raw: Uint8Array, a: number, b: number): string => Buffer.from(raw.subarray(a, b)).toString('utf8');

const NESTED = `From: "Alice" <alice@example.com>
To: bob@example.org, Team: carol@example.net, dave@example.net;
Subject: =?utf-8?q?Re=3A_Caf=C3=A9?= [list]
Date: Tue, 1 Aug 2023 12:00:00 +0200
Message-ID: <m1@example.com>
In-Reply-To: <m0@example.com>
References: <a@x> (comment) <m0@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 plain
--inner
Content-Type: text/html

<p>Caf&eacute; <b>html</b></p>
--inner--
--outer
Content-Type: message/rfc822
Content-Disposition: attachment

From: Zed <zed@example.com>
Subject: inner subject
Content-Type: multipart/mixed; boundary=deep

--deep
Content-Type: text/plain

deep text
--deep
Content-Type: application/pdf; name="r.pdf"
Content-Transfer-Encoding: base64

JVBERi0=
--deep--
--outer
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''%C3%A9t%C3%A9.bin
Content-Transfer-Encoding: base64

AAEC
--outer--
epilogue
`;

describe('parseMessage', () => {
  const raw = crlf(NESTED);
  const msg = parseMessage(raw);

  it('keeps every invariant and survives a JSON round trip', () => {
    expect(invariantViolations(msg, { maxDepth: 32, maxParts: 1000 })).toEqual([]);
    expect(JSON.parse(JSON.stringify(msg))).toEqual(msg);
    expect(msg.defects).toEqual([]);
  });

  it('builds the envelope with decoded strings and raw id fields', () => {
    expect(msg.envelope.subject).toBe('Re: Café [list]');
    expect(msg.envelope.subjectRaw).toBe('=?utf-8?q?Re=3A_Caf=C3=A9?= [list]');
    expect(msg.envelope.from).toEqual([{ name: 'Alice', mailbox: 'alice', host: 'example.com' }]);
    expect(msg.envelope.to).toEqual([
      { name: null, mailbox: 'bob', host: 'example.org' },
      { group: 'Team', addresses: [{ name: null, mailbox: 'carol', host: 'example.net' }, { name: null, mailbox: 'dave', host: 'example.net' }] },
    ]);
    expect(msg.envelope.sender).toBeNull();
    expect(msg.envelope.messageId).toBe('<m1@example.com>');
    expect(msg.envelope.date).toBe('Tue, 1 Aug 2023 12:00:00 +0200');
  });

  it('extracts thread hints', () => {
    expect(msg.messageId).toBe('<m1@example.com>');
    expect(msg.inReplyTo).toEqual(['<m0@example.com>']);
    expect(msg.references).toEqual(['<a@x>', '<m0@example.com>']);
    expect(msg.baseSubject).toBe('Café [list]');
    expect(msg.sentAt).toBe(Date.UTC(2023, 7, 1, 10));
  });

  it('numbers sections as IMAP does (RFC 9051 §6.4.5)', () => {
    const sections: string[] = [];
    walkParts(msg.root, (p, s) => sections.push(`${s}=${p.type}/${p.subtype}`));
    expect(sections).toEqual([
      '=multipart/mixed',
      '1=multipart/alternative',
      '1.1=text/plain',
      '1.2=text/html',
      '2=message/rfc822',
      '2.1=text/plain',
      '2.2=application/pdf',
      '3=application/octet-stream',
    ]);
    expect(findPart(msg.root, '2.2')?.params).toEqual({ name: 'r.pdf' });
    expect(findPart(msg.root, '')).toBe(msg.root);
    expect(findPart(msg.root, '4')).toBeUndefined();
    expect(findPart(msg.root, '1.1.1')).toBeUndefined();
    expect(findPart(msg.root, 'x')).toBeUndefined();
  });

  it('gives offsets that slice the right bytes', () => {
    const p11 = findPart(msg.root, '1.1') as MimePart;
    expect(slice(raw, p11.bodyStart, p11.bodyEnd)).toBe('Caf=E9 plain');
    expect(slice(raw, p11.headerStart, p11.headerEnd)).toBe('Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n');
    expect(p11).toMatchObject({ encoding: 'quoted-printable', size: 12, lines: 1, params: { charset: 'iso-8859-1' } });
    const p2 = findPart(msg.root, '2') as MimePart;
    expect(p2.message?.envelope.subject).toBe('inner subject');
    expect(slice(raw, p2.message!.root.headerStart, p2.message!.root.headerEnd)).toMatch(/^From: Zed.*\r\n\r\n$/s);
    expect(p2.lines).toBe(14);
    expect(slice(raw, msg.root.headerStart, msg.root.headerEnd).endsWith('boundary="outer"\r\n\r\n')).toBe(true);
  });

  it('decodes RFC 2231 file names and summarises attachments', () => {
    expect(findPart(msg.root, '3')?.disposition).toEqual({ type: 'attachment', params: { filename: 'été.bin' } });
    expect(msg.hasAttachment).toBe(true);
    expect(msg.attachments).toEqual([
      { section: '2', type: 'message/rfc822', name: null, decodedSize: (findPart(msg.root, '2') as MimePart).size, disposition: 'attachment', cid: null },
      { section: '3', type: 'application/octet-stream', name: 'été.bin', decodedSize: 3, disposition: 'attachment', cid: null },
    ]);
  });

  it('builds search text and preview from the plain alternative', () => {
    expect(msg.searchText.body).toBe('Café plain\ndeep text\nété.bin');
    expect(msg.preview).toBe('Café plain');
    expect(msg.searchText.headers).toContain('Subject: Re: Café [list]');
  });

  it('parses the same message with bare LF line endings at exact offsets', () => {
    const lf = new Uint8Array(Buffer.from(NESTED, 'utf8'));
    const m = parseMessage(lf);
    expect(invariantViolations(m)).toEqual([]);
    const p11 = findPart(m.root, '1.1') as MimePart;
    expect(slice(lf, p11.bodyStart, p11.bodyEnd)).toBe('Caf=E9 plain');
    expect(m.searchText.body).toBe(msg.searchText.body);
  });
});

describe('parseMessage edge cases', () => {
  it('treats a single-part message as part 1 with default text/plain (RFC 2045 §5.2)', () => {
    const raw = crlf('Subject: hi\n\nline1\nline2\n');
    const m = parseMessage(raw);
    expect(m.root).toMatchObject({ type: 'text', subtype: 'plain', params: { charset: 'us-ascii' }, encoding: '7bit', lines: 2, size: 14 });
    expect(findPart(m.root, '1')).toBe(m.root);
    expect(m.preview).toBe('line1 line2');
  });

  it('gives a message without headers an empty header block', () => {
    const m = parseMessage(crlf('\nbody only'));
    expect(m.root.headerEnd).toBe(2);
    expect(m.root.size).toBe(9);
    const n = parseMessage(new Uint8Array(0));
    expect(n.size).toBe(0);
    expect(invariantViolations(n)).toEqual([]);
  });

  it('defaults parts of multipart/digest to message/rfc822 (RFC 2046 §5.1.5)', () => {
    const m = parseMessage(crlf('Content-Type: multipart/digest; boundary=b\n\n--b\n\nSubject: one\n\nbody\n--b--\n'));
    expect(m.root.parts?.[0]).toMatchObject({ type: 'message', subtype: 'rfc822' });
    expect(m.root.parts?.[0]?.message?.envelope.subject).toBe('one');
  });

  it('ends an unclosed multipart at the end of the message', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n');
    const m = parseMessage(raw);
    expect(m.root.parts?.map((p) => slice(raw, p.bodyStart, p.bodyEnd))).toEqual(['one', 'two\r\n']);
    expect(m.defects).toContain('unclosed-multipart');
  });

  it('accepts transport padding after a delimiter and ignores look-alike lines', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b  \n\none\n--bx\n--b-\n--b-- \t\n');
    const m = parseMessage(raw);
    expect(m.root.parts?.map((p) => slice(raw, p.bodyStart, p.bodyEnd))).toEqual(['one\r\n--bx\r\n--b-']);
  });

  it('reports multiparts without boundary with no parts', () => {
    const m = parseMessage(crlf('Content-Type: multipart/mixed\n\nhello\n'));
    expect(m.root.parts).toEqual([]);
    expect(m.defects).toContain('no-boundary');
  });

  it('does not parse a base64-encoded message/rfc822', () => {
    const m = parseMessage(crlf('Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA0KDQp5\n'));
    expect(m.root.message).toBeUndefined();
    expect(m.defects).toContain('encoded-message');
  });

  it('falls back to text/plain for an invalid Content-Type', () => {
    const m = parseMessage(crlf('Content-Type: ;;;\n\nx'));
    expect(m.root).toMatchObject({ type: 'text', subtype: 'plain' });
    expect(m.defects).toContain('invalid-content-type');
  });

  it('reads html when there is no plain alternative and skips inline related images', () => {
    const raw = crlf(`Content-Type: multipart/related; boundary=r

--r
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

${Buffer.from('<p>Hello &amp; <img src="cid:i1"> bye</p>').toString('base64')}
--r
Content-Type: image/png
Content-ID: <i1>

PNG
--r--
`);
    const m = parseMessage(raw);
    expect(m.searchText.body).toBe('Hello & bye');
    expect(m.preview).toBe('Hello & bye');
    expect(m.hasAttachment).toBe(false);
  });

  it('caps body text and keeps preview within its limit', () => {
    const raw = crlf(`Subject: big\n\n${'word '.repeat(100_000)}`);
    const m = parseMessage(raw, { maxBodyTextChars: 1000 });
    expect(m.searchText.body.length).toBe(1000);
    expect(m.preview.length).toBeLessThanOrEqual(256);
  });

  it('does not count signatures as attachments', () => {
    const raw = crlf(`Content-Type: multipart/signed; boundary=s; protocol="application/pgp-signature"

--s
Content-Type: text/plain

signed text
--s
Content-Type: application/pgp-signature

-----BEGIN PGP SIGNATURE-----
--s--
`);
    expect(parseMessage(raw).hasAttachment).toBe(false);
  });
});
