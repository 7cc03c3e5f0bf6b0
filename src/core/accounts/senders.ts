/**
 * Which addresses an account may send as (envelope MAIL FROM and the From header of
 * submitted mail, RFC 6409 §4.3 and §8). Today: its own addresses (primary and aliases,
 * subaddresses of them included). The shape is ready for groups it belongs to and a
 * granted "send as" table (delegation), which add rows to the same decision.
 */
import type { Context } from '../context.js';
import { canonicalAddress, withoutSubaddress } from './address.js';

/** Why an address may be used, or null when it may not. */
export type SenderGrant = 'own' | 'alias' | null;

/** Whether the account may use `address` as a sender; resolves with the grant or null. */
export async function senderGrant(ctx: Context, accountId: string, address: string): Promise<SenderGrant> {
  const a = canonicalAddress(address);
  if (!a) return null;
  const base = withoutSubaddress(a);
  return ctx.store.read(async (q) => {
    for (const key of base ? [a.address, base.address] : [a.address]) {
      // Catch-all rows ("@domain") never make an address sendable: only named addresses count.
      const row = await q.get<{ kind: string }>("SELECT kind FROM addresses WHERE address = ? AND account_id = ? AND kind IN ('primary', 'alias')", [key, accountId]);
      if (row) return row.kind === 'primary' ? 'own' : 'alias';
    }
    // TODO(delegation): groups the account is a member of, and granted send-as rows.
    return null;
  });
}

/** True when the account may send as `address`. */
export async function maySendAs(ctx: Context, accountId: string, address: string): Promise<boolean> {
  return (await senderGrant(ctx, accountId, address)) !== null;
}
