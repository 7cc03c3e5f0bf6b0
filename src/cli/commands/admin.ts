/** Administrative commands over core: domains, users, aliases, groups, app passwords, audit, gc. */
import { randomBytes } from 'node:crypto';
import * as accounts from '../../core/accounts/index.js';
import { readAudit } from '../../core/audit/index.js';
import { collectGarbage } from '../../core/gc.js';
import { cliActor, parseSize, positionals, printTable, readPasswordFromStdin, UsageError, withContext, type Command } from '../support.js';

function formatBytes(n: number): string {
  if (n === 0) return '0';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${Number.isInteger(v) ? v : v.toFixed(1)}${units[i]}`;
}

/** A readable generated password: 20 characters from an unambiguous alphabet (≈100 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

const domainAdd: Command = {
  path: ['domain', 'add'],
  summary: 'Add a local domain (and generate its DKIM keys).',
  args: 'DOMAIN',
  async run(a, io) {
    const [name] = positionals(this, a, ['DOMAIN']);
    const d = await withContext(a.dataDir, io.env, (c) => accounts.addDomain(c.ctx, name!, cliActor(io.env)));
    if (a.json) io.stdout(JSON.stringify(d) + '\n');
    else io.stdout(`added domain ${d.name}; publish its DNS records: bulwark dns ${d.name}\n`);
    return 0;
  },
};

const domainList: Command = {
  path: ['domain', 'list'],
  summary: 'List local domains.',
  async run(a, io) {
    positionals(this, a, []);
    const ds = await withContext(a.dataDir, io.env, (c) => accounts.listDomains(c.ctx));
    printTable(io, a.json, ds.map((d) => ({ name: d.name, unicode: accounts.displayDomain(d.name), created: new Date(d.createdAt).toISOString() })), ['name', 'unicode', 'created']);
    return 0;
  },
};

const domainRemove: Command = {
  path: ['domain', 'remove'],
  summary: 'Remove a local domain (refused while it has accounts).',
  args: 'DOMAIN',
  async run(a, io) {
    const [name] = positionals(this, a, ['DOMAIN']);
    await withContext(a.dataDir, io.env, (c) => accounts.removeDomain(c.ctx, name!, cliActor(io.env)));
    if (!a.json) io.stdout(`removed domain ${name}\n`);
    return 0;
  },
};

const userAdd: Command = {
  path: ['user', 'add'],
  summary: 'Add an account. Its password is read from stdin with --password-stdin, else generated and printed once.',
  args: 'ADDRESS',
  options: {
    'password-stdin': { type: 'boolean' },
    name: { type: 'string' },
    quota: { type: 'string' },
    kind: { type: 'string' },
    admin: { type: 'boolean' },
  },
  help: 'Kinds: individual (default), resource, shared. Quota like 10G, 0 = unlimited.\nGroups: bulwark group add.',
  async run(a, io) {
    const [address] = positionals(this, a, ['ADDRESS']);
    const kind = (a.values.kind as string | undefined) ?? 'individual';
    if (!['individual', 'resource', 'shared'].includes(kind)) throw new UsageError(`--kind must be individual, resource or shared (groups: bulwark group add)`);
    const quotaBytes = typeof a.values.quota === 'string' ? parseSize(a.values.quota) : undefined;
    const generated = a.values['password-stdin'] ? null : generatePassword();
    const password = generated ?? readPasswordFromStdin(io);
    const acc = await withContext(a.dataDir, io.env, (c) =>
      accounts.addAccount(
        c.ctx,
        { address: address!, kind: kind as accounts.AccountKind, password, displayName: a.values.name as string | undefined, quotaBytes, roles: a.values.admin ? ['admin'] : [] },
        cliActor(io.env),
      ),
    );
    if (a.json) io.stdout(JSON.stringify({ ...acc, ...(generated ? { password: generated } : {}) }) + '\n');
    else io.stdout(`added ${acc.address}${acc.roles.length ? ` (${acc.roles.join(', ')})` : ''}\n${generated ? `password: ${generated}\n(shown once; store it now)\n` : ''}`);
    return 0;
  },
};

const userList: Command = {
  path: ['user', 'list'],
  summary: 'List accounts, optionally of one domain.',
  args: '[DOMAIN]',
  async run(a, io) {
    if (a.positionals.length > 1) throw new UsageError('expected at most one DOMAIN');
    const list = await withContext(a.dataDir, io.env, (c) => accounts.listAccounts(c.ctx, a.positionals[0]));
    printTable(
      io,
      a.json,
      list.map((x) => (a.json ? { ...x } : { address: x.address, kind: x.kind, roles: x.roles.join(',') || '-', used: formatBytes(x.usedBytes), quota: x.quotaBytes ? formatBytes(x.quotaBytes) : 'unlimited', name: x.displayName || '-' })),
      ['address', 'kind', 'roles', 'used', 'quota', 'name'],
    );
    return 0;
  },
};

const userPasswd: Command = {
  path: ['user', 'passwd'],
  summary: "Set an account's password (from stdin with --password-stdin, else generated and printed once).",
  args: 'ADDRESS',
  options: { 'password-stdin': { type: 'boolean' } },
  async run(a, io) {
    const [address] = positionals(this, a, ['ADDRESS']);
    const generated = a.values['password-stdin'] ? null : generatePassword();
    const password = generated ?? readPasswordFromStdin(io);
    await withContext(a.dataDir, io.env, (c) => accounts.setPassword(c.ctx, address!, password, cliActor(io.env)));
    if (a.json) io.stdout(JSON.stringify(generated ? { password: generated } : {}) + '\n');
    else io.stdout(`password of ${address} changed\n${generated ? `password: ${generated}\n` : ''}`);
    return 0;
  },
};

const userRemove: Command = {
  path: ['user', 'remove'],
  summary: 'Remove an account (its data is kept for the retention period, then collected).',
  args: 'ADDRESS',
  async run(a, io) {
    const [address] = positionals(this, a, ['ADDRESS']);
    await withContext(a.dataDir, io.env, (c) => accounts.removeAccount(c.ctx, address!, cliActor(io.env)));
    if (!a.json) io.stdout(`removed ${address}\n`);
    return 0;
  },
};

const userQuota: Command = {
  path: ['user', 'quota'],
  summary: "Show or set an account's storage quota (e.g. 10G; 0 = unlimited).",
  args: 'ADDRESS [SIZE]',
  async run(a, io) {
    if (a.positionals.length < 1 || a.positionals.length > 2) throw new UsageError('expected ADDRESS [SIZE]');
    const [address, size] = a.positionals;
    const acc = await withContext(a.dataDir, io.env, async (c) => {
      if (size !== undefined) await accounts.setQuota(c.ctx, address!, parseSize(size), cliActor(io.env));
      const found = await accounts.getAccountByAddress(c.ctx, address!);
      if (!found) throw new UsageError(`no account ${address}`);
      return found;
    });
    if (a.json) io.stdout(JSON.stringify({ address: acc.address, quotaBytes: acc.quotaBytes, usedBytes: acc.usedBytes }) + '\n');
    else io.stdout(`${acc.address}: ${formatBytes(acc.usedBytes)} used of ${acc.quotaBytes ? formatBytes(acc.quotaBytes) : 'unlimited'}\n`);
    return 0;
  },
};

const userRole: Command = {
  path: ['user', 'role'],
  summary: 'Grant (--admin) or revoke (--no-admin) the admin role.',
  args: 'ADDRESS',
  options: { admin: { type: 'boolean' }, 'no-admin': { type: 'boolean' } },
  async run(a, io) {
    const [address] = positionals(this, a, ['ADDRESS']);
    if (!!a.values.admin === !!a.values['no-admin']) throw new UsageError('give exactly one of --admin or --no-admin');
    await withContext(a.dataDir, io.env, (c) => accounts.setRoles(c.ctx, address!, a.values.admin ? ['admin'] : [], cliActor(io.env)));
    if (!a.json) io.stdout(`${address}: ${a.values.admin ? 'admin' : 'no roles'}\n`);
    return 0;
  },
};

const aliasAdd: Command = {
  path: ['alias', 'add'],
  summary: 'Add an alias to an account; "@domain" is the catch-all of a domain.',
  args: 'ALIAS TARGET',
  async run(a, io) {
    const [alias, target] = positionals(this, a, ['ALIAS', 'TARGET']);
    const r = await withContext(a.dataDir, io.env, (c) => accounts.addAlias(c.ctx, alias!, target!, cliActor(io.env)));
    if (a.json) io.stdout(JSON.stringify(r) + '\n');
    else io.stdout(`${r.address} -> ${r.target}\n`);
    return 0;
  },
};

const aliasList: Command = {
  path: ['alias', 'list'],
  summary: 'List aliases and catch-alls, optionally of one domain.',
  args: '[DOMAIN]',
  async run(a, io) {
    if (a.positionals.length > 1) throw new UsageError('expected at most one DOMAIN');
    const list = await withContext(a.dataDir, io.env, (c) => accounts.listAliases(c.ctx, a.positionals[0]));
    printTable(io, a.json, list.map((x) => ({ ...x })), ['address', 'target', 'kind']);
    return 0;
  },
};

const aliasRemove: Command = {
  path: ['alias', 'remove'],
  summary: 'Remove an alias or catch-all.',
  args: 'ALIAS',
  async run(a, io) {
    const [alias] = positionals(this, a, ['ALIAS']);
    await withContext(a.dataDir, io.env, (c) => accounts.removeAlias(c.ctx, alias!, cliActor(io.env)));
    if (!a.json) io.stdout(`removed ${alias}\n`);
    return 0;
  },
};

const groupAdd: Command = {
  path: ['group', 'add'],
  summary: 'Add a group address; mail to it reaches every member.',
  args: 'ADDRESS',
  options: { name: { type: 'string' } },
  async run(a, io) {
    const [address] = positionals(this, a, ['ADDRESS']);
    const g = await withContext(a.dataDir, io.env, (c) => accounts.addAccount(c.ctx, { address: address!, kind: 'group', displayName: a.values.name as string | undefined, quotaBytes: 0 }, cliActor(io.env)));
    if (a.json) io.stdout(JSON.stringify(g) + '\n');
    else io.stdout(`added group ${g.address}\n`);
    return 0;
  },
};

const groupMembers: Command = {
  path: ['group', 'members'],
  summary: 'Show, add (--add) or remove (--remove) members of a group.',
  args: 'GROUP',
  options: { add: { type: 'string', multiple: true }, remove: { type: 'string', multiple: true } },
  async run(a, io) {
    const [group] = positionals(this, a, ['GROUP']);
    const add = (a.values.add as string[] | undefined) ?? [];
    const remove = (a.values.remove as string[] | undefined) ?? [];
    const members = await withContext(a.dataDir, io.env, (c) =>
      add.length || remove.length ? accounts.setGroupMembers(c.ctx, group!, { add, remove }, cliActor(io.env)) : accounts.groupMembers(c.ctx, group!),
    );
    if (a.json) io.stdout(JSON.stringify(members) + '\n');
    else io.stdout(members.map((m) => m + '\n').join(''));
    return 0;
  },
};

const appPasswordAdd: Command = {
  path: ['app-password', 'add'],
  summary: 'Create an app password for a device; it is printed once.',
  args: 'ADDRESS NAME',
  async run(a, io) {
    const [address, name] = positionals(this, a, ['ADDRESS', 'NAME']);
    const r = await withContext(a.dataDir, io.env, (c) => accounts.addAppPassword(c.ctx, address!, name!, cliActor(io.env)));
    if (a.json) io.stdout(JSON.stringify(r) + '\n');
    else io.stdout(`app password ${r.id} for ${name}:\n${r.password}\n(shown once; enter it in the device instead of the account password)\n`);
    return 0;
  },
};

const appPasswordList: Command = {
  path: ['app-password', 'list'],
  summary: "List an account's app passwords.",
  args: 'ADDRESS',
  async run(a, io) {
    const [address] = positionals(this, a, ['ADDRESS']);
    const list = await withContext(a.dataDir, io.env, (c) => accounts.listAppPasswords(c.ctx, address!));
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    printTable(io, a.json, list.map((x) => (a.json ? { ...x } : { id: x.id, name: x.name, created: iso(x.createdAt), 'last-used': iso(x.lastUsedAt), revoked: iso(x.revokedAt) })), ['id', 'name', 'created', 'last-used', 'revoked']);
    return 0;
  },
};

const appPasswordRevoke: Command = {
  path: ['app-password', 'revoke'],
  summary: 'Revoke an app password.',
  args: 'ADDRESS ID',
  async run(a, io) {
    const [address, id] = positionals(this, a, ['ADDRESS', 'ID']);
    await withContext(a.dataDir, io.env, (c) => accounts.revokeAppPassword(c.ctx, address!, id!, cliActor(io.env)));
    if (!a.json) io.stdout(`revoked ${id}\n`);
    return 0;
  },
};

/** Parses --since: an ISO date/time or a relative "15m", "2h", "7d". */
function parseSince(text: string, now: number): number {
  const rel = /^(\d+)([smhd])$/.exec(text);
  if (rel) return now - Number(rel[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`invalid --since ${JSON.stringify(text)}: use an ISO date or 15m, 2h, 7d`);
  return t;
}

const auditCmd: Command = {
  path: ['audit'],
  summary: 'Read the audit trail (logins, failures, admin actions, password and app-password changes).',
  options: { since: { type: 'string' }, account: { type: 'string' }, event: { type: 'string' }, limit: { type: 'string' } },
  help: '--since takes an ISO date or a relative time (15m, 2h, 7d); --account an address.',
  async run(a, io) {
    positionals(this, a, []);
    const since = typeof a.values.since === 'string' ? parseSince(a.values.since, Date.now()) : undefined;
    const limit = typeof a.values.limit === 'string' ? Number(a.values.limit) : undefined;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit <= 0)) throw new UsageError('--limit must be a positive whole number');
    const rows = await withContext(a.dataDir, io.env, async (c) => {
      let accountId: string | undefined;
      if (typeof a.values.account === 'string') {
        const acc = await accounts.getAccountByAddress(c.ctx, a.values.account);
        if (!acc) throw new UsageError(`no account ${a.values.account}`);
        accountId = acc.id;
      }
      return readAudit(c.ctx, { sinceMs: since, accountId, event: a.values.event as string | undefined, limit });
    });
    if (a.json) {
      for (const r of rows) io.stdout(JSON.stringify({ ...r, at: new Date(r.at).toISOString() }) + '\n');
      return 0;
    }
    printTable(
      io,
      false,
      rows.map((r) => ({ time: new Date(r.at).toISOString(), event: r.event, result: r.ok ? 'ok' : 'FAIL', subject: r.subject, actor: r.actor, source: r.source, protocol: r.protocol })),
      ['time', 'event', 'result', 'subject', 'actor', 'source', 'protocol'],
    );
    return 0;
  },
};

const gcCmd: Command = {
  path: ['gc'],
  summary: 'Run the garbage collector once (the server also runs it on a timer).',
  async run(a, io) {
    positionals(this, a, []);
    const r = await withContext(a.dataDir, io.env, (c) => collectGarbage(c.ctx));
    io.stdout(a.json ? JSON.stringify(r) + '\n' : `removed ${r.messages} messages, ${r.accounts} accounts, ${r.blobs} blobs, ${r.orphanFiles} orphan files\n`);
    return 0;
  },
};

/** Every administrative command. */
export const adminCommands: Command[] = [
  domainAdd,
  domainList,
  domainRemove,
  userAdd,
  userList,
  userPasswd,
  userRemove,
  userQuota,
  userRole,
  aliasAdd,
  aliasList,
  aliasRemove,
  groupAdd,
  groupMembers,
  appPasswordAdd,
  appPasswordList,
  appPasswordRevoke,
  auditCmd,
  gcCmd,
];
