/**
 * bench/store: message-metadata writes/s and reads/s through core, for each store adapter.
 *
 * Writes: N messages stored concurrently (C at a time) into one account's INBOX through
 * storeMessage (blob fsync + metadata commit, as a delivery does). Reads: listing the mailbox
 * and reading message records by id. Prints latency percentiles and memory, then one summary
 * line last. PostgreSQL runs too when BULWARK_TEST_PG is set.
 *   npx tsx bench/store.ts [--messages N] [--concurrency C]
 */
import { parseArgs } from 'node:util';
import { ensureThreadPool } from './threadpool.js';
import { getEmail, listMessages } from '../src/core/mail/messages.js';
import { storeMessage } from '../src/core/mail/store.js';
import type { Store } from '../src/store/port.js';
import { benchAccount, forEachAdapter } from './adapters.js';

ensureThreadPool();
const { values } = parseArgs({ options: { messages: { type: 'string', default: '3000' }, concurrency: { type: 'string', default: '32' } } });
const N = Number(values.messages);
const C = Number(values.concurrency);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function bench(name: string, store: Store, dir: string): Promise<{ name: string; writes: number; reads: number }> {
  const { ctx, accountId } = await benchAccount(store, dir);

  const lat: number[] = [];
  const ids: string[] = [];
  let mailboxId = '';
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      for (;;) {
        const i = next++;
        if (i >= N) return;
        const raw = Buffer.from(`From: a@example.org\r\nTo: load@bench.example\r\nSubject: bench ${i}\r\nMessage-ID: <b${i}@x>\r\n\r\n${'body line\r\n'.repeat(20 + (i % 100))}`);
        const s = performance.now();
        const [o] = await storeMessage(ctx, raw, [{ accountId: accountId }]);
        lat.push(performance.now() - s);
        if (!o?.ok) throw new Error('store failed');
        ids.push(o.emailId);
        mailboxId = o.mailboxId;
      }
    }),
  );
  const writeSecs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);

  const readLat: number[] = [];
  const r0 = performance.now();
  let reads = 0;
  await Promise.all(
    Array.from({ length: C }, async (_, w) => {
      for (let i = w; i < ids.length; i += C) {
        const s = performance.now();
        await getEmail(ctx, accountId, ids[i]!);
        readLat.push(performance.now() - s);
        reads++;
      }
    }),
  );
  const listStart = performance.now();
  const listed = await listMessages(ctx, accountId, mailboxId);
  const listMs = performance.now() - listStart;
  const readSecs = (performance.now() - r0) / 1000;
  readLat.sort((a, b) => a - b);
  const writes = N / writeSecs;
  const readsPerSec = reads / readSecs;
  const rss = process.memoryUsage().rss / 1024 / 1024;
  console.log(`${name}: stored ${N} messages at concurrency ${C} in ${writeSecs.toFixed(2)} s = ${writes.toFixed(0)} writes/s; latency p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`);
  console.log(`${name}: read ${reads} message records = ${readsPerSec.toFixed(0)} reads/s; latency p50 ${pct(readLat, 50).toFixed(2)} ms, p99 ${pct(readLat, 99).toFixed(2)} ms; listing ${listed.length} messages took ${listMs.toFixed(1)} ms; rss ${rss.toFixed(0)} MiB`);
  return { name, writes, reads: readsPerSec };
}

const results = await forEachAdapter(bench);
console.log('summary: ' + results.map((r) => `${r.name} ${r.writes.toFixed(0)} writes/s ${r.reads.toFixed(0)} reads/s`).join('; '));
