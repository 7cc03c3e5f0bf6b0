/**
 * Which addresses an account may send as (envelope MAIL FROM and the From header of
 * submitted mail, RFC 6409 §4.3 and §8): its own addresses (primary and aliases, subaddresses
 * of them included), the address of a group it is a member of (directly or through nested
 * groups), and addresses granted to it (send-as delegation, the `send_as` table of
 * migration 5, e.g. a shared mailbox its team answers from).
 *
 * Invariants: only named local addresses ever make a sender legitimate (never a catch-all);
 * every grant and revocation writes its audit row ('account.delegation.change') in the same
 * transaction as the change.
 */
import { auditIn } from '../audit/index.js';
import type { Context } from '../context.js';
import { InvalidInput, NotFound } from '../errors.js';
import type { Queryable } from '../../store/port.js';
import { canonicalAddress, withoutSubaddress } from './address.js';
import type { Actor } from './index.js';

/** Why an address may be used, or null when it may not. */
export type SenderGrant = 'own' | 'alias' | 'group' | 'granted' | null;

/** Nested groups are followed this deep (as resolveRecipient does). */
const MAX_GROUP_DEPTH = 8;

async function isGroupMember(q: Queryable, groupId: string, accountId: string): Promise<boolean> {
  const seen = new Set<string>();
  let level = [groupId];
  for (let depth = 0; depth <= MAX_GROUP_DEPTH && level.length > 0; depth++) {
    const next: string[] = [];
    for (const gid of level) {
      if (seen.has(gid)) continue;
      seen.add(gid);
      const members = await q.all<{ member_id: string; kind: string }>(
        'SELECT gm.member_id AS member_id, a.kind AS kind FROM group_members gm JOIN accounts a ON a.id = gm.member_id WHERE gm.group_id = ? AND a.deleted_at IS NULL',
        [gid],
      );
      for (const m of members) {
        if (m.member_id === accountId) return true;
        if (m.kind === 'group') next.push(m.member_id);
      }
    }
    level = next;
  }
  return false;
}

/** Whether the account may use `address` as a sender; resolves with the grant or null. */
export async function senderGrant(ctx: Context, accountId: string, address: string): Promise<SenderGrant> {
  const a = canonicalAddress(address);
  if (!a) return null;
  const base = withoutSubaddress(a);
  return ctx.store.read(async (q) => {
    for (const key of base ? [a.address, base.address] : [a.address]) {
      // Catch-all rows ("@domain") never make an address sendable: only named addresses count.
      const row = await q.get<{ kind: string; account_id: string; account_kind: string }>(
        "SELECT ad.kind AS kind, ad.account_id AS account_id, ac.kind AS account_kind FROM addresses ad JOIN accounts ac ON ac.id = ad.account_id WHERE ad.address = ? AND ad.kind IN ('primary', 'alias') AND ac.deleted_at IS NULL",
        [key],
      );
      if (!row) continue;
      if (row.account_id === accountId) return row.kind === 'primary' ? 'own' : 'alias';
      // A group's address is its members' to use (a team replying as team@).
      if (row.account_kind === 'group' && (await isGroupMember(q, row.account_id, accountId))) return 'group';
      // target_id: a grant names the account that owned the address when it was given.
      if (await q.get('SELECT 1 AS x FROM send_as WHERE account_id = ? AND address = ? AND target_id = ?', [accountId, key, row.account_id])) return 'granted';
      return null;
    }
    return null;
  });
}

/** True when the account may send as `address`. */
export async function maySendAs(ctx: Context, accountId: string, address: string): Promise<boolean> {
  return (await senderGrant(ctx, accountId, address)) !== null;
}

async function liveAccount(q: Queryable, address: string): Promise<{ id: string; address: string }> {
  const a = canonicalAddress(address);
  if (!a) throw new InvalidInput(`invalid address: ${JSON.stringify(address)}`);
  const r = await q.get<{ id: string }>('SELECT id FROM accounts WHERE address = ? AND deleted_at IS NULL', [a.address]);
  if (!r) throw new NotFound(`no account ${a.address}`);
  return { id: r.id, address: a.address };
}

/**
 * Lets the account `account` send as `address`, a named local address of another live
 * account (a shared mailbox, a resource, another user's alias). Granting twice is a no-op.
 * Returns the account's granted addresses.
 */
export async function grantSendAs(ctx: Context, account: string, address: string, actor: Actor): Promise<string[]> {
  const a = canonicalAddress(address);
  if (!a) throw new InvalidInput(`invalid address: ${JSON.stringify(address)}`);
  const now = ctx.clock.now();
  return ctx.store.write(async (q) => {
    const acc = await liveAccount(q, account);
    const target = await q.get<{ account_id: string }>(
      "SELECT ad.account_id AS account_id FROM addresses ad JOIN accounts ac ON ac.id = ad.account_id WHERE ad.address = ? AND ad.kind IN ('primary', 'alias') AND ac.deleted_at IS NULL",
      [a.address],
    );
    if (!target) throw new NotFound(`${a.address} is not a local address`);
    if (target.account_id === acc.id) throw new InvalidInput(`${a.address} is already ${acc.address}'s own address`);
    // A grant left over from the address's former owner is replaced.
    const old = await q.get<{ target_id: string }>('SELECT target_id FROM send_as WHERE account_id = ? AND address = ?', [acc.id, a.address]);
    if (old && old.target_id !== target.account_id) await q.run('DELETE FROM send_as WHERE account_id = ? AND address = ?', [acc.id, a.address]);
    if (!old || old.target_id !== target.account_id) {
      await q.run('INSERT INTO send_as (account_id, address, target_id, created_at) VALUES (?, ?, ?, ?)', [acc.id, a.address, target.account_id, now]);
      await auditSendAs(q, now, actor, acc, a.address, 'grant');
    }
    return grantsIn(q, acc.id);
  });
}

/** Takes back a send-as grant; NotFound when there was none. Returns the remaining grants. */
export async function revokeSendAs(ctx: Context, account: string, address: string, actor: Actor): Promise<string[]> {
  const a = canonicalAddress(address);
  if (!a) throw new InvalidInput(`invalid address: ${JSON.stringify(address)}`);
  const now = ctx.clock.now();
  return ctx.store.write(async (q) => {
    const acc = await liveAccount(q, account);
    const r = await q.run('DELETE FROM send_as WHERE account_id = ? AND address = ?', [acc.id, a.address]);
    if (r.changes === 0) throw new NotFound(`${acc.address} has no send-as grant for ${a.address}`);
    await auditSendAs(q, now, actor, acc, a.address, 'revoke');
    return grantsIn(q, acc.id);
  });
}

/** The audit row of a send-as grant or revocation (in the same transaction). */
function auditSendAs(q: Queryable, now: number, actor: Actor, acc: { id: string; address: string }, address: string, action: 'grant' | 'revoke'): Promise<unknown> {
  return auditIn(q, now, {
    event: 'account.delegation.change',
    ok: true,
    accountId: acc.id,
    actor: actor.name,
    protocol: actor.protocol,
    source: actor.source,
    subject: address,
    detail: { right: 'send-as', action, grantee: acc.address },
  });
}

async function grantsIn(q: Queryable, accountId: string): Promise<string[]> {
  const rows = await q.all<{ address: string }>('SELECT address FROM send_as WHERE account_id = ? ORDER BY address', [accountId]);
  return rows.map((r) => r.address);
}

/** The addresses granted to an account (not its own addresses nor its groups'). */
export async function listSendAs(ctx: Context, account: string): Promise<string[]> {
  return ctx.store.read(async (q) => grantsIn(q, (await liveAccount(q, account)).id));
}
