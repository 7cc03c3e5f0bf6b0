/**
 * Per-account sending limit for submission: at most N messages in any hour. Kept in memory
 * per process (a cluster multiplies it by its node count).
 * TODO(cluster): share the counters through the store when cluster mode lands.
 */
import type { Clock } from '../../core/clock.js';

const HOUR_MS = 3_600_000;

/** A sliding one-hour window of message counts per account. */
export class SendLimiter {
  private readonly sent = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly maxPerHour: number,
  ) {}

  private recent(accountId: string): number[] {
    const cutoff = this.clock.now() - HOUR_MS;
    const list = (this.sent.get(accountId) ?? []).filter((t) => t > cutoff);
    this.sent.set(accountId, list);
    return list;
  }

  /** Whether the account may send one more message now. */
  check(accountId: string): boolean {
    return this.maxPerHour === 0 || this.recent(accountId).length < this.maxPerHour;
  }

  /** Counts a sent message. */
  record(accountId: string): void {
    this.recent(accountId).push(this.clock.now());
  }
}
