/**
 * Exclusive access to a maildrop (RFC 1939 §4: the server "acquires an exclusive-access lock
 * on the maildrop" for a POP3 session), kept in the store so that it holds across every node
 * of a cluster, not only within one process.
 *
 * A lock is a lease: a row naming its holder and when it runs out. The holder renews it while
 * the session lives and deletes it at the end; a node that dies without releasing blocks the
 * maildrop only until the lease runs out, never for good.
 */
import type { Context } from '../context.js';

/** How long a lease lasts without renewal. */
export const MAILDROP_LEASE_MS = 120_000;

/** Takes the lock for `holder`; false while another holder's lease is current. */
export async function acquireMaildropLock(ctx: Context, accountId: string, holder: string): Promise<boolean> {
  const now = ctx.clock.now();
  return ctx.store.write(async (q) => {
    await q.run('DELETE FROM maildrop_locks WHERE account_id = ? AND expires_at <= ?', [accountId, now]);
    const r = await q.run('INSERT INTO maildrop_locks (account_id, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (account_id) DO NOTHING', [accountId, holder, now + MAILDROP_LEASE_MS]);
    return r.changes === 1;
  });
}

/** Extends the holder's lease; false if it no longer holds the lock (the lease ran out and was taken). */
export async function renewMaildropLock(ctx: Context, accountId: string, holder: string): Promise<boolean> {
  const r = await ctx.store.write((q) => q.run('UPDATE maildrop_locks SET expires_at = ? WHERE account_id = ? AND holder = ?', [ctx.clock.now() + MAILDROP_LEASE_MS, accountId, holder]));
  return r.changes === 1;
}

/** Gives the lock up (a no-op when the holder no longer has it). */
export async function releaseMaildropLock(ctx: Context, accountId: string, holder: string): Promise<void> {
  await ctx.store.write((q) => q.run('DELETE FROM maildrop_locks WHERE account_id = ? AND holder = ?', [accountId, holder]));
}
