/**
 * The per-account submission limit: at most N messages per clock-hour window. The count is a
 * row of `send_counts` (migration 5) per account and window, so it survives restarts and
 * every node of a cluster shares it. A window's row is bumped with one upsert; rows of older
 * windows of the same account are dropped in the same write.
 */
import type { Context } from '../context.js';

const HOUR_MS = 3_600_000;

/** Start of the clock-hour window that contains `nowMs`. */
export function sendWindowStart(nowMs: number): number {
  return Math.floor(nowMs / HOUR_MS) * HOUR_MS;
}

/** Messages the account submitted in the current window. */
export async function sentThisHour(ctx: Context, accountId: string): Promise<number> {
  const row = await ctx.store.read((q) =>
    q.get<{ count: number }>('SELECT count FROM send_counts WHERE account_id = ? AND window_start = ?', [accountId, sendWindowStart(ctx.clock.now())]),
  );
  return row ? Number(row.count) : 0;
}

/** Whether the account may submit one more message now (`maxPerHour` 0 = unlimited). */
export async function maySubmit(ctx: Context, accountId: string, maxPerHour: number): Promise<boolean> {
  return maxPerHour === 0 || (await sentThisHour(ctx, accountId)) < maxPerHour;
}

/** Counts one submitted message in the current window. */
export async function countSubmission(ctx: Context, accountId: string): Promise<void> {
  const window = sendWindowStart(ctx.clock.now());
  await ctx.store.write(async (q) => {
    // The upsert is atomic under concurrent writers on both engines (and across nodes).
    await q.run(
      'INSERT INTO send_counts (account_id, window_start, count) VALUES (?, ?, 1) ON CONFLICT (account_id, window_start) DO UPDATE SET count = send_counts.count + 1',
      [accountId, window],
    );
    await q.run('DELETE FROM send_counts WHERE account_id = ? AND window_start < ?', [accountId, window]);
  });
}
