import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgTestSchema, pgTestUrl, type PgTestSchema } from '../../../test/support/pg.js';
import { TooLarge } from '../../core/errors.js';
import { createPostgresBlobStore, PostgresBlobStore } from './blobs.js';

if (!pgTestUrl()) console.warn('BULWARK_TEST_PG not set: skipping PostgreSQL tests');

const HOUR = 3_600_000;

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe.skipIf(!pgTestUrl())('PostgresBlobStore', () => {
  let t: PgTestSchema;
  let blobs: PostgresBlobStore;
  let now = Date.UTC(2026, 0, 1);

  beforeAll(async () => {
    t = await createPgTestSchema();
    blobs = await createPostgresBlobStore({ url: t.url, schema: t.schema, now: () => now, pinMs: HOUR, listPageSize: 3 });
  });

  afterAll(async () => {
    await blobs?.close();
    await t?.drop();
  });

  it('stores bytes under their SHA-256 and gives them back', async () => {
    const data = Buffer.from('Subject: hi\r\n\r\nhello\r\n');
    const ref = await blobs.put(data);
    expect(ref).toEqual({ id: sha256(data), size: data.length });
    expect(Buffer.from((await blobs.get(ref.id))!).equals(data)).toBe(true);
    expect(await blobs.has(ref.id)).toBe(true);
    expect(await blobs.get('0'.repeat(64))).toBeUndefined();
    expect(await blobs.has('0'.repeat(64))).toBe(false);
  });

  it('keeps binary bytes exactly, including a Uint8Array view into a larger buffer', async () => {
    const all = new Uint8Array(300).map((_, i) => i % 256);
    const view = all.subarray(7, 263);
    const ref = await blobs.put(view);
    expect([...(await blobs.get(ref.id))!]).toEqual([...view]);
  });

  it('answers byte ranges, clamping the end to the size', async () => {
    const ref = await blobs.put(Buffer.from('0123456789'));
    expect(Buffer.from((await blobs.getRange(ref.id, 2, 5))!).toString()).toBe('234');
    expect(Buffer.from((await blobs.getRange(ref.id, 8, 100))!).toString()).toBe('89');
    expect(Buffer.from((await blobs.getRange(ref.id, 0, 10))!).toString()).toBe('0123456789');
    expect((await blobs.getRange(ref.id, 20, 30))!.length).toBe(0);
    expect((await blobs.getRange(ref.id, 5, 3))!.length).toBe(0);
    expect(await blobs.getRange('f'.repeat(64), 0, 3)).toBeUndefined();
  });

  it('refuses ids that are not SHA-256 hex', async () => {
    await expect(blobs.get('../etc/passwd')).rejects.toThrow(/invalid blob id/);
  });

  it('stores one copy of equal bytes, and a second put refreshes its pin', async () => {
    const data = Buffer.from('same bytes');
    const first = await blobs.put(data);
    now += 2 * HOUR;
    // Old enough to delete, but a second put of the same bytes pins it again.
    const second = await blobs.put(data);
    expect(second).toEqual(first);
    expect(await blobs.delete(first.id)).toBe(false);
    expect(await blobs.has(first.id)).toBe(true);
    const listed = (await collect(blobs.list())).filter((b) => b.id === first.id);
    expect(listed).toEqual([{ id: first.id, writtenAtMs: now }]);
  });

  it('keeps a blob put within pinMs and deletes it after', async () => {
    const ref = await blobs.put(Buffer.from('pinned for a while'));
    now += HOUR - 1;
    expect(await blobs.delete(ref.id)).toBe(false);
    expect(await blobs.has(ref.id)).toBe(true);
    now += 1;
    expect(await blobs.delete(ref.id)).toBe(true);
    expect(await blobs.has(ref.id)).toBe(false);
    expect(await blobs.get(ref.id)).toBeUndefined();
    // A missing blob counts as deleted.
    expect(await blobs.delete(ref.id)).toBe(true);
  });

  it('stores a stream, and refuses one over maxBytes keeping nothing', async () => {
    const ref = await blobs.putStream(chunks('abc', 'def', 'g'), 7);
    expect(ref).toEqual({ id: sha256(Buffer.from('abcdefg')), size: 7 });
    expect(Buffer.from((await blobs.get(ref.id))!).toString()).toBe('abcdefg');
    let ended = false;
    async function* tooMuch(): AsyncIterable<Uint8Array> {
      try {
        yield Buffer.from('abcd');
        yield Buffer.from('efgh');
        yield Buffer.from('never read');
      } finally {
        ended = true;
      }
    }
    await expect(blobs.putStream(tooMuch(), 7)).rejects.toBeInstanceOf(TooLarge);
    expect(ended).toBe(true);
    expect(await blobs.has(sha256(Buffer.from('abcdefgh')))).toBe(false);
  });

  it('lists every blob with its write time, page by page', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 8; i++) ids.add((await blobs.put(Buffer.from(`list ${i}`))).id);
    const listed = await collect(blobs.list());
    const listedIds = listed.map((b) => b.id);
    expect(new Set(listedIds).size).toBe(listedIds.length);
    for (const id of ids) expect(listedIds).toContain(id);
    expect([...listedIds].sort()).toEqual(listedIds);
    for (const b of listed) expect(typeof b.writtenAtMs).toBe('number');
  });

  it('creates its table once even when two stores start together', async () => {
    const t2 = await createPgTestSchema();
    try {
      const [a, b] = await Promise.all([
        createPostgresBlobStore({ url: t2.url, schema: t2.schema }),
        createPostgresBlobStore({ url: t2.url, schema: t2.schema }),
      ]);
      const ref = await a.put(Buffer.from('shared'));
      expect(await b.has(ref.id)).toBe(true);
      await a.close();
      await b.close();
    } finally {
      await t2.drop();
    }
  });
});
