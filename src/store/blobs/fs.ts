/**
 * Filesystem adapter of the BlobStore port: content-addressed by SHA-256.
 *
 * Layout: `<root>/ab/cd/abcdef…` (the first two byte pairs of the hex digest as folders), and
 * `<root>/tmp/` for writes in progress. A write goes to a temporary file, is fsynced, renamed
 * to its final name, and the folder is fsynced, all before `put` resolves; so once the caller
 * commits metadata that points at the blob, a crash cannot lose it. A blob that exists already
 * is not written again (dedup). Names come only from hashes: no request chooses a path
 * (DESIGN.md rule 4).
 *
 * Reads: small blobs (most mail) are kept in a bounded in-memory LRU after they are written or
 * first read, so FETCH of headers and small bodies costs no file I/O. Blobs are immutable
 * (named by their hash), so a cached copy can never be stale; a delete drops the entry and a
 * read that raced with a delete does not cache what it read. The cache holds only bytes the
 * caller could read from disk anyway, and callers get copies, never the cached buffer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fsync, open, openSync, promises as fsp, rmSync, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { TooLarge } from '../../core/errors.js';
import type { BlobRef, BlobStore } from '../port.js';

const HEX64 = /^[0-9a-f]{64}$/;
const fsyncFd = promisify(fsync);
const writeFd = promisify(write);
const openFd = promisify(open);
/** Blobs up to this size are written with one synchronous call (a memory copy into the page
 * cache); larger ones asynchronously, so a big message never stalls the event loop. */
const SYNC_WRITE_MAX_BYTES = 1024 * 1024;

/** Blob store on a local folder. */
export class FsBlobStore implements BlobStore {
  private readonly tmpDir: string;
  /** Folders known to exist durably in their parents. */
  private readonly knownDirs = new Set<string>();
  /** Folder creations in progress, shared by concurrent writers. */
  private readonly dirReady = new Map<string, Promise<void>>();
  /** When each blob was last put, so the collector spares blobs of in-flight writes. */
  private readonly lastPut = new Map<string, number>();
  private readonly deleting = new Map<string, Promise<void>>();
  /** Whole small blobs, least recently used first (Map order). */
  private readonly cache = new Map<string, Buffer>();
  private cacheBytes = 0;
  /** Bumped by every delete: a read that started before one does not fill the cache. */
  private deleteEpoch = 0;

  /**
   * @param root the blob folder.
   * @param pinMs how long after a put the blob may not be deleted: a delivery that found the
   *   blob already present commits its reference within this time.
   */
  constructor(
    private readonly root: string,
    private readonly pinMs = 3_600_000,
    private readonly now: () => number = Date.now,
    /** Upper bound of the read cache in bytes (0 disables it). */
    private readonly maxCacheBytes = 32 * 1024 * 1024,
    /** Largest blob the read cache keeps. */
    private readonly maxCachedBlobBytes = 256 * 1024,
  ) {
    this.tmpDir = join(root, 'tmp');
  }

  /** Marks a blob as just written, waiting for a deletion of it in progress to finish first. */
  private async pin(id: string): Promise<void> {
    await this.deleting.get(id);
    this.lastPut.set(id, this.now());
    if (this.lastPut.size > 100_000) {
      const cutoff = this.now() - this.pinMs;
      for (const [k, t] of this.lastPut) if (t < cutoff) this.lastPut.delete(k);
    }
  }

  /** Creates the folder layout; call once before use. */
  async init(): Promise<void> {
    await fsp.mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    // Leftovers of writes that a crash interrupted. Only old ones: another process (an admin
    // command beside the server) may be writing here right now.
    const cutoff = this.now() - this.pinMs;
    for (const name of await fsp.readdir(this.tmpDir)) {
      const st = await fsp.stat(join(this.tmpDir, name)).catch(() => null);
      if (st && st.mtimeMs < cutoff) await fsp.rm(join(this.tmpDir, name), { force: true });
    }
  }

  private pathOf(id: string): string {
    if (!HEX64.test(id)) throw new Error('invalid blob id');
    return join(this.root, id.slice(0, 2), id.slice(2, 4), id);
  }

  async put(data: Uint8Array): Promise<BlobRef> {
    const id = createHash('sha256').update(data).digest('hex');
    await this.pin(id);
    const epoch = this.deleteEpoch;
    const ref = await this.finish(id, data);
    // A message just stored is usually read soon (APPEND then FETCH, delivery then IDLE push).
    if (epoch === this.deleteEpoch && this.isCacheable(data.byteLength)) this.remember(id, Buffer.from(data));
    return ref;
  }

  /** Whether a blob of this size goes into the read cache. */
  private isCacheable(size: number): boolean {
    return size <= this.maxCachedBlobBytes && size <= this.maxCacheBytes;
  }

  /** Keeps a whole blob in the read cache when it is small enough. */
  private remember(id: string, data: Buffer): void {
    if (!this.isCacheable(data.length)) return;
    const old = this.cache.get(id);
    if (old) {
      this.cache.delete(id);
      this.cacheBytes -= old.length;
    }
    this.cache.set(id, data);
    this.cacheBytes += data.length;
    for (const [k, v] of this.cache) {
      if (this.cacheBytes <= this.maxCacheBytes) break;
      this.cache.delete(k);
      this.cacheBytes -= v.length;
    }
  }

  /** A cached blob, marked as recently used. */
  private cached(id: string): Buffer | undefined {
    const b = this.cache.get(id);
    if (b) {
      this.cache.delete(id);
      this.cache.set(id, b);
    }
    return b;
  }

  private forget(id: string): void {
    const b = this.cache.get(id);
    if (b) {
      this.cache.delete(id);
      this.cacheBytes -= b.length;
    }
  }

  async putStream(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<BlobRef> {
    const hash = createHash('sha256');
    const tmp = join(this.tmpDir, randomBytes(12).toString('hex'));
    const fh = await fsp.open(tmp, 'wx', 0o600);
    let size = 0;
    try {
      for await (const chunk of source) {
        size += chunk.byteLength;
        if (size > maxBytes) throw new TooLarge(`blob exceeds ${maxBytes} bytes`);
        hash.update(chunk);
        await fh.write(chunk);
      }
      await fh.sync();
    } catch (e) {
      await fh.close();
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    const id = hash.digest('hex');
    await this.pin(id);
    return this.place(id, size, tmp);
  }

  /**
   * Writes a blob held in memory. Creating and renaming files go to the thread pool with the
   * fsyncs: on a journalling file system (ext4) they wait for the journal, which the other
   * writes' fsyncs keep committing, so done on the event loop they stalled every session
   * (~1.5 ms an open under load). Writing into the page cache and closing stay synchronous:
   * they cost microseconds, and each trip through the pool waits a turn of a busy event loop.
   */
  private async finish(id: string, data: Uint8Array): Promise<BlobRef> {
    const size = data.byteLength;
    const final = this.pathOf(id);
    if (existsSync(final)) {
      // The existing copy may come from a write that has not synced its folders yet.
      await this.ensureDir(id);
      await syncDir(this.dirOf(id));
      return { id, size };
    }
    // The folder is made durable while the file is written and synced: the two are
    // independent, and only the rename needs both.
    const dirReady = this.ensureDir(id);
    // Marked handled here; it is awaited below, or its failure is moot once the write failed.
    dirReady.catch(() => undefined);
    const tmp = join(this.tmpDir, randomBytes(12).toString('hex'));
    const fd = await openFd(tmp, 'wx', 0o600);
    try {
      if (size <= SYNC_WRITE_MAX_BYTES) for (let off = 0; off < size; ) off += writeSync(fd, data, off, size - off);
      else for (let off = 0; off < size; ) off += (await writeFd(fd, data, off, Math.min(size - off, SYNC_WRITE_MAX_BYTES))).bytesWritten;
      await fsyncFd(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    closeSync(fd);
    try {
      await dirReady;
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    return this.place(id, size, tmp);
  }

  private dirOf(id: string): string {
    return join(this.root, id.slice(0, 2), id.slice(2, 4));
  }

  /**
   * Makes a blob's folder exist and be durable in its parents. Concurrent writers to one
   * folder share the work (and wait for it, so none renames into a folder whose own entry is
   * not yet on disk); the two parent syncs are independent and run together.
   */
  private ensureDir(id: string): Promise<void> {
    const dir = this.dirOf(id);
    if (this.knownDirs.has(dir)) return Promise.resolve();
    let ready = this.dirReady.get(dir);
    if (!ready) {
      const top = join(this.root, id.slice(0, 2));
      ready = (async () => {
        await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
        await Promise.all([syncDir(top), this.knownDirs.has(top) ? undefined : syncDir(this.root)]);
        this.knownDirs.add(top);
        this.knownDirs.add(dir);
      })().finally(() => this.dirReady.delete(dir));
      this.dirReady.set(dir, ready);
    }
    return ready;
  }

  /** Moves a synced temporary file to its final name and syncs the folder. */
  private async place(id: string, size: number, tmp: string): Promise<BlobRef> {
    const final = this.pathOf(id);
    const dir = this.dirOf(id);
    // A new folder must itself be durable in its parents (a no-op once known).
    await this.ensureDir(id);
    if (existsSync(final)) {
      rmSync(tmp, { force: true });
      // The existing copy may come from a write that has not synced its folder yet.
      await syncDir(dir);
      return { id, size };
    }
    await fsp.rename(tmp, final);
    await syncDir(dir);
    return { id, size };
  }

  async get(id: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(id);
    const hit = this.cached(id);
    if (hit) return Buffer.from(hit);
    const epoch = this.deleteEpoch;
    try {
      const data = await fsp.readFile(path);
      if (epoch === this.deleteEpoch && this.isCacheable(data.length)) this.remember(id, Buffer.from(data));
      return data;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async getRange(id: string, start: number, end: number): Promise<Uint8Array | undefined> {
    const path = this.pathOf(id);
    const hit = this.cached(id);
    if (hit) return Buffer.from(slice(hit, start, end));
    const epoch = this.deleteEpoch;
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, 'r');
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    try {
      const { size } = await fh.stat();
      if (this.isCacheable(size)) {
        // A small blob costs one read whole as much as in part: read it whole and keep it.
        const whole = await readFully(fh, 0, size);
        if (epoch === this.deleteEpoch && whole.length === size) this.remember(id, whole);
        return Buffer.from(slice(whole, start, end));
      }
      const from = Math.min(Math.max(0, start), size);
      const to = Math.min(Math.max(from, end), size);
      const buf = Buffer.allocUnsafe(to - from);
      let off = 0;
      while (off < buf.length) {
        const { bytesRead } = await fh.read(buf, off, buf.length - off, from + off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      return buf.subarray(0, off);
    } finally {
      await fh.close();
    }
  }

  async has(id: string): Promise<boolean> {
    return exists(this.pathOf(id));
  }

  async delete(id: string): Promise<boolean> {
    const path = this.pathOf(id);
    const t = this.lastPut.get(id);
    if (t !== undefined && this.now() - t < this.pinMs) return false;
    this.deleteEpoch++;
    this.forget(id);
    // Set synchronously, before any await, so a concurrent put waits for the unlink.
    const done = fsp.rm(path, { force: true }).finally(() => this.deleting.delete(id));
    this.deleting.set(id, done);
    await done;
    return true;
  }

  async *list(): AsyncIterable<{ id: string; writtenAtMs: number }> {
    for (const a of await readdirSafe(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(a)) continue;
      for (const b of await readdirSafe(join(this.root, a))) {
        for (const id of await readdirSafe(join(this.root, a, b))) {
          if (!HEX64.test(id)) continue;
          const st = await fsp.stat(join(this.root, a, b, id)).catch(() => null);
          if (st) yield { id, writtenAtMs: st.mtimeMs };
        }
      }
    }
  }

  async close(): Promise<void> {
    this.cache.clear();
    this.cacheBytes = 0;
  }
}

/** Bytes [start, end) of a buffer, clamped as getRange clamps (a view, not a copy). */
function slice(b: Buffer, start: number, end: number): Buffer {
  const from = Math.min(Math.max(0, start), b.length);
  const to = Math.min(Math.max(from, end), b.length);
  return b.subarray(from, to);
}

/** Reads `length` bytes at `position`, fewer only at the end of the file. */
async function readFully(fh: fsp.FileHandle, position: number, length: number): Promise<Buffer> {
  // Not from the shared pool: a cached blob must not pin a larger slab.
  const buf = Buffer.allocUnsafeSlow(length);
  let off = 0;
  while (off < length) {
    const { bytesRead } = await fh.read(buf, off, length - off, position + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.subarray(0, off);
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p, constants.F_OK);
    return true;
  } catch {
    // access() fails only when the file is missing or unreadable; both mean "write it".
    return false;
  }
}

/** Syncs a folder (its entries); only the fsync itself runs in the thread pool. */
async function syncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

async function readdirSafe(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'ENOENT';
}
