/**
 * Filesystem adapter of the BlobStore port: content-addressed by SHA-256.
 *
 * Layout: `<root>/ab/cd/abcdef…` (the first two byte pairs of the hex digest as folders), and
 * `<root>/tmp/` for writes in progress. A write goes to a temporary file, is fsynced, renamed
 * to its final name, and the folder is fsynced, all before `put` resolves; so once the caller
 * commits metadata that points at the blob, a crash cannot lose it. A blob that exists already
 * is not written again (dedup). Names come only from hashes: no request chooses a path
 * (DESIGN.md rule 4).
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { TooLarge } from '../../core/errors.js';
import type { BlobRef, BlobStore } from '../port.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** Blob store on a local folder. */
export class FsBlobStore implements BlobStore {
  private readonly tmpDir: string;
  private readonly knownDirs = new Set<string>();
  /** When each blob was last put, so the collector spares blobs of in-flight writes. */
  private readonly lastPut = new Map<string, number>();
  private readonly deleting = new Map<string, Promise<void>>();

  /**
   * @param root the blob folder.
   * @param pinMs how long after a put the blob may not be deleted: a delivery that found the
   *   blob already present commits its reference within this time.
   */
  constructor(
    private readonly root: string,
    private readonly pinMs = 3_600_000,
    private readonly now: () => number = Date.now,
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
    return this.finish(id, data.byteLength, async (fh) => {
      await fh.writeFile(data);
    });
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

  private async finish(
    id: string,
    size: number,
    writeInto: (fh: fsp.FileHandle) => Promise<void>,
  ): Promise<BlobRef> {
    const final = this.pathOf(id);
    if (await exists(final)) {
      // The existing copy may come from a write that has not synced its folder yet.
      await syncDir(join(this.root, id.slice(0, 2), id.slice(2, 4)));
      return { id, size };
    }
    const tmp = join(this.tmpDir, randomBytes(12).toString('hex'));
    const fh = await fsp.open(tmp, 'wx', 0o600);
    try {
      await writeInto(fh);
      await fh.sync();
    } catch (e) {
      await fh.close();
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    return this.place(id, size, tmp);
  }

  /** Moves a synced temporary file to its final name and syncs the folder. */
  private async place(id: string, size: number, tmp: string): Promise<BlobRef> {
    const final = this.pathOf(id);
    const dir = join(this.root, id.slice(0, 2), id.slice(2, 4));
    if (await exists(final)) {
      await fsp.rm(tmp, { force: true });
      // The existing copy may come from a write that has not synced its folder yet.
      await syncDir(dir);
      return { id, size };
    }
    if (!this.knownDirs.has(dir)) {
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
      // A new folder must itself be durable in its parents.
      await syncDir(join(this.root, id.slice(0, 2)));
      await syncDir(this.root);
      this.knownDirs.add(dir);
    }
    await fsp.rename(tmp, final);
    await syncDir(dir);
    return { id, size };
  }

  async get(id: string): Promise<Uint8Array | undefined> {
    try {
      return await fsp.readFile(this.pathOf(id));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async getRange(id: string, start: number, end: number): Promise<Uint8Array | undefined> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.pathOf(id), 'r');
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    try {
      const { size } = await fh.stat();
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

  async close(): Promise<void> {}
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

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
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
