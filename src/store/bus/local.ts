/** In-process adapter of the Bus port: handlers run after the current tick, never inside a commit. */
import type { Bus, BusHandler, ChangeEvent } from '../port.js';

/** Delivers events to subscribers in this process. */
export class LocalBus implements Bus {
  private readonly handlers = new Map<string, Set<BusHandler>>();

  async publish(event: ChangeEvent): Promise<void> {
    this.deliver(event);
  }

  /** Hands an event to local subscribers; also used by adapters that receive remote events. */
  deliver(event: ChangeEvent | null, resync = false): void {
    const targets = event ? [event.accountId, '*'] : [...this.handlers.keys()];
    for (const key of targets) {
      for (const h of this.handlers.get(key) ?? []) {
        queueMicrotask(() => h(event, resync));
      }
    }
  }

  subscribe(accountId: string, handler: BusHandler): () => void {
    let set = this.handlers.get(accountId);
    if (!set) this.handlers.set(accountId, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.handlers.delete(accountId);
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
