/**
 * The audit trail: append-only security events (DESIGN.md rule 7), its own stream apart from
 * the logs. Written inside the transaction of the action it records where there is one, so
 * an action and its audit row commit together. Nothing updates or deletes these rows.
 */
import type { Context } from '../context.js';
import type { Queryable, SqlValue } from '../../store/port.js';

/** Names of audited events; alerting rules match on them. */
export type AuditEventName =
  | 'auth.login'
  | 'auth.failure'
  | 'auth.throttled'
  | 'admin.domain.add'
  | 'admin.domain.remove'
  | 'admin.account.add'
  | 'admin.account.remove'
  | 'admin.account.quota'
  | 'admin.account.roles'
  | 'admin.alias.add'
  | 'admin.alias.remove'
  | 'admin.group.members'
  | 'account.password.change'
  | 'account.app_password.add'
  | 'account.app_password.revoke'
  | 'account.forwarding.add'
  | 'account.delegation.change'
  | 'account.acl.change'
  | 'account.export';

/** One audit event as recorded. */
export interface AuditEvent {
  event: AuditEventName;
  ok: boolean;
  /** The account the event is about, if any. */
  accountId?: string | null;
  /** Who did it: an account address, "cli:<user>", or "system". */
  actor?: string | null;
  /** What it was done to, in words (an address, a domain). */
  subject?: string | null;
  /** Source address of the client, if over the network. */
  source?: string | null;
  /** Protocol (imap, smtp, pop3, http, cli). */
  protocol?: string | null;
  /** Extra facts; never passwords or message bodies. */
  detail?: Record<string, unknown>;
}

/** A stored audit event. */
export interface AuditRecord extends AuditEvent {
  id: number;
  at: number;
}

/** Appends an audit event inside an open transaction. */
export async function auditIn(q: Queryable, nowMs: number, e: AuditEvent): Promise<void> {
  await q.run(
    'INSERT INTO audit (at, event, ok, account_id, actor, subject, source, protocol, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [nowMs, e.event, e.ok ? 1 : 0, e.accountId ?? null, e.actor ?? null, e.subject ?? null, e.source ?? null, e.protocol ?? null, JSON.stringify(e.detail ?? {})],
  );
}

/** Appends an audit event in a transaction of its own. */
export async function audit(ctx: Context, e: AuditEvent): Promise<void> {
  await ctx.store.write((q) => auditIn(q, ctx.clock.now(), e));
}

/** Filters for reading the audit trail. */
export interface AuditQuery {
  sinceMs?: number;
  accountId?: string;
  event?: string;
  limit?: number;
}

/** Reads audit events, oldest first. */
export async function readAudit(ctx: Context, f: AuditQuery = {}): Promise<AuditRecord[]> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (f.sinceMs !== undefined) (where.push('at >= ?'), params.push(f.sinceMs));
  if (f.accountId !== undefined) (where.push('account_id = ?'), params.push(f.accountId));
  if (f.event !== undefined) (where.push('event = ?'), params.push(f.event));
  params.push(f.limit ?? 10_000);
  const rows = await ctx.store.read((q) =>
    q.all<{ id: number; at: number; event: AuditEventName; ok: number; account_id: string | null; actor: string | null; subject: string | null; source: string | null; protocol: string | null; detail: string }>(
      `SELECT id, at, event, ok, account_id, actor, subject, source, protocol, detail FROM audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`,
      params,
    ),
  );
  return rows.map((r) => ({
    id: Number(r.id),
    at: Number(r.at),
    event: r.event,
    ok: r.ok === 1,
    accountId: r.account_id,
    actor: r.actor,
    subject: r.subject,
    source: r.source,
    protocol: r.protocol,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  }));
}
