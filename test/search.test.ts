/**
 * SEARCH contract suite (src/core/mail/search.ts), run on every store adapter: each key of
 * RFC 9051 §6.4.4 and its extensions over a varied mailbox stored through storeMessage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as accounts from '../src/core/accounts/index.js';
import { NotFound } from '../src/core/errors.js';
import { listMailboxes } from '../src/core/mail/mailboxes.js';
import { systemFlagSql } from '../src/core/mail/flags.js';
import { setFlags } from '../src/core/mail/messages.js';
import { searchMessages } from '../src/core/mail/search.js';
import { indexPendingText } from '../src/core/mail/search-index.js';
import type { SearchKey } from '../src/core/mail/search-types.js';
import { storeMessage } from '../src/core/mail/store.js';
import { adapters, makeContext, type TestContext } from './support/context.js';

const cli = { name: 'cli:test', protocol: 'cli' };
const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'));
const DAY = 86_400_000;

/** The messages of the main mailbox, in UID order (UID = index + 1). */
const MESSAGES: Array<{ raw: Uint8Array; receivedAt: number; flags: string[] }> = [
  {
    // 1: encoded-word subject, UTF-8 quoted-printable body, Cc.
    raw: crlf([
      'From: Alice Martin <alice@example.org>',
      'To: Bob <bob@example.com>',
      'Cc: Carol <carol@example.net>',
      "Subject: =?UTF-8?Q?R=C3=A9union_d'=C3=A9t=C3=A9?=",
      'Date: Sun, 01 Mar 2026 10:00:00 +0000',
      'Message-ID: <m1@example.org>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      "La r=C3=A9union de l'=C3=A9t=C3=A9 aura lieu au ch=C3=A2teau.",
      '',
    ]),
    receivedAt: Date.UTC(2026, 2, 1, 10, 5),
    flags: ['\\Seen'],
  },
  {
    // 2: HTML body and an attachment with a file name; keywords.
    raw: crlf([
      'From: "Dave Report" <dave@reports.example>',
      'To: bob@example.com',
      'Subject: Quarterly numbers',
      'Date: Mon, 02 Mar 2026 09:00:00 +0100',
      'Message-ID: <m2@reports.example>',
      'X-Tracking: campaign-77',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><body><p>Quarterly <b>revenue</b> grew &amp; costs fell</p></body></html>',
      '--b1',
      'Content-Type: application/vnd.ms-excel; name="budget-2026.xls"',
      'Content-Disposition: attachment; filename="budget-2026.xls"',
      'Content-Transfer-Encoding: base64',
      '',
      'AAECAwQFBgc=',
      '--b1--',
      '',
    ]),
    receivedAt: Date.UTC(2026, 2, 2, 8, 1),
    flags: ['\\Flagged', '$Important', 'ProjectX'],
  },
  {
    // 3: reply, Bcc, a Date whose written day differs from its UTC day.
    raw: crlf([
      'From: bob@example.com',
      'To: alice@example.org',
      'Bcc: secret@hidden.example',
      'Subject: Re: Lunch plans',
      'Date: Mon, 02 Mar 2026 22:30:00 -0500',
      'Message-ID: <m3@example.com>',
      'In-Reply-To: <m0@example.org>',
      '',
      'Ok, see you at noon. Ça marche! \u212Aelvin scale.',
      '',
    ]),
    receivedAt: Date.UTC(2026, 2, 3, 3, 31),
    flags: ['\\Seen', '\\Answered'],
  },
  {
    // 4: no Date header; Cyrillic and Greek text.
    raw: crlf([
      'From: =?UTF-8?B?0JjQstCw0L0=?= <ivan@example.ru>',
      'To: bob@example.com',
      'Subject: =?UTF-8?B?0J/RgNC40LLQtdGCINCc0JjQoA==?=',
      'Message-ID: <m4@example.ru>',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Привет МИР! Καλημέρα ΚΟΣΜΕ. ᏣᎳᎩ ᏗᏕᎶᏆᏍᏗ',
      '',
    ]),
    receivedAt: Date.UTC(2026, 2, 10, 12, 0),
    flags: ['Ünï'],
  },
  {
    // 5: short body, large size, a custom header, deleted + draft.
    raw: crlf([
      'From: Eve <eve@example.org>',
      'To: bob@example.com',
      'Subject: Big one',
      'Date: Tue, 10 Mar 2026 23:59:59 +0000',
      'Message-ID: <m5@example.org>',
      'X-Custom-Header: Alpha Beta',
      'X-Empty:',
      '',
      'zz' + ' padding'.repeat(500),
      '',
    ]),
    receivedAt: Date.UTC(2026, 2, 11, 0, 0, 1),
    flags: ['\\Deleted', '\\Draft', 'projectx'],
  },
];

for (const adapter of adapters()) {
  describe(`search (${adapter})`, () => {
    let t: TestContext;
    let bob: string;
    let inbox: string;
    let archive: string;
    let carol: string;
    let carolInbox: string;
    const emailIds: string[] = [];
    const threadIds: string[] = [];
    const modseqs: number[] = [];

    const search = (key: SearchKey, nowMs?: number) => searchMessages(t.ctx, bob, inbox, key, nowMs === undefined ? {} : { nowMs });
    const text = (field: 'body' | 'text' | 'subject' | 'from' | 'to' | 'cc' | 'bcc', value: string): SearchKey => ({ op: 'text', field, value });

    beforeAll(async () => {
      t = await makeContext(adapter);
      await accounts.addDomain(t.ctx, 'example.com', cli);
      bob = (await accounts.addAccount(t.ctx, { address: 'bob@example.com' }, cli)).id;
      carol = (await accounts.addAccount(t.ctx, { address: 'carol@example.com' }, cli)).id;
      const boxes = await listMailboxes(t.ctx, bob);
      inbox = boxes.find((b) => b.role === 'inbox')!.id;
      archive = boxes.find((b) => b.role === 'archive')!.id;
      carolInbox = (await listMailboxes(t.ctx, carol)).find((b) => b.role === 'inbox')!.id;
      for (const m of MESSAGES) {
        t.clock.advance(DAY);
        const [o] = await storeMessage(t.ctx, m.raw, [{ accountId: bob, mailboxId: inbox, flags: m.flags }], { receivedAt: m.receivedAt });
        if (!o?.ok) throw new Error('store failed');
        emailIds.push(o.emailId);
        threadIds.push(o.threadId);
        modseqs.push(o.modseq);
      }
      // The same words elsewhere: another mailbox of bob, and another account.
      for (const m of MESSAGES) {
        await storeMessage(t.ctx, m.raw, [{ accountId: bob, mailboxId: archive }, { accountId: carol, mailboxId: carolInbox, flags: m.flags }], { receivedAt: m.receivedAt });
      }
      // Through the index, as on a server whose background indexer has caught up (pending
      // messages are covered by the maintenance and property tests).
      while ((await indexPendingText(t.ctx)) > 0);
    });
    afterAll(async () => {
      await t.close();
    });

    it('ALL returns every UID in ascending order, and only this mailbox', async () => {
      expect(await search({ op: 'all' })).toEqual([1, 2, 3, 4, 5]);
      expect(await searchMessages(t.ctx, carol, carolInbox, { op: 'all' })).toEqual([1, 2, 3, 4, 5]);
    });

    it('refuses a mailbox of another account as if it did not exist', async () => {
      await expect(searchMessages(t.ctx, bob, carolInbox, { op: 'all' })).rejects.toBeInstanceOf(NotFound);
      await expect(searchMessages(t.ctx, bob, 'mNoSuch', { op: 'all' })).rejects.toBeInstanceOf(NotFound);
    });

    it('never returns messages of another mailbox or account for text keys', async () => {
      const arch = await searchMessages(t.ctx, bob, archive, text('body', 'quarterly'));
      expect(arch).toEqual([2]);
      // UIDs alone cannot tell mailboxes apart, so check by a flag only the inbox copy has.
      expect(await searchMessages(t.ctx, bob, archive, { op: 'and', keys: [text('body', 'quarterly'), { op: 'flag', flag: '\\Flagged', set: true }] })).toEqual([]);
      expect(await search({ op: 'and', keys: [text('body', 'quarterly'), { op: 'flag', flag: '\\Flagged', set: true }] })).toEqual([2]);
    });

    it('flags and keywords, keywords case-insensitively', async () => {
      expect(await search({ op: 'flag', flag: '\\Seen', set: true })).toEqual([1, 3]);
      expect(await search({ op: 'flag', flag: '\\Seen', set: false })).toEqual([2, 4, 5]);
      expect(await search({ op: 'flag', flag: '\\ANSWERED', set: true })).toEqual([3]);
      expect(await search({ op: 'flag', flag: '\\Deleted', set: true })).toEqual([5]);
      expect(await search({ op: 'flag', flag: '\\Draft', set: false })).toEqual([1, 2, 3, 4]);
      expect(await search({ op: 'flag', flag: 'projectx', set: true })).toEqual([2, 5]);
      expect(await search({ op: 'flag', flag: 'PROJECTX', set: false })).toEqual([1, 3, 4]);
      expect(await search({ op: 'flag', flag: '$important', set: true })).toEqual([2]);
      // A prefix of a keyword is not the keyword; LIKE wildcards are literal.
      expect(await search({ op: 'flag', flag: 'Project', set: true })).toEqual([]);
      expect(await search({ op: 'flag', flag: 'Project_', set: true })).toEqual([]);
      expect(await search({ op: 'flag', flag: '$Important ProjectX', set: true })).toEqual([]);
      expect(await search({ op: 'flag', flag: '', set: false })).toEqual([1, 2, 3, 4, 5]);
      expect(await search({ op: 'flag', flag: '\\Recent', set: true })).toEqual([]);
      // Keywords fold ASCII only (atoms, RFC 9051 §2.3.2), alike on every engine.
      expect(await search({ op: 'flag', flag: 'ünI', set: true })).toEqual([]);
      expect(await search({ op: 'flag', flag: 'ÜNï', set: true })).toEqual([4]);
    });

    it('serves system flag keys from the partial indexes of migration 6', async () => {
      // The planner matches a partial index by its expression: if systemFlagSql and the
      // migration drift apart, these lookups silently become scans of the whole mailbox.
      for (const [flag, set, index] of [['\\Seen', false, 'mailbox_messages_unseen'], ['\\Deleted', true, 'mailbox_messages_deleted'], ['\\Flagged', true, 'mailbox_messages_flagged']] as const) {
        const sql = `SELECT uid FROM mailbox_messages WHERE mailbox_id = ? AND ${systemFlagSql('flags', flag, set)}`;
        const plan = await t.ctx.store.read(async (q) => {
          if (t.ctx.store.dialect === 'postgres') {
            // A five-row table is cheaper to scan; forbid that to see whether the index applies.
            await q.run('SET LOCAL enable_seqscan = off');
            return JSON.stringify(await q.all(`EXPLAIN ${sql}`, [inbox]));
          }
          return JSON.stringify(await q.all(`EXPLAIN QUERY PLAN ${sql}`, [inbox]));
        });
        expect(plan).toContain(index);
      }
    });

    it('follows flag changes', async () => {
      await setFlags(t.ctx, carol, carolInbox, [4], 'add', ['Later']);
      expect(await searchMessages(t.ctx, carol, carolInbox, { op: 'flag', flag: 'later', set: true })).toEqual([4]);
      expect(await search({ op: 'flag', flag: 'later', set: true })).toEqual([]);
    });

    it('UID ranges, with * as the largest UID and reversed ranges', async () => {
      expect(await search({ op: 'uid', ranges: [[2, 3]] })).toEqual([2, 3]);
      expect(await search({ op: 'uid', ranges: [[4, 2]] })).toEqual([2, 3, 4]);
      expect(await search({ op: 'uid', ranges: [[1, 1], [4, Infinity]] })).toEqual([1, 4, 5]);
      // RFC 9051 §9: 9:* with 5 the largest UID means 5:9.
      expect(await search({ op: 'uid', ranges: [[9, Infinity]] })).toEqual([5]);
      expect(await search({ op: 'uid', ranges: [[Infinity, Infinity]] })).toEqual([5]);
      expect(await search({ op: 'uid', ranges: [[6, 100]] })).toEqual([]);
      expect(await search({ op: 'uid', ranges: [] })).toEqual([]);
      // A saved result of thousands of single UIDs and ranges (beyond SQLite's expression depth).
      const many: Array<[number, number]> = [];
      for (let u = 1; u < 20_000; u += 2) many.push([u, u], [u + 40_000, u + 40_001]);
      expect(await search({ op: 'uid', ranges: many })).toEqual([1, 3, 5]);
    });

    it('SUBJECT matches the decoded subject, case-insensitively with Unicode folding', async () => {
      expect(await search(text('subject', 'réunion'))).toEqual([1]);
      expect(await search(text('subject', 'ÉTÉ'))).toEqual([1]);
      expect(await search(text('subject', 'RE: LUNCH'))).toEqual([3]);
      expect(await search(text('subject', 'привет мир'))).toEqual([4]);
      expect(await search(text('subject', 'quarterly'))).toEqual([2]);
      // Text in the body is not in the subject.
      expect(await search(text('subject', 'château'))).toEqual([]);
    });

    it('FROM, TO, CC and BCC match the header values, decoded', async () => {
      expect(await search(text('from', 'alice'))).toEqual([1]);
      expect(await search(text('from', 'MARTIN'))).toEqual([1]);
      expect(await search(text('from', 'Иван'))).toEqual([4]);
      expect(await search(text('from', 'example.org'))).toEqual([1, 5]);
      expect(await search(text('to', 'alice@example.org'))).toEqual([3]);
      expect(await search(text('to', 'bob'))).toEqual([1, 2, 4, 5]);
      expect(await search(text('cc', 'carol'))).toEqual([1]);
      expect(await search(text('bcc', 'secret@hidden'))).toEqual([3]);
      expect(await search(text('cc', ''))).toEqual([1]);
    });

    it('BODY matches decoded body text: quoted-printable, HTML reduced to text, attachment names', async () => {
      expect(await search(text('body', 'château'))).toEqual([1]);
      expect(await search(text('body', 'CHÂTEAU'))).toEqual([1]);
      expect(await search(text('body', 'revenue grew'))).toEqual([2]);
      expect(await search(text('body', 'costs fell'))).toEqual([2]);
      expect(await search(text('body', '<b>'))).toEqual([]);
      expect(await search(text('body', 'budget-2026.xls'))).toEqual([2]);
      expect(await search(text('body', 'мир!'))).toEqual([4]);
      expect(await search(text('body', 'καλημέρα κόσμε'))).toEqual([]);
      expect(await search(text('body', 'καλημέρα'))).toEqual([4]);
      expect(await search(text('body', 'ΚΑΛΗΜΈΡΑ'))).toEqual([4]);
      // The subject is a header, not the body.
      expect(await search(text('body', 'lunch plans'))).toEqual([]);
      expect(await search(text('body', 'nowhere to be found'))).toEqual([]);
    });

    it('TEXT matches headers or body', async () => {
      expect(await search(text('text', 'lunch plans'))).toEqual([3]);
      expect(await search(text('text', 'see you at noon'))).toEqual([3]);
      expect(await search(text('text', 'campaign-77'))).toEqual([2]);
      expect(await search(text('text', 'example.org'))).toEqual([1, 3, 5]);
      expect(await search(text('text', ''))).toEqual([1, 2, 3, 4, 5]);
    });

    it('substrings of one and two characters use the bounded scan and still match exactly', async () => {
      expect(await search(text('body', 'zz'))).toEqual([5]);
      expect(await search(text('body', 'ÇA'))).toEqual([3]);
      expect(await search(text('subject', 'Бi'))).toEqual([]);
      expect(await search(text('text', 'é'))).toEqual([1]);
      expect(await search(text('body', 'Ok'))).toEqual([3]);
      // U+212A KELVIN SIGN folds to ASCII "k".
      expect(await search(text('body', 'KELVIN'))).toEqual([3]);
      expect(await search(text('body', 'kel'))).toEqual([3]);
      expect(await search(text('body', 'elvin sc'))).toEqual([3]);
      expect(await search({ op: 'and', keys: [{ op: 'uid', ranges: [[4, 5]] }, text('body', 'zz')] })).toEqual([5]);
      expect(await search({ op: 'and', keys: [{ op: 'uid', ranges: [[1, 4]] }, text('body', 'zz')] })).toEqual([]);
    });

    it('characters outside the trusted ranges cut the index lookup but match exactly', async () => {
      // Georgian and Cherokee fold differently across Unicode versions.
      expect(await search(text('body', 'ⴀⴁⴂ'))).toEqual([]);
      expect(await search(text('body', 'mir\u0000'))).toEqual([]);
      expect(await search(text('body', 'ΚΟΣΜΕ'))).toEqual([4]);
      // Cherokee upper case folds to the lower-case letters added in Unicode 8, which the
      // FTS5 table does not pair: found only because the needle is cut, not looked up whole.
      expect(await search(text('body', 'ꮳꮃꭹ'))).toEqual([4]);
      expect(await search(text('body', 'ꮧꮥꮆꮖꮝꮧ'))).toEqual([4]);
    });

    it('HEADER field contains a string, or is present for an empty string', async () => {
      expect(await search({ op: 'header', field: 'X-Custom-Header', value: 'beta' })).toEqual([5]);
      expect(await search({ op: 'header', field: 'x-custom-header', value: '' })).toEqual([5]);
      expect(await search({ op: 'header', field: 'X-Empty', value: '' })).toEqual([5]);
      expect(await search({ op: 'header', field: 'X-Empty', value: 'a' })).toEqual([]);
      expect(await search({ op: 'header', field: 'Message-ID', value: 'm2@' })).toEqual([2]);
      expect(await search({ op: 'header', field: 'In-Reply-To', value: '' })).toEqual([3]);
      expect(await search({ op: 'header', field: 'Date', value: '' })).toEqual([1, 2, 3, 5]);
      // A field name that only ends like another is a different field.
      expect(await search({ op: 'header', field: 'Header', value: '' })).toEqual([]);
      expect(await search({ op: 'header', field: 'Subject', value: 'réunion' })).toEqual([1]);
    });

    it('LARGER and SMALLER compare RFC822.SIZE strictly', async () => {
      const sizes = MESSAGES.map((m) => m.raw.byteLength);
      expect(await search({ op: 'size', cmp: 'larger', bytes: 2000 })).toEqual([5]);
      expect(await search({ op: 'size', cmp: 'smaller', bytes: 2000 })).toEqual([1, 2, 3, 4]);
      expect(await search({ op: 'size', cmp: 'larger', bytes: sizes[2]! })).toEqual(sizes.map((s, i) => [s, i + 1] as const).filter(([s]) => s > sizes[2]!).map(([, u]) => u));
      expect(await search({ op: 'size', cmp: 'smaller', bytes: sizes[2]! })).not.toContain(3);
    });

    it('BEFORE, ON and SINCE compare the INTERNALDATE by its UTC day', async () => {
      expect(await search({ op: 'date', which: 'internal', cmp: 'on', day: '2026-03-02' })).toEqual([2]);
      expect(await search({ op: 'date', which: 'internal', cmp: 'on', day: '2026-03-03' })).toEqual([3]);
      expect(await search({ op: 'date', which: 'internal', cmp: 'before', day: '2026-03-03' })).toEqual([1, 2]);
      expect(await search({ op: 'date', which: 'internal', cmp: 'since', day: '2026-03-10' })).toEqual([4, 5]);
      expect(await search({ op: 'date', which: 'internal', cmp: 'on', day: '2026-03-11' })).toEqual([5]);
      await expect(search({ op: 'date', which: 'internal', cmp: 'on', day: '2026-02-30' })).rejects.toThrow();
    });

    it('SENTBEFORE, SENTON and SENTSINCE use the day written in the Date header', async () => {
      // Message 3 was written on 2 Mar (-0500), which is 3 Mar in UTC.
      expect(await search({ op: 'date', which: 'sent', cmp: 'on', day: '2026-03-02' })).toEqual([2, 3]);
      expect(await search({ op: 'date', which: 'sent', cmp: 'on', day: '2026-03-03' })).toEqual([]);
      expect(await search({ op: 'date', which: 'sent', cmp: 'before', day: '2026-03-02' })).toEqual([1]);
      expect(await search({ op: 'date', which: 'sent', cmp: 'since', day: '2026-03-02' })).toEqual([2, 3, 5]);
      expect(await search({ op: 'date', which: 'sent', cmp: 'since', day: '2020-01-01' })).toEqual([1, 2, 3, 5]);
      expect(await search({ op: 'date', which: 'sent', cmp: 'before', day: '2030-01-01' })).toEqual([1, 2, 3, 5]);
      // No Date header: matches none of them, so every NOT of them.
      expect(await search({ op: 'not', key: { op: 'date', which: 'sent', cmp: 'since', day: '2000-01-01' } })).toEqual([4]);
    });

    it('SAVEDBEFORE, SAVEDON and SAVEDSINCE use the save date (RFC 8514)', async () => {
      // The clock moved one day before each store: saved on 2 Jan 2026 + n days.
      expect(await search({ op: 'date', which: 'saved', cmp: 'on', day: '2026-01-03' })).toEqual([2]);
      expect(await search({ op: 'date', which: 'saved', cmp: 'since', day: '2026-01-05' })).toEqual([4, 5]);
      expect(await search({ op: 'date', which: 'saved', cmp: 'before', day: '2026-01-03' })).toEqual([1]);
    });

    it('OLDER and YOUNGER are relative to now, to the second, inclusive (RFC 5032)', async () => {
      const now = Date.UTC(2026, 2, 11, 0, 0, 1);
      expect(await search({ op: 'age', cmp: 'younger', seconds: 0 }, now)).toEqual([5]);
      expect(await search({ op: 'age', cmp: 'older', seconds: 0 }, now)).toEqual([1, 2, 3, 4, 5]);
      expect(await search({ op: 'age', cmp: 'older', seconds: 1 }, now)).toEqual([1, 2, 3, 4]);
      // Message 4 arrived 12 hours and 1 second before now.
      expect(await search({ op: 'age', cmp: 'younger', seconds: 12 * 3600 }, now)).toEqual([5]);
      expect(await search({ op: 'age', cmp: 'younger', seconds: 12 * 3600 + 1 }, now)).toEqual([4, 5]);
      expect(await search({ op: 'age', cmp: 'older', seconds: 12 * 3600 + 1 }, now)).toEqual([1, 2, 3, 4]);
      expect(await search({ op: 'age', cmp: 'older', seconds: 12 * 3600 + 2 }, now)).toEqual([1, 2, 3]);
      // The default "now" is the context clock, still in January: every message is "younger".
      expect(await search({ op: 'age', cmp: 'younger', seconds: 1 })).toEqual([1, 2, 3, 4, 5]);
      expect(await search({ op: 'age', cmp: 'older', seconds: 1 })).toEqual([]);
    });

    it('MODSEQ, EMAILID and THREADID', async () => {
      expect(await search({ op: 'modseq', min: modseqs[3]! })).toEqual([4, 5]);
      expect(await search({ op: 'modseq', min: 0 })).toEqual([1, 2, 3, 4, 5]);
      expect(await search({ op: 'emailid', id: emailIds[1]! })).toEqual([2]);
      expect(await search({ op: 'emailid', id: 'eNope' })).toEqual([]);
      expect(await search({ op: 'threadid', id: threadIds[2]! })).toEqual([3]);
    });

    it('AND, OR and NOT combine keys', async () => {
      expect(await search({ op: 'and', keys: [] })).toEqual([1, 2, 3, 4, 5]);
      // Thousands of conditions side by side (beyond SQLite's expression depth if chained).
      expect(await search({ op: 'and', keys: Array.from({ length: 3000 }, (_, i) => ({ op: 'modseq', min: i % 2 }) as SearchKey) })).toEqual([1, 2, 3, 4, 5]);
      expect(await search({ op: 'and', keys: [{ op: 'flag', flag: '\\Seen', set: true }, text('text', 'lunch')] })).toEqual([3]);
      expect(await search({ op: 'or', a: text('body', 'château'), b: { op: 'flag', flag: '\\Deleted', set: true } })).toEqual([1, 5]);
      expect(await search({ op: 'not', key: text('body', 'château') })).toEqual([2, 3, 4, 5]);
      expect(await search({ op: 'not', key: { op: 'or', a: text('subject', 'big'), b: { op: 'uid', ranges: [[1, 2]] } } })).toEqual([3, 4]);
      expect(
        await search({
          op: 'and',
          keys: [{ op: 'not', key: { op: 'flag', flag: '\\Seen', set: true } }, { op: 'or', a: text('from', 'eve'), b: text('body', 'quarterly') }, { op: 'size', cmp: 'larger', bytes: 10 }],
        }),
      ).toEqual([2, 5]);
      expect(await search({ op: 'and', keys: [text('text', 'example'), text('body', 'zz'), { op: 'flag', flag: 'projectx', set: true }] })).toEqual([5]);
    });
  });
}

for (const adapter of adapters()) {
  describe(`search index maintenance (${adapter})`, () => {
    let t: TestContext;
    beforeAll(async () => {
      t = await makeContext(adapter);
    });
    afterAll(async () => {
      await t.close();
    });

    it('follows updates and deletes of message_search (re-parse, garbage collection)', async () => {
      await accounts.addDomain(t.ctx, 'example.com', cli);
      const bob = (await accounts.addAccount(t.ctx, { address: 'bob@example.com' }, cli)).id;
      const inbox = (await listMailboxes(t.ctx, bob)).find((b) => b.role === 'inbox')!.id;
      const raw = (body: string) => crlf(['From: a@example.org', 'Subject: s', '', body, '']);
      const [a] = await storeMessage(t.ctx, raw('original wording here'), [{ accountId: bob, mailboxId: inbox }]);
      await storeMessage(t.ctx, raw('another text'), [{ accountId: bob, mailboxId: inbox }]);
      const body = (v: string) => searchMessages(t.ctx, bob, inbox, { op: 'text', field: 'body', value: v });
      const count = async (table: string) => Number((await t.ctx.store.read((q) => q.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)))?.n);
      // Found while waiting for the background indexer, and after it ran.
      expect(await body('original wording')).toEqual([1]);
      if (adapter === 'sqlite') {
        expect(await count('message_search_pending')).toBe(2);
        expect(await indexPendingText(t.ctx)).toBe(2);
        expect(await count('message_search_pending')).toBe(0);
        expect(await count('message_search_docs')).toBe(2);
      }
      expect(await body('original wording')).toEqual([1]);
      if (!a?.ok) throw new Error('store failed');
      // As reparse.ts does when the parser improves.
      await t.ctx.store.write((q) => q.run('UPDATE message_search SET body = ? WHERE message_id = ?', ['replacement wording', a.emailId]));
      expect(await body('original wording')).toEqual([]);
      expect(await body('replacement wording')).toEqual([1]);
      await indexPendingText(t.ctx);
      expect(await body('original wording')).toEqual([]);
      expect(await body('replacement wording')).toEqual([1]);
      // As gc.ts does for a message past retention (here while still listed, to observe it).
      await t.ctx.store.write((q) => q.run('DELETE FROM message_search WHERE message_id = ?', [a.emailId]));
      expect(await body('replacement wording')).toEqual([]);
      expect(await body('another text')).toEqual([2]);
      if (adapter === 'sqlite') {
        expect(await count('message_search_docs')).toBe(1);
        expect(await count('message_search_pending')).toBe(0);
      }
    });
  });
}

describe('text scans of large mailboxes in windows (sqlite)', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await makeContext('sqlite');
  });
  afterAll(async () => {
    await t.close();
  });

  it('gives the same answers across window boundaries, indexed or not', async () => {
    await accounts.addDomain(t.ctx, 'example.com', cli);
    const bob = (await accounts.addAccount(t.ctx, { address: 'bob@example.com' }, cli)).id;
    const inbox = (await listMailboxes(t.ctx, bob)).find((b) => b.role === 'inbox')!.id;
    // More messages than one window (2,000); "quokka" in the first and the last, "zz" in every 500th.
    const N = 2300;
    for (let i = 0; i < N; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, N - i) }, (_, k) => {
          const n = i + k + 1;
          const body = `${n === 1 || n === N ? 'a quokka smiles' : 'plain words'} ${n % 500 === 0 ? 'zz' : ''} common`;
          return storeMessage(t.ctx, crlf([`From: s${n}@example.org`, `Subject: m${n}`, '', body, '']), [{ accountId: bob, mailboxId: inbox, flags: n % 2 ? ['\\Seen'] : [] }]);
        }),
      );
    }
    // The oracle: every message's stored text and flags, tested in JavaScript.
    const rows = await t.ctx.store.read((q) =>
      q.all<{ uid: number; body: string; flags: string }>(
        'SELECT mm.uid AS uid, s.body AS body, mm.flags AS flags FROM mailbox_messages mm JOIN message_search s ON s.message_id = mm.message_id WHERE mm.mailbox_id = ? ORDER BY mm.uid',
        [inbox],
      ),
    );
    expect(rows).toHaveLength(N);
    const expected = (needle: string, unseenOnly = false) => rows.filter((r) => r.body.toLowerCase().includes(needle) && (!unseenOnly || !r.flags.includes('Seen'))).map((r) => Number(r.uid));
    const body = (v: string) => searchMessages(t.ctx, bob, inbox, { op: 'text', field: 'body', value: v });
    for (const indexed of [false, true]) {
      if (indexed) while ((await indexPendingText(t.ctx)) > 0);
      expect(expected('quokka')).toHaveLength(2);
      expect(await body('QUOKKA')).toEqual(expected('quokka'));
      expect(expected('zz')).toHaveLength(4);
      expect(await body('zz')).toEqual(expected('zz'));
      expect(await body('common')).toEqual(expected('common'));
      const unseenCommon = await searchMessages(t.ctx, bob, inbox, { op: 'and', keys: [{ op: 'flag', flag: '\\Seen', set: false }, { op: 'text', field: 'body', value: 'common' }] });
      expect(unseenCommon).toEqual(expected('common', true));
      expect(unseenCommon).toHaveLength(N / 2);
    }
  }, 60_000);
});

describe('search index migration (sqlite)', () => {
  it('indexes the messages stored before the migration', async () => {
    const { SqliteStore } = await import('../src/store/sqlite/store.js');
    const { MIGRATIONS, ddl, migrate } = await import('../src/store/migrations/index.js');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-search-mig-'));
    const store = new SqliteStore({ path: join(dir, 'db') });
    try {
      // Version 1 only, as an installation from before the search index has it.
      const v1 = MIGRATIONS.find((m) => m.version === 1)!;
      await store.write(async (q) => {
        await q.run('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
        for (const stmt of ddl(v1.sql, 'sqlite').split(/;\s*\n/).map((s) => s.trim()).filter(Boolean)) await q.run(stmt);
        await q.run("INSERT INTO schema_migrations VALUES (1, 'foundation', 0)");
        await q.run("INSERT INTO domains VALUES ('d1', 'example.com', 0, NULL)");
        await q.run("INSERT INTO accounts (id, domain_id, kind, address, created_at) VALUES ('a1', 'd1', 'individual', 'bob@example.com', 0)");
        await q.run("INSERT INTO mailboxes (id, account_id, name, role, uid_validity, created_at) VALUES ('m1', 'a1', 'INBOX', 'inbox', 1, 0)");
        await q.run("INSERT INTO blobs VALUES ('b1', 10, 1, 0, NULL)");
        for (const [i, text] of ['old mail about tulips', 'old mail about roses'].entries()) {
          await q.run(`INSERT INTO messages (id, account_id, blob_id, size, received_at, thread_id, parse_version, structure, created_modseq) VALUES (?, 'a1', 'b1', 10, 0, 't', 1, '{}', 1)`, [`e${i}`]);
          await q.run("INSERT INTO message_search VALUES (?, 'a1', 'Subject: x', ?)", [`e${i}`, text]);
          await q.run("INSERT INTO mailbox_messages (mailbox_id, uid, message_id, account_id, size, modseq, saved_at) VALUES ('m1', ?, ?, 'a1', 10, 1, 0)", [i + 1, `e${i}`]);
        }
      });
      expect(await migrate(store, () => 0)).toContain(2);
      const { FakeClock } = await import('../src/core/clock.js');
      const { defaultSettings, silentLogger } = await import('../src/core/context.js');
      const { LocalBus } = await import('../src/store/bus/local.js');
      const ctx = { clock: new FakeClock(), store, blobs: undefined as never, bus: new LocalBus(), log: silentLogger, settings: defaultSettings };
      expect(await searchMessages(ctx, 'a1', 'm1', { op: 'text', field: 'body', value: 'ROSES' })).toEqual([2]);
      expect(await searchMessages(ctx, 'a1', 'm1', { op: 'text', field: 'text', value: 'old mail' })).toEqual([1, 2]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
