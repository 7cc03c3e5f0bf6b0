/**
 * Per-account sending limit for submission: at most N messages per clock hour. The counts
 * live in the store (core/delivery/limits.ts), so a restart does not reset them and the nodes
 * of a cluster share them.
 */
import type { Context } from '../../core/context.js';
import { countSubmission, maySubmit } from '../../core/delivery/limits.js';

/** The submission limit of one server, over the store's counters. */
export class SendLimiter {
  constructor(
    private readonly ctx: Context,
    private readonly maxPerHour: number,
  ) {}

  /** Whether the account may send one more message now. */
  async check(accountId: string): Promise<boolean> {
    return maySubmit(this.ctx, accountId, this.maxPerHour);
  }

  /** Counts a sent message. */
  async record(accountId: string): Promise<void> {
    if (this.maxPerHour > 0) await countSubmission(this.ctx, accountId);
  }
}
