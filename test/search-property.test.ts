/**
 * Property test of searchMessages: random small mailboxes and random query trees, compared
 * with a naive in-memory evaluator written straight from RFC 9051 §6.4.4 (and RFC 5032,
 * RFC 7162, RFC 8474, RFC 8514), on every store adapter.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as accounts from '../src/core/accounts/index.js';
import { normaliseFlags } from '../src/core/mail/flags.js';
import { createMailbox } from '../src/core/mail/mailboxes.js';
import { searchMessages } from '../src/core/mail/search.js';
import { indexPendingText } from '../src/core/mail/search-index.js';
import type { SearchKey, TextField } from '../src/core/mail/search-types.js';
import { storeMessage } from '../src/core/mail/store.js';
import { parseMessage } from '../src/mime/index.js';
import { adapters, makeContext, type TestContext } from './support/context.js';

const cli = { name: 'cli:test', protocol: 'cli' };
const DAY = 86_400_000;
const BASE = Date.UTC(2026, 4, 10);

const WORDS = ['alpha', 'Beta', 'été', 'ÉTÉ', 'über', 'straße', 'Привет', 'мир', 'κόσμος', 'ΣΟΦΙΑ', '日本語', 'ab', 'zz', 'x-y', 'Ꭰꭰꭱ', 'ⴀⴁⴂ', 'İstanbul', 'ǅemal', 'ᏣᎳᎩ', 'ꮳꮃꭹ', '\u212Aelvin', 'kelvin', 'KEY'];
const FLAGS = ['\\Seen', '\\Flagged', '\\Answered', '\\Deleted', '\\Draft', 'Work', '$Label1', 'todo'];
const FIELDS: TextField[] = ['body', 'text', 'subject', 'from', 'to', 'cc', 'bcc'];
const ZONES = ['+0000', '-0500', '+1400', '-1100', '+0930'];

interface GenMessage {
  subject: string[];
  body: string[];
  fromName: string;
  cc: boolean;
  tag: string | null;
  flags: string[];
  receivedDay: number;
  receivedMs: number;
  /** Days from BASE, hour, zone of the Date header; null: no Date header. */
  date: { day: number; hour: number; zone: string } | null;
  encodeSubject: boolean;
}

interface Model {
  uid: number;
  flags: string[];
  size: number;
  receivedAt: number;
  savedAt: number;
  /** Written calendar day of the Date header (00:00 UTC of it), or null. */
  sentDay: number | null;
  modseq: number;
  emailId: string;
  threadId: string;
  headers: string;
  body: string;
}

const genMessage: fc.Arbitrary<GenMessage> = fc.record({
  subject: fc.array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 3 }),
  body: fc.array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 6 }),
  fromName: fc.constantFrom(...WORDS),
  cc: fc.boolean(),
  tag: fc.option(fc.constantFrom(...WORDS), { nil: null }),
  flags: fc.subarray(FLAGS),
  receivedDay: fc.integer({ min: 0, max: 4 }),
  receivedMs: fc.integer({ min: 0, max: DAY - 1 }),
  date: fc.option(fc.record({ day: fc.integer({ min: 0, max: 4 }), hour: fc.integer({ min: 0, max: 23 }), zone: fc.constantFrom(...ZONES) }), { nil: null }),
  encodeSubject: fc.boolean(),
});

function rawOf(g: GenMessage, i: number): Buffer {
  const subject = g.subject.join(' ');
  const d = g.date ? new Date(BASE + g.date.day * DAY) : null;
  const mon = d ? ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()] : '';
  const lines = [
    `From: ${g.fromName} <sender${i}@example.org>`,
    'To: bob@example.com',
    ...(g.cc ? [`Cc: cc${i}@example.net`] : []),
    `Subject: ${g.encodeSubject && subject ? `=?UTF-8?B?${Buffer.from(subject).toString('base64')}?=` : subject}`,
    ...(d && g.date ? [`Date: ${d.getUTCDate()} ${mon} ${d.getUTCFullYear()} ${String(g.date.hour).padStart(2, '0')}:30:00 ${g.date.zone}`] : []),
    `Message-ID: <p${i}.${Math.random().toString(36).slice(2)}@example.org>`,
    ...(g.tag !== null ? [`X-Tag: ${g.tag}`] : []),
    'Content-Type: text/plain; charset=utf-8',
    '',
    g.body.join(' '),
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

// The naive evaluator: everything by hand, per message.
const fold = (s: string) => [...s].map((c) => (([...c.toLowerCase()].length === 1 ? c.toLowerCase() : c))).join('');
const has = (text: string, needle: string) => fold(text).includes(fold(needle));

function headerValues(headers: string, field: string): string[] {
  return headers
    .split('\n')
    .filter((l) => l.includes(':') && l.slice(0, l.indexOf(':')).toLowerCase() === field.toLowerCase())
    .map((l) => l.slice(l.indexOf(':') + 1).replace(/^ /, ''));
}

function naive(key: SearchKey, m: Model, maxUid: number, nowMs: number): boolean {
  switch (key.op) {
    case 'all':
      return true;
    case 'and':
      return key.keys.every((k) => naive(k, m, maxUid, nowMs));
    case 'or':
      return naive(key.a, m, maxUid, nowMs) || naive(key.b, m, maxUid, nowMs);
    case 'not':
      return !naive(key.key, m, maxUid, nowMs);
    case 'flag':
      return m.flags.some((f) => f.toLowerCase() === key.flag.toLowerCase()) === key.set;
    case 'uid':
      return key.ranges.some(([lo, hi]) => {
        const a = lo === Infinity ? maxUid : lo;
        const b = hi === Infinity ? maxUid : hi;
        return m.uid >= Math.min(a, b) && m.uid <= Math.max(a, b);
      });
    case 'header':
      return headerValues(m.headers, key.field).some((v) => has(v, key.value));
    case 'text':
      if (key.field === 'body') return has(m.body, key.value);
      if (key.field === 'text') return has(m.headers, key.value) || has(m.body, key.value);
      return headerValues(m.headers, key.field).some((v) => has(v, key.value));
    case 'size':
      return key.cmp === 'larger' ? m.size > key.bytes : m.size < key.bytes;
    case 'date': {
      const target = Date.parse(`${key.day}T00:00:00Z`);
      const at = key.which === 'internal' ? m.receivedAt : key.which === 'saved' ? m.savedAt : m.sentDay;
      if (at === null) return false;
      const day = Math.floor(at / DAY) * DAY;
      return key.cmp === 'before' ? day < target : key.cmp === 'on' ? day === target : day >= target;
    }
    case 'age': {
      const target = Math.floor(nowMs / 1000) - key.seconds;
      const sec = Math.floor(m.receivedAt / 1000);
      return key.cmp === 'older' ? sec <= target : sec >= target;
    }
    case 'modseq':
      return m.modseq >= key.min;
    case 'emailid':
      return m.emailId === key.id;
    case 'threadid':
      return m.threadId === key.id;
  }
}

// Needles: a word, or a slice of one (often under three characters), in some case.
const genNeedle = fc
  .tuple(fc.constantFrom(...WORDS, 'example', 'sender1', '@example.org'), fc.nat(), fc.nat(), fc.constantFrom('same', 'upper', 'lower'))
  .map(([w, a, b, c]) => {
    const chars = [...w];
    const i = a % chars.length;
    const j = i + 1 + (b % (chars.length - i));
    const s = b % 3 === 0 ? w : chars.slice(i, j).join('');
    return c === 'upper' ? s.toUpperCase() : c === 'lower' ? s.toLowerCase() : s;
  });
const genDay = fc.integer({ min: -1, max: 5 }).map((d) => new Date(BASE + d * DAY).toISOString().slice(0, 10));

/** Keys with placeholders "#n" for ids, resolved against the mailbox after it is stored. */
const genKey: fc.Arbitrary<SearchKey> = fc.letrec<{ key: SearchKey }>((tie) => ({
  key: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant<SearchKey>({ op: 'all' }),
    fc.record({ op: fc.constant('flag' as const), flag: fc.constantFrom(...FLAGS, 'WORK', '\\seen', 'none'), set: fc.boolean() }),
    fc.record({
      op: fc.constant('uid' as const),
      ranges: fc.array(fc.tuple(fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constant(Infinity)), fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constant(Infinity))), { maxLength: 3 }),
    }),
    fc.record({ op: fc.constant('text' as const), field: fc.constantFrom(...FIELDS), value: genNeedle }),
    fc.record({ op: fc.constant('header' as const), field: fc.constantFrom('Subject', 'x-tag', 'FROM', 'X-Missing', 'Date'), value: fc.oneof(genNeedle, fc.constant('')) }),
    fc.record({ op: fc.constant('size' as const), cmp: fc.constantFrom('larger' as const, 'smaller' as const), bytes: fc.integer({ min: 150, max: 400 }) }),
    fc.record({
      op: fc.constant('date' as const),
      which: fc.constantFrom('internal' as const, 'sent' as const, 'saved' as const),
      cmp: fc.constantFrom('before' as const, 'on' as const, 'since' as const),
      day: genDay,
    }),
    fc.record({ op: fc.constant('age' as const), cmp: fc.constantFrom('older' as const, 'younger' as const), seconds: fc.integer({ min: 0, max: 5 * 86_400 }) }),
    fc.record({ op: fc.constant('modseq' as const), min: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ op: fc.constant('emailid' as const), id: fc.nat({ max: 9 }).map((n) => `#${n}`) }),
    fc.record({ op: fc.constant('threadid' as const), id: fc.nat({ max: 9 }).map((n) => `#${n}`) }),
    fc.record({ op: fc.constant('and' as const), keys: fc.array(tie('key'), { maxLength: 3 }) }),
    fc.record({ op: fc.constant('or' as const), a: tie('key'), b: tie('key') }),
    fc.record({ op: fc.constant('not' as const), key: tie('key') }),
  ),
})).key;

function resolveIds(key: SearchKey, models: Model[]): SearchKey {
  switch (key.op) {
    case 'and':
      return { op: 'and', keys: key.keys.map((k) => resolveIds(k, models)) };
    case 'or':
      return { op: 'or', a: resolveIds(key.a, models), b: resolveIds(key.b, models) };
    case 'not':
      return { op: 'not', key: resolveIds(key.key, models) };
    case 'emailid':
    case 'threadid': {
      const n = Number(key.id.slice(1));
      const m = models[n];
      const id = m ? (key.op === 'emailid' ? m.emailId : m.threadId) : 'zNone';
      return { op: key.op, id } as SearchKey;
    }
    default:
      return key;
  }
}

for (const adapter of adapters()) {
  describe(`search property (${adapter})`, () => {
    let t: TestContext;
    let bob: string;
    let boxes = 0;

    beforeAll(async () => {
      t = await makeContext(adapter);
      await accounts.addDomain(t.ctx, 'example.com', cli);
      bob = (await accounts.addAccount(t.ctx, { address: 'bob@example.com' }, cli)).id;
    });
    afterAll(async () => {
      await t.close();
    });

    it('searchMessages agrees with a naive evaluator on random mailboxes and queries', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(genMessage, { minLength: 1, maxLength: 8 }), fc.array(genKey, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 6 * DAY }), fc.nat(), async (gens, keys, nowOffset, split) => {
          // The first `indexed` messages go through the background indexer; the rest stay pending.
          const indexed = split % (gens.length + 1);
          const mailboxId = await createMailbox(t.ctx, bob, `P${++boxes}`);
          const models: Model[] = [];
          for (const [i, g] of gens.entries()) {
            const raw = rawOf(g, i);
            t.clock.advance(3_600_000 * 7);
            const savedAt = t.clock.now();
            const receivedAt = BASE + g.receivedDay * DAY + g.receivedMs;
            const [o] = await storeMessage(t.ctx, raw, [{ accountId: bob, mailboxId, flags: g.flags }], { receivedAt });
            if (!o?.ok) throw new Error('store failed');
            if (i + 1 === indexed) while ((await indexPendingText(t.ctx)) > 0);
            const parsed = parseMessage(raw);
            models.push({
              uid: o.uid,
              flags: normaliseFlags(g.flags).split(' ').filter(Boolean),
              size: raw.byteLength,
              receivedAt,
              savedAt,
              sentDay: g.date ? BASE + g.date.day * DAY : null,
              modseq: o.modseq,
              emailId: o.emailId,
              threadId: o.threadId,
              headers: parsed.searchText.headers,
              body: parsed.searchText.body,
            });
          }
          const maxUid = Math.max(...models.map((m) => m.uid));
          const nowMs = BASE + nowOffset;
          for (const raw of keys) {
            const key = resolveIds(raw, models);
            const want = models.filter((m) => naive(key, m, maxUid, nowMs)).map((m) => m.uid);
            const got = await searchMessages(t.ctx, bob, mailboxId, key, { nowMs });
            if (JSON.stringify(got) !== JSON.stringify(want)) {
              throw new Error(`mismatch for ${JSON.stringify(key, (_k, v: unknown) => (v === Infinity ? '*' : v))}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
            }
          }
        }),
        { numRuns: adapter === 'sqlite' ? 60 : 30 },
      );
      expect(boxes).toBeGreaterThan(0);
    });
  });
}
