/**
 * Real-world messy mail: CPython's email test messages (Debian package
 * libpython3.11-testsuite), parsed in place and never copied into this repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeTransferEncoding, findPart, invariantViolations, parseMessage, type MimePart } from './index.js';

const dir = '/usr/lib/python3.11/test/test_email/data/';
const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^msg_.*\.txt$/.test(f)).sort() : [];
if (files.length === 0) console.log(`skipping CPython email corpus: ${dir} not found (apt-get install libpython3.11-testsuite)`);
const load = (f: string): Uint8Array => new Uint8Array(readFileSync(dir + f));
const shape = (p: MimePart): string =>
  `${p.type}/${p.subtype}${p.parts ? `[${p.parts.map(shape).join(',')}]` : ''}${p.message ? `{${shape(p.message.root)}}` : ''}`;

describe.skipIf(files.length === 0)('CPython email test messages', () => {
  it.each(files)('%s parses with sound invariants and a JSON round trip', (f) => {
    const raw = load(f);
    const msg = parseMessage(raw);
    expect(invariantViolations(msg, { maxDepth: 32, maxParts: 1000 })).toEqual([]);
    expect(JSON.parse(JSON.stringify(msg))).toEqual(msg);
    expect(msg.size).toBe(raw.length);
    expect(msg.preview.length).toBeLessThanOrEqual(256);
  });

  it('msg_02: a digest of encapsulated messages inside multipart/mixed', () => {
    const msg = parseMessage(load('msg_02.txt'));
    expect(shape(msg.root)).toBe(
      'multipart/mixed[text/plain,text/plain,multipart/digest[' +
        Array(5).fill('message/rfc822{text/plain}').join(',') +
        '],text/plain]',
    );
    expect(msg.envelope.subject).toBe('Ppp digest, Vol 1 #2 - 5 msgs');
    expect(findPart(msg.root, '3.1')?.message?.envelope.from).toHaveLength(1);
    expect(findPart(msg.root, '3.1.1')?.type).toBe('text');
  });

  it('msg_07: a base64 GIF attachment decodes to a GIF of the stated size', () => {
    const raw = load('msg_07.txt');
    const msg = parseMessage(raw);
    const gif = findPart(msg.root, '2') as MimePart;
    const bytes = decodeTransferEncoding(raw.subarray(gif.bodyStart, gif.bodyEnd), gif.encoding);
    expect(Buffer.from(bytes.subarray(0, 6)).toString('latin1')).toBe('GIF87a');
    // Node's own base64 decoder agrees byte for byte.
    expect(Buffer.from(bytes).equals(Buffer.from(Buffer.from(raw.subarray(gif.bodyStart, gif.bodyEnd)).toString('latin1'), 'base64'))).toBe(true);
    expect(msg.attachments).toEqual([
      { section: '2', type: 'image/gif', name: 'dingusfish.gif', decodedSize: bytes.length, disposition: 'attachment', cid: null },
    ]);
  });

  it('msg_29: RFC 2231 continuations with quoted, percent-encoded segments', () => {
    const msg = parseMessage(load('msg_29.txt'));
    expect(msg.root.params).toEqual({ charset: 'us-ascii', title: "This is even more ***fun*** isn't it!" });
    expect(msg.envelope.from).toEqual([{ name: 'John X. Doe', mailbox: 'bbb', host: 'ddd.com' }]);
  });

  it('msg_32: an RFC 2231 charset parameter', () => {
    expect(parseMessage(load('msg_32.txt')).root.params['charset']).toBe('us-ascii');
  });

  it('msg_06: a top-level message/rfc822 numbers its inner body 1.1', () => {
    const msg = parseMessage(load('msg_06.txt'));
    expect(msg.root.type).toBe('message');
    expect(findPart(msg.root, '1')).toBe(msg.root);
    expect(findPart(msg.root, '1.1')).toBe(msg.root.message?.root);
  });

  it('msg_17: a multipart whose boundary never appears has no parts', () => {
    const msg = parseMessage(load('msg_17.txt'));
    expect(msg.root.parts).toEqual([]);
    expect(msg.defects).toContain('boundary-not-found');
  });
});
