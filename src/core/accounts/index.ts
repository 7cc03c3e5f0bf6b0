/**
 * Domains, accounts, addresses (aliases, catch-all), groups and app passwords.
 *
 * Invariants:
 * - Accounts have opaque ids; an address is only a row in `addresses` pointing at an id, so
 *   renaming or adding an address rewrites no data.
 * - Every address is stored canonical (see address.ts); lookups canonicalise first.
 * - Removing a domain or account is a soft delete: rows get `deleted_at` and stop resolving,
 *   their addresses are freed at once, and the garbage collector alone removes data after
 *   the retention period.
 * - Every admin action writes its audit row in the same transaction.
 */
import { newId } from '../clock.js';
import { auditIn } from '../audit/index.js';
import { logChanges, nextModseq } from '../changes.js';
import type { Context } from '../context.js';
import { AlreadyExists, InUse, InvalidInput, NotFound } from '../errors.js';
import type { Queryable } from '../../store/port.js';
import { canonicalAddress, canonicalDomain, withoutSubaddress } from './address.js';
import { generateAppPassword, hashAppSecret, hashPassword } from '../../security/password.js';
import { generateDkimKeys, type DkimAlgorithm } from '../../security/dkim.js';

export { canonicalAddress, canonicalDomain, displayDomain, withoutSubaddress } from './address.js';

/** Kinds of account. */
export type AccountKind = 'individual' | 'group' | 'resource' | 'shared';
/** Roles an account can hold. */
export type Role = 'admin';

/** An account as core returns it. */
export interface Account {
  id: string;
  kind: AccountKind;
  address: string;
  displayName: string;
  domainId: string;
  roles: Role[];
  quotaBytes: number;
  usedBytes: number;
  modseq: number;
  createdAt: number;
}

/** A domain. */
export interface Domain {
  id: string;
  name: string;
  createdAt: number;
}

/** The special-use mailboxes every new account gets (RFC 6154 §2), in LIST order. */
export const DEFAULT_MAILBOXES: ReadonlyArray<{ name: string; role: string }> = [
  { name: 'INBOX', role: 'inbox' },
  { name: 'Drafts', role: 'drafts' },
  { name: 'Sent', role: 'sent' },
  { name: 'Junk', role: 'junk' },
  { name: 'Trash', role: 'trash' },
  { name: 'Archive', role: 'archive' },
];

/** Who performs an admin action, for the audit trail. */
export interface Actor {
  /** An account address, "cli:<user>" or "system". */
  name: string;
  protocol: string;
  source?: string | null;
}

interface AccountRow {
  id: string;
  kind: AccountKind;
  address: string;
  display_name: string;
  domain_id: string;
  roles: string;
  quota_bytes: number;
  used_bytes: number;
  modseq: number;
  created_at: number;
}

const ACCOUNT_COLUMNS = 'id, kind, address, display_name, domain_id, roles, quota_bytes, used_bytes, modseq, created_at';

function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    kind: r.kind,
    address: r.address,
    displayName: r.display_name,
    domainId: r.domain_id,
    roles: r.roles ? (r.roles.split(',') as Role[]) : [],
    quotaBytes: Number(r.quota_bytes),
    usedBytes: Number(r.used_bytes),
    modseq: Number(r.modseq),
    createdAt: Number(r.created_at),
  };
}

function mustDomain(name: string): string {
  const d = canonicalDomain(name);
  if (!d) throw new InvalidInput(`invalid domain name: ${JSON.stringify(name)}`);
  return d;
}

function mustAddress(address: string) {
  const a = canonicalAddress(address);
  if (!a) throw new InvalidInput(`invalid address: ${JSON.stringify(address)}`);
  return a;
}

async function domainRow(q: Queryable, name: string): Promise<Domain | undefined> {
  const r = await q.get<{ id: string; name: string; created_at: number }>(
    'SELECT id, name, created_at FROM domains WHERE name = ? AND deleted_at IS NULL',
    [name],
  );
  return r && { id: r.id, name: r.name, createdAt: Number(r.created_at) };
}

// ---------------------------------------------------------------------------------------
// Domains

/** DKIM selectors made for every new domain (RFC 6376 §3.1), one per algorithm. */
export const DKIM_SELECTORS: Readonly<Record<DkimAlgorithm, string>> = { rsa: 'bulwark-rsa', ed25519: 'bulwark-ed25519' };

/** A domain's DKIM signing key. */
export interface DkimKey {
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
  publicKeyB64: string;
}

/** Adds a local domain with fresh DKIM keys (RSA-2048 and Ed25519, RFC 8463). */
export async function addDomain(ctx: Context, name: string, actor: Actor): Promise<Domain> {
  const canonical = mustDomain(name);
  const keys = await generateDkimKeys();
  const now = ctx.clock.now();
  return ctx.store.write(async (q) => {
    if (await domainRow(q, canonical)) throw new AlreadyExists(`domain ${canonical} exists`);
    const id = newId('d');
    await q.run('INSERT INTO domains (id, name, created_at) VALUES (?, ?, ?)', [id, canonical, now]);
    for (const alg of ['rsa', 'ed25519'] as const) {
      await q.run(
        'INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key_pem, public_key_b64, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        [id, DKIM_SELECTORS[alg], alg, keys[alg].privateKeyPem, keys[alg].publicKeyB64, now],
      );
    }
    await auditIn(q, now, { event: 'admin.domain.add', ok: true, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: canonical });
    return { id, name: canonical, createdAt: now };
  });
}

/** The DKIM keys of a local domain. */
export async function dkimKeys(ctx: Context, name: string): Promise<DkimKey[]> {
  const canonical = mustDomain(name);
  return ctx.store.read(async (q) => {
    const d = await domainRow(q, canonical);
    if (!d) throw new NotFound(`no domain ${canonical}`);
    const rows = await q.all<{ selector: string; algorithm: DkimAlgorithm; private_key_pem: string; public_key_b64: string }>(
      'SELECT selector, algorithm, private_key_pem, public_key_b64 FROM dkim_keys WHERE domain_id = ? ORDER BY selector',
      [d.id],
    );
    return rows.map((r) => ({ selector: r.selector, algorithm: r.algorithm, privateKeyPem: r.private_key_pem, publicKeyB64: r.public_key_b64 }));
  });
}

/** Lists local domains. */
export async function listDomains(ctx: Context): Promise<Domain[]> {
  const rows = await ctx.store.read((q) =>
    q.all<{ id: string; name: string; created_at: number }>('SELECT id, name, created_at FROM domains WHERE deleted_at IS NULL ORDER BY name'),
  );
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: Number(r.created_at) }));
}

/** Finds a local domain by name. */
export async function getDomain(ctx: Context, name: string): Promise<Domain | undefined> {
  const canonical = canonicalDomain(name);
  if (!canonical) return undefined;
  return ctx.store.read((q) => domainRow(q, canonical));
}

/** Removes a domain; refused while it still has accounts. */
export async function removeDomain(ctx: Context, name: string, actor: Actor): Promise<void> {
  const canonical = mustDomain(name);
  const now = ctx.clock.now();
  await ctx.store.write(async (q) => {
    const d = await domainRow(q, canonical);
    if (!d) throw new NotFound(`no domain ${canonical}`);
    const n = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM accounts WHERE domain_id = ? AND deleted_at IS NULL', [d.id]);
    if (Number(n?.n ?? 0) > 0) throw new InUse(`domain ${canonical} still has ${n?.n} accounts; remove them first`);
    await q.run('DELETE FROM addresses WHERE domain_id = ?', [d.id]);
    await q.run('UPDATE domains SET deleted_at = ? WHERE id = ?', [now, d.id]);
    await auditIn(q, now, { event: 'admin.domain.remove', ok: true, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: canonical });
  });
}

// ---------------------------------------------------------------------------------------
// Accounts

/** What a new account is made of. */
export interface NewAccount {
  address: string;
  kind?: AccountKind;
  displayName?: string;
  /** Plain password; hashed before the transaction. Omit for accounts that never log in. */
  password?: string;
  quotaBytes?: number;
  roles?: Role[];
}

/** Creates an account with its primary address and its special-use mailboxes. */
export async function addAccount(ctx: Context, input: NewAccount, actor: Actor): Promise<Account> {
  const addr = mustAddress(input.address);
  if (addr.local.includes('+')) throw new InvalidInput('an account address cannot contain "+": it is the subaddress separator');
  const kind = input.kind ?? 'individual';
  if (!['individual', 'group', 'resource', 'shared'].includes(kind)) throw new InvalidInput(`invalid account kind: ${kind}`);
  const quota = input.quotaBytes ?? ctx.settings.defaultQuotaBytes;
  if (!Number.isSafeInteger(quota) || quota < 0) throw new InvalidInput('quota must be a whole number of bytes, 0 for unlimited');
  // Hashing is slow on purpose; it must happen outside the transaction.
  const passwordHash = input.password !== undefined ? await hashPassword(input.password) : null;
  const now = ctx.clock.now();
  const id = newId('a');
  const account = await ctx.store.write(async (q) => {
    const d = await domainRow(q, addr.domain);
    if (!d) throw new NotFound(`${addr.domain} is not a local domain; add it first`);
    if (await q.get('SELECT 1 AS x FROM addresses WHERE address = ?', [addr.address])) {
      throw new AlreadyExists(`address ${addr.address} is taken`);
    }
    await q.run(
      `INSERT INTO accounts (id, domain_id, kind, address, display_name, password_hash, roles, quota_bytes, used_bytes, modseq, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)`,
      [id, d.id, kind, addr.address, input.displayName ?? '', passwordHash, (input.roles ?? []).join(','), quota, now],
    );
    await q.run('INSERT INTO addresses (address, domain_id, account_id, kind, created_at) VALUES (?, ?, ?, ?, ?)', [addr.address, d.id, id, 'primary', now]);
    const modseq = await nextModseq(q, id);
    const uidValidity = Math.floor(now / 1000) >>> 0;
    for (const mb of DEFAULT_MAILBOXES) {
      const mbId = newId('m');
      await q.run(
        'INSERT INTO mailboxes (id, account_id, name, role, uid_validity, uid_next, highest_modseq, subscribed, created_at) VALUES (?, ?, ?, ?, ?, 1, ?, 1, ?)',
        [mbId, id, mb.name, mb.role, uidValidity, modseq, now],
      );
      await logChanges(q, id, modseq, now, [{ type: 'mailbox', op: 'create', objectId: mbId }]);
    }
    await auditIn(q, now, { event: 'admin.account.add', ok: true, accountId: id, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: addr.address, detail: { kind, roles: input.roles ?? [] } });
    const row = await q.get<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`, [id]);
    return toAccount(row!);
  });
  return account;
}

/** Finds a live account by id. */
export async function getAccount(ctx: Context, id: string): Promise<Account | undefined> {
  const r = await ctx.store.read((q) => q.get<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ? AND deleted_at IS NULL`, [id]));
  return r && toAccount(r);
}

/** Finds a live account by its login (primary) address. */
export async function getAccountByAddress(ctx: Context, address: string): Promise<Account | undefined> {
  const a = canonicalAddress(address);
  if (!a) return undefined;
  const r = await ctx.store.read((q) => q.get<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE address = ? AND deleted_at IS NULL`, [a.address]));
  return r && toAccount(r);
}

/** Lists live accounts, optionally of one domain. */
export async function listAccounts(ctx: Context, domain?: string): Promise<Account[]> {
  const rows = await ctx.store.read(async (q) => {
    if (domain === undefined) return q.all<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE deleted_at IS NULL ORDER BY address`);
    const d = await domainRow(q, mustDomain(domain));
    if (!d) throw new NotFound(`no domain ${domain}`);
    return q.all<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE domain_id = ? AND deleted_at IS NULL ORDER BY address`, [d.id]);
  });
  return rows.map(toAccount);
}

async function liveAccountId(q: Queryable, address: string): Promise<string> {
  const a = mustAddress(address);
  const r = await q.get<{ id: string }>('SELECT id FROM accounts WHERE address = ? AND deleted_at IS NULL', [a.address]);
  if (!r) throw new NotFound(`no account ${a.address}`);
  return r.id;
}

/** Sets an account's password (and audits it). */
export async function setPassword(ctx: Context, address: string, password: string, actor: Actor): Promise<void> {
  if (password.length === 0) throw new InvalidInput('the password is empty');
  const hash = await hashPassword(password);
  const now = ctx.clock.now();
  await ctx.store.write(async (q) => {
    const id = await liveAccountId(q, address);
    await q.run('UPDATE accounts SET password_hash = ? WHERE id = ?', [hash, id]);
    await auditIn(q, now, { event: 'account.password.change', ok: true, accountId: id, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: address });
  });
}

/** Sets an account's quota in bytes (0 = unlimited). */
export async function setQuota(ctx: Context, address: string, quotaBytes: number, actor: Actor): Promise<void> {
  if (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0) throw new InvalidInput('quota must be a whole number of bytes, 0 for unlimited');
  const now = ctx.clock.now();
  await ctx.store.write(async (q) => {
    const id = await liveAccountId(q, address);
    await q.run('UPDATE accounts SET quota_bytes = ? WHERE id = ?', [quotaBytes, id]);
    await auditIn(q, now, { event: 'admin.account.quota', ok: true, accountId: id, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: address, detail: { quotaBytes } });
  });
}

/** Grants or revokes a role. */
export async function setRoles(ctx: Context, address: string, roles: Role[], actor: Actor): Promise<void> {
  const now = ctx.clock.now();
  await ctx.store.write(async (q) => {
    const id = await liveAccountId(q, address);
    await q.run('UPDATE accounts SET roles = ? WHERE id = ?', [roles.join(','), id]);
    await auditIn(q, now, { event: 'admin.account.roles', ok: true, accountId: id, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: address, detail: { roles } });
  });
}

/**
 * Soft-deletes an account: it stops resolving and logging in at once, its addresses are
 * freed, its app passwords revoked; its data stays until the retention period has passed.
 */
export async function removeAccount(ctx: Context, address: string, actor: Actor): Promise<void> {
  const now = ctx.clock.now();
  await ctx.store.write(async (q) => {
    const id = await liveAccountId(q, address);
    await q.run('DELETE FROM addresses WHERE account_id = ?', [id]);
    await q.run('DELETE FROM group_members WHERE group_id = ? OR member_id = ?', [id, id]);
    await q.run('UPDATE app_passwords SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL', [now, id]);
    await q.run('UPDATE accounts SET deleted_at = ? WHERE id = ?', [now, id]);
    await auditIn(q, now, { event: 'admin.account.remove', ok: true, accountId: id, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: address });
  });
}

// ---------------------------------------------------------------------------------------
// Aliases and catch-all

/** An alias row. */
export interface Alias {
  address: string;
  target: string;
  kind: 'alias' | 'catchall';
}

/**
 * Adds an alias `address` → the account `target`. An address of the form `@domain` (or
 * `*@domain`) is the domain's catch-all.
 */
export async function addAlias(ctx: Context, address: string, target: string, actor: Actor): Promise<Alias> {
  const isCatchAll = address.startsWith('@') || address.startsWith('*@');
  let key: string;
  let domainName: string;
  if (isCatchAll) {
    domainName = mustDomain(address.slice(address.indexOf('@') + 1));
    key = '@' + domainName;
  } else {
    const a = mustAddress(address);
    if (a.local.includes('+')) throw new InvalidInput('an alias cannot contain "+": it is the subaddress separator');
    domainName = a.domain;
    key = a.address;
  }
  const now = ctx.clock.now();
  return ctx.store.write(async (q) => {
    const d = await domainRow(q, domainName);
    if (!d) throw new NotFound(`${domainName} is not a local domain`);
    const targetId = await liveAccountId(q, target);
    if (await q.get('SELECT 1 AS x FROM addresses WHERE address = ?', [key])) throw new AlreadyExists(`address ${key} is taken`);
    const kind = isCatchAll ? 'catchall' : 'alias';
    await q.run('INSERT INTO addresses (address, domain_id, account_id, kind, created_at) VALUES (?, ?, ?, ?, ?)', [key, d.id, targetId, kind, now]);
    await auditIn(q, now, { event: 'admin.alias.add', ok: true, accountId: targetId, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: key, detail: { target } });
    return { address: key, target: mustAddress(target).address, kind };
  });
}

/** Lists aliases and catch-alls, optionally of one domain. */
export async function listAliases(ctx: Context, domain?: string): Promise<Alias[]> {
  const rows = await ctx.store.read(async (q) => {
    const sql = `SELECT ad.address, ad.kind, ac.address AS target FROM addresses ad JOIN accounts ac ON ac.id = ad.account_id
      WHERE ad.kind IN ('alias', 'catchall')`;
    if (domain === undefined) return q.all<{ address: string; kind: 'alias' | 'catchall'; target: string }>(sql + ' ORDER BY ad.address');
    const d = await domainRow(q, mustDomain(domain));
    if (!d) throw new NotFound(`no domain ${domain}`);
    return q.all<{ address: string; kind: 'alias' | 'catchall'; target: string }>(sql + ' AND ad.domain_id = ? ORDER BY ad.address', [d.id]);
  });
  return rows.map((r) => ({ address: r.address, target: r.target, kind: r.kind }));
}

/** Removes an alias or catch-all. */
export async function removeAlias(ctx: Context, address: string, actor: Actor): Promise<void> {
  const key = address.startsWith('@') || address.startsWith('*@') ? '@' + mustDomain(address.slice(address.indexOf('@') + 1)) : mustAddress(address).address;
  const now = ctx.clock.now();
  await ctx.store.write(async (q) => {
    const r = await q.get<{ account_id: string }>("SELECT account_id FROM addresses WHERE address = ? AND kind IN ('alias', 'catchall')", [key]);
    if (!r) throw new NotFound(`no alias ${key}`);
    await q.run('DELETE FROM addresses WHERE address = ?', [key]);
    await auditIn(q, now, { event: 'admin.alias.remove', ok: true, accountId: r.account_id, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: key });
  });
}

// ---------------------------------------------------------------------------------------
// Groups

/** Adds and removes members of a group account. */
export async function setGroupMembers(ctx: Context, group: string, change: { add?: string[]; remove?: string[] }, actor: Actor): Promise<string[]> {
  const now = ctx.clock.now();
  return ctx.store.write(async (q) => {
    const gid = await liveAccountId(q, group);
    const g = await q.get<{ kind: string }>('SELECT kind FROM accounts WHERE id = ?', [gid]);
    if (g?.kind !== 'group') throw new InvalidInput(`${group} is not a group`);
    for (const m of change.add ?? []) {
      const mid = await liveAccountId(q, m);
      if (mid === gid) throw new InvalidInput('a group cannot contain itself');
      const existing = await q.get('SELECT 1 AS x FROM group_members WHERE group_id = ? AND member_id = ?', [gid, mid]);
      if (!existing) await q.run('INSERT INTO group_members (group_id, member_id) VALUES (?, ?)', [gid, mid]);
    }
    for (const m of change.remove ?? []) {
      const mid = await liveAccountId(q, m);
      await q.run('DELETE FROM group_members WHERE group_id = ? AND member_id = ?', [gid, mid]);
    }
    await auditIn(q, now, { event: 'admin.group.members', ok: true, accountId: gid, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: group, detail: { add: change.add ?? [], remove: change.remove ?? [] } });
    const rows = await q.all<{ address: string }>(
      'SELECT a.address FROM group_members gm JOIN accounts a ON a.id = gm.member_id WHERE gm.group_id = ? AND a.deleted_at IS NULL ORDER BY a.address',
      [gid],
    );
    return rows.map((r) => r.address);
  });
}

/** The member addresses of a group. */
export async function groupMembers(ctx: Context, group: string): Promise<string[]> {
  return ctx.store.read(async (q) => {
    const gid = await liveAccountId(q, group);
    const rows = await q.all<{ address: string }>(
      'SELECT a.address FROM group_members gm JOIN accounts a ON a.id = gm.member_id WHERE gm.group_id = ? AND a.deleted_at IS NULL ORDER BY a.address',
      [gid],
    );
    return rows.map((r) => r.address);
  });
}

// ---------------------------------------------------------------------------------------
// Recipient resolution

/** Whether a domain is local. */
export async function isLocalDomain(ctx: Context, name: string): Promise<boolean> {
  return (await getDomain(ctx, name)) !== undefined;
}

/**
 * The accounts a recipient address delivers to: its own account, an alias's target, the
 * members of a group (nested groups expanded, each account once), or the catch-all; a
 * `user+tag@` address reaches `user@`. Empty when nothing matches.
 */
export async function resolveRecipient(ctx: Context, address: string): Promise<string[]> {
  const a = canonicalAddress(address);
  if (!a) return [];
  return ctx.store.read(async (q) => {
    const lookup = async (key: string) => (await q.get<{ account_id: string }>('SELECT account_id FROM addresses WHERE address = ?', [key]))?.account_id;
    let id = await lookup(a.address);
    const base = withoutSubaddress(a);
    if (id === undefined && base) id = await lookup(base.address);
    if (id === undefined) id = await lookup('@' + a.domain);
    if (id === undefined) return [];
    const out = new Set<string>();
    const seen = new Set<string>();
    const expand = async (accountId: string, depth: number): Promise<void> => {
      if (seen.has(accountId) || depth > 8) return;
      seen.add(accountId);
      const acc = await q.get<{ kind: string }>('SELECT kind FROM accounts WHERE id = ? AND deleted_at IS NULL', [accountId]);
      if (!acc) return;
      if (acc.kind !== 'group') {
        out.add(accountId);
        return;
      }
      const members = await q.all<{ member_id: string }>('SELECT member_id FROM group_members WHERE group_id = ?', [accountId]);
      for (const m of members) await expand(m.member_id, depth + 1);
    };
    await expand(id, 0);
    return [...out];
  });
}

// ---------------------------------------------------------------------------------------
// App passwords

/** An app password as listed (never with its secret). */
export interface AppPasswordInfo {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** Creates an app password; the secret is returned once and stored only hashed. */
export async function addAppPassword(ctx: Context, address: string, name: string, actor: Actor): Promise<{ id: string; password: string }> {
  if (!name.trim()) throw new InvalidInput('an app password needs a name (the device it is for)');
  const gen = generateAppPassword();
  const secretHash = hashAppSecret(gen.secret);
  const now = ctx.clock.now();
  await ctx.store.write(async (q) => {
    const id = await liveAccountId(q, address);
    await q.run('INSERT INTO app_passwords (id, account_id, name, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)', [gen.id, id, name.trim(), secretHash, now]);
    await auditIn(q, now, { event: 'account.app_password.add', ok: true, accountId: id, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: address, detail: { appPasswordId: gen.id, name: name.trim() } });
  });
  return { id: gen.id, password: gen.display };
}

/** Lists an account's app passwords. */
export async function listAppPasswords(ctx: Context, address: string): Promise<AppPasswordInfo[]> {
  return ctx.store.read(async (q) => {
    const id = await liveAccountId(q, address);
    const rows = await q.all<{ id: string; name: string; created_at: number; last_used_at: number | null; revoked_at: number | null }>(
      'SELECT id, name, created_at, last_used_at, revoked_at FROM app_passwords WHERE account_id = ? ORDER BY created_at',
      [id],
    );
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: Number(r.created_at), lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at), revokedAt: r.revoked_at === null ? null : Number(r.revoked_at) }));
  });
}

/** Revokes an app password. */
export async function revokeAppPassword(ctx: Context, address: string, appPasswordId: string, actor: Actor): Promise<void> {
  const now = ctx.clock.now();
  await ctx.store.write(async (q) => {
    const id = await liveAccountId(q, address);
    const r = await q.run('UPDATE app_passwords SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL', [now, appPasswordId, id]);
    if (r.changes === 0) throw new NotFound(`no active app password ${appPasswordId}`);
    await auditIn(q, now, { event: 'account.app_password.revoke', ok: true, accountId: id, actor: actor.name, protocol: actor.protocol, source: actor.source, subject: address, detail: { appPasswordId } });
  });
}
