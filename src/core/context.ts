/**
 * The one object through which core reaches the outside: clock, storage ports, bus, logger
 * and settings, built once at startup (or by a test) and passed down. No module keeps its own.
 */
import type { Bus, BlobStore, Store } from '../store/port.js';
import type { Clock } from './clock.js';

/** The structured logger core writes to (pino's shape). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

/** Settings core needs, taken from the validated config. */
export interface CoreSettings {
  /** Quota for new accounts in bytes; 0 means unlimited. */
  defaultQuotaBytes: number;
  /** Largest message accepted, in bytes. */
  maxMessageBytes: number;
  /** How long soft-deleted accounts and messages are kept before the collector removes them. */
  retentionMs: number;
  /** Unreferenced blobs younger than this are spared (in-flight deliveries, backups). */
  gcGraceMs: number;
}

/** Everything core needs from outside. */
export interface Context {
  clock: Clock;
  store: Store;
  blobs: BlobStore;
  bus: Bus;
  log: Logger;
  settings: CoreSettings;
}

/** A logger that drops everything, for tests and tools. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** Default settings, matching the config schema's defaults. */
export const defaultSettings: CoreSettings = {
  defaultQuotaBytes: 10 * 1024 ** 3,
  maxMessageBytes: 50 * 1024 ** 2,
  retentionMs: 30 * 86_400_000,
  gcGraceMs: 3_600_000,
};
