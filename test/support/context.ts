/** Builds a core Context on a real store in a temporary folder, for tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../src/core/clock.js';
import { defaultSettings, silentLogger, type Context, type CoreSettings } from '../../src/core/context.js';
import { FsBlobStore } from '../../src/store/blobs/fs.js';
import { LocalBus } from '../../src/store/bus/local.js';
import { migrate } from '../../src/store/migrations/index.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/port.js';

/** A test context and the means to dispose of it. */
export interface TestContext {
  ctx: Context;
  clock: FakeClock;
  dir: string;
  close(): Promise<void>;
}

/** Which store adapters the contract suite runs against. */
export type AdapterName = 'sqlite' | 'postgres';

/** The adapters available in this run; PostgreSQL only when BULWARK_TEST_PG is set. */
export function adapters(): AdapterName[] {
  return process.env.BULWARK_TEST_PG ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** Makes a fresh context on the named adapter. */
export async function makeContext(adapter: AdapterName = 'sqlite', settings: Partial<CoreSettings> = {}): Promise<TestContext> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-test-'));
  const clock = new FakeClock();
  let store: Store;
  let dropSchema: (() => Promise<void>) | null = null;
  if (adapter === 'sqlite') {
    store = new SqliteStore({ path: join(dir, 'bulwark.db') });
    await migrate(store, () => clock.now());
  } else {
    const { createPgTestSchema } = await import('./pg.js');
    const { createPostgresStore } = await import('../../src/store/postgres/index.js');
    const schema = await createPgTestSchema();
    store = await createPostgresStore({ url: schema.url, schema: schema.schema });
    dropSchema = schema.drop;
  }
  const merged = { ...defaultSettings, ...settings };
  const blobs = new FsBlobStore(join(dir, 'blobs'), merged.gcGraceMs, () => clock.now());
  await blobs.init();
  const bus = new LocalBus();
  const ctx: Context = { clock, store, blobs, bus, log: silentLogger, settings: merged };
  return {
    ctx,
    clock,
    dir,
    async close() {
      await store.close();
      await bus.close();
      if (dropSchema) await dropSchema();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A small RFC 5322 message for tests. */
export function testMessage(opts: { subject?: string; messageId?: string; inReplyTo?: string; body?: string; from?: string; to?: string } = {}): Uint8Array {
  const lines = [
    `From: ${opts.from ?? 'Alice <alice@example.org>'}`,
    `To: ${opts.to ?? 'bob@example.com'}`,
    `Subject: ${opts.subject ?? 'Hello'}`,
    'Date: Thu, 26 Nov 2026 10:00:00 +0000',
    `Message-ID: ${opts.messageId ?? `<${Math.random().toString(36).slice(2)}@example.org>`}`,
    ...(opts.inReplyTo ? [`In-Reply-To: ${opts.inReplyTo}`, `References: ${opts.inReplyTo}`] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body ?? 'Hello Bob, this is a test.',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}
