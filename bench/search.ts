/**
 * bench/search: searchMessages per second over one mailbox of N messages (default 10,000),
 * for each store adapter, by key type: a flag, a rare body word (index path), a common word
 * (index path, many candidates), a two-letter substring (bounded scan), a header field, and a
 * combination. Prints one line per key and adapter, then one summary line last. PostgreSQL
 * runs too when BULWARK_TEST_PG is set.
 *   npx tsx bench/search.ts [--messages N] [--seconds S]
 */
import { parseArgs } from 'node:util';
import { searchMessages } from '../src/core/mail/search.js';
import { indexAllPending } from '../src/core/mail/search-index.js';
import type { SearchKey } from '../src/core/mail/search-types.js';
import { storeMessage } from '../src/core/mail/store.js';
import type { Store } from '../src/store/port.js';
import { benchAccount, forEachAdapter } from './adapters.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '10000' }, seconds: { type: 'string', default: '2' } } });
const N = Number(values.messages);
const SECONDS = Number(values.seconds);
const CONCURRENCY = 64;

const WORDS = 'the quick brown fox jumps over lazy dog report meeting budget invoice été naïve über café project deadline schedule review'.split(' ');

/** A deterministic pseudo-random sequence, so both adapters store the same mail. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function message(i: number, rand: () => number): Uint8Array {
  const words = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
  const body = Array.from({ length: 20 }, () => words(12)).join('\r\n') + (i % 1000 === 7 ? '\r\nzebracorn' : '');
  return Buffer.from(
    [`From: User ${i % 50} <user${i % 50}@example.org>`, 'To: load@bench.example', `Subject: ${words(5)}`, 'Date: Mon, 02 Mar 2026 10:00:00 +0000', `Message-ID: <b${i}@example.org>`, 'Content-Type: text/plain; charset=utf-8', '', body, ''].join('\r\n'),
  );
}

const KEYS: Array<[string, SearchKey]> = [
  ['flag', { op: 'flag', flag: '\\Seen', set: false }],
  ['body rare word', { op: 'text', field: 'body', value: 'zebracorn' }],
  ['body common word', { op: 'text', field: 'body', value: 'budget' }],
  ['body 2 chars (scan)', { op: 'text', field: 'body', value: 'zq' }],
  ['from', { op: 'text', field: 'from', value: 'user42@' }],
  ['and(flag, subject)', { op: 'and', keys: [{ op: 'flag', flag: '\\Flagged', set: true }, { op: 'text', field: 'subject', value: 'meeting' }] }],
];

async function bench(name: string, store: Store, dir: string): Promise<{ name: string; perKey: Array<[string, number]> }> {
  const { ctx, accountId, inboxId: inbox } = await benchAccount(store, dir);
  const rand = rng(42);
  const raws = Array.from({ length: N }, (_, i) => message(i, rand));
  const t0 = performance.now();
  for (let i = 0; i < N; i += CONCURRENCY) {
    await Promise.all(raws.slice(i, i + CONCURRENCY).map((raw, k) => storeMessage(ctx, raw, [{ accountId: accountId, mailboxId: inbox, flags: (i + k) % 3 === 0 ? ['\\Seen'] : (i + k) % 10 === 1 ? ['\\Flagged'] : [] }])));
  }
  console.log(`${name}: stored ${N} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // The server's background indexer would have caught up by now (search-index.ts); until it
  // has, every message waiting for it is a candidate of every text search.
  await indexAllPending(ctx, 600_000);
  // Fresh statistics, as autovacuum (PostgreSQL) would have gathered them on a live server;
  // without them the planner guesses a tiny table and scans it.
  await store.write((q) => q.run('ANALYZE'));
  const perKey: Array<[string, number]> = [];
  for (const [label, key] of KEYS) {
    let runs = 0;
    let hits = 0;
    const start = performance.now();
    while (performance.now() - start < SECONDS * 1000) {
      hits = (await searchMessages(ctx, accountId, inbox, key)).length;
      runs++;
    }
    const rate = runs / ((performance.now() - start) / 1000);
    perKey.push([label, rate]);
    console.log(`${name}: ${label}: ${rate.toFixed(1)} searches/s (${hits} hits of ${N})`);
  }
  return { name, perKey };
}

const results = await forEachAdapter(bench);
console.log('summary: ' + results.map((r) => `${r.name} ${r.perKey.map(([k, v]) => `${k} ${v.toFixed(0)}/s`).join(', ')}`).join('; '));
