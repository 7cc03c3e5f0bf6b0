/**
 * SORT (RFC 5256 §3, RFC 5957) and THREAD (RFC 5256 §3 ORDEREDSUBJECT, REFERENCES): the pure
 * algorithms over metadata, then sortMessages/threadMessages end to end on every adapter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as accounts from '../src/core/accounts/index.js';
import { listMailboxes } from '../src/core/mail/mailboxes.js';
import { searchMessages, sortMessages, threadMessages } from '../src/core/mail/search.js';
import type { SortCriterion, ThreadNode } from '../src/core/mail/search-types.js';
import { compareAsciiCasemap, displayValue, addrMailbox, sortMeta, type MessageMeta } from '../src/core/mail/search/order.js';
import { isReplyOrForward, normaliseMessageId, orderedSubject, referencesThreads } from '../src/core/mail/search/thread.js';
import { storeMessage } from '../src/core/mail/store.js';
import { baseSubject } from '../src/mime/index.js';
import { adapters, makeContext, type TestContext } from './support/context.js';

const cli = { name: 'cli:test', protocol: 'cli' };

function meta(uid: number, o: Partial<MessageMeta> = {}): MessageMeta {
  const subject = o.subject ?? null;
  return {
    uid,
    receivedAt: o.receivedAt ?? uid * 1000,
    sentAt: o.sentAt === undefined ? uid * 1000 : o.sentAt,
    size: o.size ?? 100,
    subject,
    baseSubject: o.baseSubject ?? (subject === null ? '' : baseSubject(subject)),
    from: o.from ?? null,
    to: o.to ?? null,
    cc: o.cc ?? null,
    messageId: o.messageId === undefined ? `<${uid}@x>` : o.messageId,
    inReplyTo: o.inReplyTo ?? [],
    references: o.references ?? [],
  };
}

/** Thread trees written as IMAP does: (1 (2)(3)) etc., for readable assertions. */
function show(nodes: ThreadNode[]): string {
  const one = (n: ThreadNode): string => {
    const self = n.uid === null ? '' : String(n.uid);
    if (n.children.length === 0) return self;
    if (n.children.length === 1) return `${self}${self ? ' ' : ''}${one(n.children[0]!)}`;
    return `${self}${self ? ' ' : ''}${n.children.map((c) => `(${one(c)})`).join('')}`;
  };
  return nodes.map((n) => `(${one(n)})`).join('');
}

describe('SORT criteria', () => {
  const addr = (name: string | null, mailbox: string, host = 'example.org') => [{ name, mailbox, host }];

  it('compares with i;ascii-casemap: ASCII case ignored, other characters by code point', () => {
    expect(compareAsciiCasemap('abc', 'ABC')).toBe(0);
    expect(compareAsciiCasemap('', 'a')).toBeLessThan(0);
    expect(compareAsciiCasemap('Zeta', 'alpha')).toBeGreaterThan(0);
    expect(compareAsciiCasemap('z', 'é')).toBeLessThan(0);
    expect(compareAsciiCasemap('é', 'É')).not.toBe(0);
    expect(compareAsciiCasemap('\uffff', '\u{1f600}')).toBeLessThan(0);
  });

  it('FROM/TO/CC use the addr-mailbox of the first address, DISPLAYFROM the display name or addr-spec', () => {
    expect(addrMailbox([{ name: 'Zed', mailbox: 'alice', host: 'x' }, { name: null, mailbox: 'bob', host: 'x' }])).toBe('alice');
    expect(addrMailbox(null)).toBe('');
    expect(addrMailbox([{ group: 'Team', addresses: [{ name: null, mailbox: 'a', host: 'x' }] }])).toBe('Team');
    expect(displayValue([{ name: 'Zed', mailbox: 'alice', host: 'x' }])).toBe('Zed');
    expect(displayValue([{ name: '', mailbox: 'alice', host: 'x' }])).toBe('alice@x');
    expect(displayValue([{ name: null, mailbox: 'alice', host: '' }])).toBe('alice');
    expect(displayValue(null)).toBe('');
  });

  it('sorts by each criterion, REVERSE per criterion, ties by ascending UID', () => {
    const ms = [
      meta(1, { subject: 'Re: banana', from: addr('Zoe', 'zoe'), to: addr(null, 'b'), size: 300, receivedAt: 5000, sentAt: null }),
      meta(2, { subject: 'apple', from: addr(null, 'Mallory'), cc: addr(null, 'c'), size: 100, receivedAt: 1000, sentAt: 9000 }),
      meta(3, { subject: '[list] Fwd: Apple', from: addr('Adam', 'yves'), size: 200, receivedAt: 3000, sentAt: 2000 }),
      meta(4, { subject: 'BANANA', from: addr(null, 'adam'), size: 100, receivedAt: 2000, sentAt: 4000 }),
    ];
    const by = (...criteria: SortCriterion[]) => sortMeta(ms, criteria).map((m) => m.uid);
    expect(by({ key: 'subject', reverse: false })).toEqual([2, 3, 1, 4]);
    expect(by({ key: 'subject', reverse: true })).toEqual([1, 4, 2, 3]);
    expect(by({ key: 'subject', reverse: false }, { key: 'date', reverse: true })).toEqual([2, 3, 1, 4]);
    expect(by({ key: 'arrival', reverse: false })).toEqual([2, 4, 3, 1]);
    // DATE falls back to INTERNALDATE (RFC 5256 §2.2): message 1 sorts at 5000.
    expect(by({ key: 'date', reverse: false })).toEqual([3, 4, 1, 2]);
    expect(by({ key: 'size', reverse: false })).toEqual([2, 4, 3, 1]);
    expect(by({ key: 'size', reverse: true })).toEqual([1, 3, 2, 4]);
    expect(by({ key: 'from', reverse: false })).toEqual([4, 2, 3, 1]);
    expect(by({ key: 'displayfrom', reverse: false })).toEqual([3, 4, 2, 1]);
    // Absent headers are the empty string, which sorts first.
    expect(by({ key: 'cc', reverse: false })).toEqual([1, 3, 4, 2]);
    expect(by({ key: 'to', reverse: false })).toEqual([2, 3, 4, 1]);
    expect(by({ key: 'displayto', reverse: true })).toEqual([1, 2, 3, 4]);
    expect(by()).toEqual([1, 2, 3, 4]);
  });
});

describe('THREAD=ORDEREDSUBJECT', () => {
  it('groups by base subject, threads ordered by the first sent date, no grandchildren', () => {
    const ms = [
      meta(1, { subject: 'b', sentAt: 3000 }),
      meta(2, { subject: 'a', sentAt: 2000 }),
      meta(3, { subject: 'Re: A', sentAt: 1000 }),
      meta(4, { subject: 'B (fwd)', sentAt: 4000 }),
      meta(5, { subject: 'Re: a', sentAt: 5000 }),
      meta(6, { subject: 'c', sentAt: null, receivedAt: 500 }),
    ];
    expect(show(orderedSubject(ms))).toBe('(6)(3 (2)(5))(1 4)');
  });

  it('breaks equal sent dates by sequence order', () => {
    expect(show(orderedSubject([meta(2, { subject: 'x', sentAt: 1 }), meta(1, { subject: 'x', sentAt: 1 })]))).toBe('(1 2)');
  });
});

describe('THREAD=REFERENCES', () => {
  it('links a chain through References', () => {
    const ms = [
      meta(1, { subject: 'Hello', messageId: '<a@x>' }),
      meta(2, { subject: 'Re: Hello', messageId: '<b@x>', references: ['<a@x>'] }),
      meta(3, { subject: 'Re: Hello', messageId: '<c@x>', references: ['<a@x>', '<b@x>'] }),
      meta(4, { subject: 'Re: Hello', messageId: '<d@x>', inReplyTo: ['<a@x>'] }),
    ];
    expect(show(referencesThreads(ms))).toBe('(1 (2 3)(4))');
  });

  it('keeps a dummy for a missing parent with several children, promotes a single child', () => {
    const ms = [
      meta(1, { subject: 'one', references: ['<gone@x>'] }),
      meta(2, { subject: 'two', references: ['<gone@x>'] }),
      meta(3, { subject: 'three', references: ['<gone2@x>', '<gone3@x>'] }),
    ];
    const tree = referencesThreads(ms);
    expect(tree[0]).toEqual({ uid: null, children: [{ uid: 1, children: [] }, { uid: 2, children: [] }] });
    expect(show(tree)).toBe('((1)(2))(3)');
  });

  it('merges a Re: subject under the original and two originals under a dummy', () => {
    const ms = [
      meta(1, { subject: 'Meeting', messageId: '<m1@x>' }),
      meta(2, { subject: 'Plan' }),
      meta(3, { subject: 'Re: meeting' }),
      meta(4, { subject: 'plan' }),
      meta(5, { subject: 'Fwd: Plan' }),
      meta(6, { subject: '' }),
      meta(7, { subject: '' }),
    ];
    expect(show(referencesThreads(ms))).toBe('(1 3)((2)(4)(5))(6)(7)');
  });

  it('uses a duplicate Message-ID only for the first message', () => {
    const ms = [
      meta(1, { subject: 'x', messageId: '<dup@x>' }),
      meta(2, { subject: 'y', messageId: '<dup@x>' }),
      meta(3, { subject: 'z', references: ['<dup@x>'] }),
      meta(4, { subject: 'w', messageId: null }),
    ];
    expect(show(referencesThreads(ms))).toBe('(1 3)(2)(4)');
  });

  it('never makes a loop from references that point at each other or at the message itself', () => {
    const ms = [
      meta(1, { subject: 'p', messageId: '<l1@x>', references: ['<l2@x>'] }),
      meta(2, { subject: 'q', messageId: '<l2@x>', references: ['<l1@x>'] }),
      meta(3, { subject: 'r', messageId: '<l3@x>', references: ['<l3@x>'] }),
      meta(4, { subject: 's', messageId: '<l4@x>', references: ['<l5@x>', '<l4@x>', '<l5@x>'] }),
    ];
    const tree = referencesThreads(ms);
    const seen: number[] = [];
    const walk = (n: ThreadNode) => {
      if (n.uid !== null) seen.push(n.uid);
      n.children.forEach(walk);
    };
    tree.forEach(walk);
    expect(seen.sort()).toEqual([1, 2, 3, 4]);
    expect(show(tree)).toBe('(2 1)(3)(4)');
  });

  it('replaces a link from a truncated References by the last reference', () => {
    const ms = [
      meta(1, { subject: 'a', messageId: '<a@x>' }),
      meta(2, { subject: 'b', messageId: '<b@x>' }),
      meta(3, { subject: 'c', messageId: '<c@x>', references: ['<a@x>', '<c@x>'] }),
      meta(4, { subject: 'd', messageId: '<d@x>', references: ['<b@x>', '<c@x>'] }),
    ];
    // 3 is a child of 1 from its own header (its last reference is itself, a loop, so that
    // link stays); 4 names 2 then 3, and 3 keeps its parent.
    expect(show(referencesThreads(ms))).toBe('(1 3 4)(2)');
  });

  it('normalises quoted msg-ids and sorts siblings by sent date', () => {
    expect(normaliseMessageId('<"01KF8JCEOCBS0045PS"@xxx.yyy.com>')).toBe('<01KF8JCEOCBS0045PS@xxx.yyy.com>');
    const ms = [
      meta(1, { subject: 'root', messageId: '<01KF8JCEOCBS0045PS@xxx.yyy.com>', sentAt: 100 }),
      meta(2, { subject: 'Re: root', references: ['<"01KF8JCEOCBS0045PS"@xxx.yyy.com>'], sentAt: 300 }),
      meta(3, { subject: 'Re: root', references: ['<01KF8JCEOCBS0045PS@xxx.yyy.com>'], sentAt: 200 }),
    ];
    expect(show(referencesThreads(ms))).toBe('(1 (3)(2))');
  });

  it('recognises replies and forwards by what base subject extraction removed', () => {
    expect(isReplyOrForward('Re: x')).toBe(true);
    expect(isReplyOrForward('[list] Re: x')).toBe(true);
    expect(isReplyOrForward('x (fwd)')).toBe(true);
    expect(isReplyOrForward('[Fwd: x]')).toBe(true);
    expect(isReplyOrForward('[list] x')).toBe(false);
    expect(isReplyOrForward('  x  ')).toBe(false);
    expect(isReplyOrForward(null)).toBe(false);
  });
});

for (const adapter of adapters()) {
  describe(`sortMessages and threadMessages (${adapter})`, () => {
    let t: TestContext;
    let bob: string;
    let inbox: string;
    const raw = (h: Record<string, string>) =>
      Buffer.from([...Object.entries(h).map(([k, v]) => `${k}: ${v}`), 'Content-Type: text/plain', '', 'body', ''].join('\r\n'));

    beforeAll(async () => {
      t = await makeContext(adapter);
      await accounts.addDomain(t.ctx, 'example.com', cli);
      bob = (await accounts.addAccount(t.ctx, { address: 'bob@example.com' }, cli)).id;
      inbox = (await listMailboxes(t.ctx, bob)).find((b) => b.role === 'inbox')!.id;
      const msgs = [
        raw({ From: 'Zoe <zoe@example.org>', To: 'bob@example.com', Subject: '=?UTF-8?Q?=C3=89t=C3=A9?=', Date: 'Mon, 02 Mar 2026 10:00:00 +0000', 'Message-ID': '<t1@x>' }),
        raw({ From: 'adam@example.org', To: 'bob@example.com', Subject: 'Re: =?UTF-8?Q?=C3=89t=C3=A9?=', Date: 'Mon, 02 Mar 2026 09:00:00 -0200', 'Message-ID': '<t2@x>', 'In-Reply-To': '<t1@x>' }),
        raw({ From: '"Bea" <bea@example.org>', To: 'bob@example.com', Cc: 'carl@example.org', Subject: 'Other', 'Message-ID': '<t3@x>', References: '<missing@x> <t1@x>' }),
        raw({ From: 'Team: a@example.org, b@example.org;', To: 'bob@example.com', Subject: 'other', Date: 'Sun, 01 Mar 2026 08:00:00 +0000', 'Message-ID': '<t4@x>' }),
      ];
      let at = Date.UTC(2026, 2, 5);
      for (const m of msgs) await storeMessage(t.ctx, m, [{ accountId: bob, mailboxId: inbox }], { receivedAt: (at -= 3_600_000) });
    });
    afterAll(async () => {
      await t.close();
    });

    it('sorts stored messages by decoded base subject, addresses and dates', async () => {
      const all = await searchMessages(t.ctx, bob, inbox, { op: 'all' });
      expect(all).toEqual([1, 2, 3, 4]);
      expect(await sortMessages(t.ctx, bob, inbox, all, [{ key: 'subject', reverse: false }])).toEqual([3, 4, 1, 2]);
      expect(await sortMessages(t.ctx, bob, inbox, all, [{ key: 'from', reverse: false }])).toEqual([2, 3, 4, 1]);
      expect(await sortMessages(t.ctx, bob, inbox, all, [{ key: 'displayfrom', reverse: false }])).toEqual([2, 3, 4, 1]);
      expect(await sortMessages(t.ctx, bob, inbox, all, [{ key: 'cc', reverse: true }])).toEqual([3, 1, 2, 4]);
      // Message 3 has no Date: its INTERNALDATE (5 Mar 00:00 - 3h) stands in.
      expect(await sortMessages(t.ctx, bob, inbox, all, [{ key: 'date', reverse: false }])).toEqual([4, 1, 2, 3]);
      expect(await sortMessages(t.ctx, bob, inbox, all, [{ key: 'arrival', reverse: false }])).toEqual([4, 3, 2, 1]);
      expect(await sortMessages(t.ctx, bob, inbox, [4, 2, 99], [{ key: 'arrival', reverse: true }])).toEqual([2, 4]);
    });

    it('threads stored messages by references and by subject', async () => {
      const all = [1, 2, 3, 4];
      expect(show(await threadMessages(t.ctx, bob, inbox, all, 'references'))).toBe('(4)(1 (2)(3))');
      expect(show(await threadMessages(t.ctx, bob, inbox, all, 'orderedsubject'))).toBe('(4 3)(1 2)');
      // Without 1, its place is a dummy under the missing first reference of 3: both dummies
      // go, the children stay together under one dummy at the root (RFC 5256 §3 step 3).
      expect(show(await threadMessages(t.ctx, bob, inbox, [2, 3], 'references'))).toBe('((2)(3))');
    });
  });
}
