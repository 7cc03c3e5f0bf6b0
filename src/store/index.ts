/**
 * Storage: the ports (port.ts) and the adapters behind them, chosen by the config.
 * SQLite + a blob folder + the in-process bus is the embedded default; PostgreSQL serves
 * clusters (metadata, blobs and LISTEN/NOTIFY). Nothing outside store/ imports an adapter
 * directly except this factory.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bus, BlobStore, Store } from './port.js';
import { FsBlobStore } from './blobs/fs.js';
import { LocalBus } from './bus/local.js';
import { migrate } from './migrations/index.js';
import { SqliteStore } from './sqlite/store.js';

export type { Bus, BlobStore, BlobRef, ChangeEvent, Queryable, Store } from './port.js';
export { lockDataFolder, DataFolderBusy, type DataLock } from './lock.js';

/** What the storage factory needs to know. */
export interface StorageOptions {
  dataDir: string;
  /** `schema` (PostgreSQL): the installation's schema; "" = the search_path's. */
  store: { type: 'sqlite' | 'postgres'; url: string; schema?: string };
  blobs: { type: 'fs' | 'postgres' };
  bus: { type: 'local' | 'postgres' };
  /** Blobs put within this time are never deleted (protects in-flight deliveries). */
  blobPinMs: number;
  now: () => number;
}

/** Opened storage. */
export interface Storage {
  store: Store;
  blobs: BlobStore;
  bus: Bus;
  close(): Promise<void>;
}

/** Opens (and migrates) the configured store, blob store and bus. */
export async function openStorage(o: StorageOptions): Promise<Storage> {
  let store: Store;
  const needsPg = o.store.type === 'postgres' || o.blobs.type === 'postgres' || o.bus.type === 'postgres';
  const pg = needsPg ? await import('./postgres/index.js') : null;
  const schema = o.store.schema ? { schema: o.store.schema } : {};
  if (o.store.type === 'postgres') {
    store = await pg!.createPostgresStore({ url: o.store.url, now: o.now, ...schema });
  } else {
    mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
    store = new SqliteStore({ path: join(o.dataDir, 'bulwark.db') });
    await migrate(store, o.now);
  }
  let blobs: BlobStore;
  if (o.blobs.type === 'postgres') {
    blobs = await pg!.createPostgresBlobStore({ url: o.store.url, pinMs: o.blobPinMs, now: o.now, ...schema, ...(store instanceof pg!.PostgresStore ? { pool: store.pool } : {}) });
  } else {
    const fs = new FsBlobStore(join(o.dataDir, 'blobs'), o.blobPinMs, o.now);
    await fs.init();
    blobs = fs;
  }
  const bus: Bus =
    o.bus.type === 'postgres'
      ? await pg!.createPostgresBus({ url: o.store.url, ...schema, ...(store instanceof pg!.PostgresStore ? { pool: store.pool } : {}) })
      : new LocalBus();
  return {
    store,
    blobs,
    bus,
    async close() {
      await bus.close();
      await store.close();
      await blobs.close();
    },
  };
}
