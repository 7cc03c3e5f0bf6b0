/** Turning the validated config into storage options and the core context; shared by serve and the CLI. */
import type { Config } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { Context, Logger } from '../core/context.js';
import type { Storage, StorageOptions } from '../store/index.js';

/** Storage options of a data folder under a config. */
export function storageOptions(dataDir: string, config: Config, clock: Clock): StorageOptions {
  return {
    dataDir,
    store: config.store,
    blobs: config.blobs,
    bus: config.bus,
    blobPinMs: config.retention.gcGraceMinutes * 60_000,
    now: () => clock.now(),
  };
}

/** The core context over opened storage. */
export function contextFor(config: Config, storage: Storage, log: Logger, clock: Clock): Context {
  return {
    clock,
    store: storage.store,
    blobs: storage.blobs,
    bus: storage.bus,
    log,
    settings: {
      defaultQuotaBytes: config.limits.defaultQuotaBytes,
      maxMessageBytes: config.limits.maxMessageBytes,
      retentionMs: config.retention.deletedDays * 86_400_000,
      gcGraceMs: config.retention.gcGraceMinutes * 60_000,
    },
  };
}
