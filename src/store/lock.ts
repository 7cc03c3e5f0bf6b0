/**
 * Holds a data folder for one process. Node.js has no flock, and a pid file outlives a
 * crash, so the lock is a listening Unix socket in the abstract namespace (Linux): the kernel
 * frees it the instant the process dies, even on SIGKILL, and no file is left behind.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** A held data-folder lock. */
export interface DataLock {
  /** Releases the lock. */
  release(): Promise<void>;
}

/** Thrown when another process holds the data folder. */
export class DataFolderBusy extends Error {
  constructor(readonly dataDir: string) {
    super(`the data folder ${dataDir} is in use by another bulwark process`);
    this.name = 'DataFolderBusy';
  }
}

/** Takes the lock on a data folder, or throws DataFolderBusy. */
export async function lockDataFolder(dataDir: string): Promise<DataLock> {
  const real = realpathSync(dataDir);
  const name = '\0bulwark-' + createHash('sha256').update(real).digest('hex').slice(0, 32);
  const server: Server = createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'EADDRINUSE' ? new DataFolderBusy(dataDir) : e);
    });
    server.listen(name, () => resolve());
  });
  server.unref();
  return {
    release: () => new Promise<void>((r) => server.close(() => r())),
  };
}
