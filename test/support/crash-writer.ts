/**
 * A load generator for the crash test: opens a data folder's store the way the server does
 * and stores messages concurrently, printing "ack <emailId>" after each write resolved (the
 * moment a protocol would answer OK). The test SIGKILLs it mid-burst.
 * Usage: tsx crash-writer.ts DATA_DIR ACCOUNT_ID [CONCURRENCY]
 */
import { systemClock } from '../../src/core/clock.js';
import { defaultSettings, silentLogger, type Context } from '../../src/core/context.js';
import { storeMessage } from '../../src/core/mail/store.js';
import { setFlags } from '../../src/core/mail/messages.js';
import { openStorage } from '../../src/store/index.js';

const [dataDir, accountId, concurrencyText] = process.argv.slice(2);
const concurrency = Number(concurrencyText ?? 16);
const storage = await openStorage({
  dataDir: dataDir!,
  store: { type: 'sqlite', url: '' },
  blobs: { type: 'fs' },
  bus: { type: 'local' },
  blobPinMs: 3_600_000,
  now: () => Date.now(),
});
const ctx: Context = { clock: systemClock, store: storage.store, blobs: storage.blobs, bus: storage.bus, log: silentLogger, settings: defaultSettings };
let n = 0;
async function worker(w: number): Promise<void> {
  for (;;) {
    const i = n++;
    const body = `message ${i} from worker ${w}\r\n`.repeat(1 + (i % 50));
    const raw = Buffer.from(`From: a@example.org\r\nTo: b@example.com\r\nSubject: crash ${i}\r\nMessage-ID: <crash-${i}@x>\r\n\r\n${body}`);
    const [o] = await storeMessage(ctx, raw, [{ accountId: accountId!, flags: i % 3 ? [] : ['\\Seen'] }]);
    if (o?.ok) {
      process.stdout.write(`ack ${o.emailId} ${o.uid} ${raw.byteLength}\n`);
      if (i % 7 === 0) await setFlags(ctx, accountId!, o.mailboxId, [o.uid], 'add', ['\\Flagged']);
    }
  }
}
process.stdout.write('ready\n');
await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
