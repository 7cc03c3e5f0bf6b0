/**
 * The staged inbound delivery pipeline: what happens to a message after SMTP, LMTP (and later
 * JMAP submission to local recipients) accepted its envelope and data, until it is stored.
 *
 * Stages run in a fixed order of kinds, each kind a list that later issues extend without
 * rewriting this file's flow:
 *   1. checks      — whole-message verdicts (authentication/DMARC, later DNSBL, spam scoring)
 *   2. rules       — per-recipient rules (Sieve, later)
 *   3. vacation    — auto-replies (later)
 *   4. forwarding  — redirect/forward with SRS (later)
 * then `storeMessage` for every target in one call, so the caller acknowledges (250) only
 * after every recipient's copy is durable (DESIGN.md "Durable before acknowledged").
 *
 * Invariants: a stage never writes to the store itself; it returns a verdict. A reject from
 * a check stops the whole message before anything is stored.
 */
import type { Context } from '../context.js';
import { CoreError, Unavailable } from '../errors.js';
import { storeMessage, type StoreOutcome, type StoreTarget } from '../mail/store.js';
import type { AuthenticationResult } from './authenticate.js';

export { authenticateMessage, type AuthenticationResult, type AuthenticateOptions } from './authenticate.js';
export { reportLocalDelivery, type LocalReport, type ReportedRecipient } from './report.js';
export { maySubmit, countSubmission, sentThisHour } from './limits.js';
export { systemResolver, zoneResolver, isNoRecords, egressResolverOf, DnsLookupError, type DnsResolver, type Zone, type RrType } from './dns.js';

/** One recipient of an inbound message, resolved to the accounts it reaches. */
export interface DeliveryRecipient {
  /** The envelope address as given in RCPT TO. */
  address: string;
  /** The accounts it delivers to (resolveRecipient). */
  accountIds: string[];
}

/** The envelope and data of an inbound message. */
export interface InboundMessage {
  /** The raw message as it will be stored (trace and authentication headers already on top). */
  raw: Uint8Array;
  /** MAIL FROM, "" for the null reverse-path. */
  mailFrom: string;
  recipients: DeliveryRecipient[];
  /** The connecting client's address. */
  clientAddress: string;
  /** Results of SPF/DKIM/DMARC/ARC, when they were checked (MX), else null. */
  authentication: AuthenticationResult | null;
}

/** Where one account's copy goes, as stages decide it. */
export interface DeliveryPlan {
  accountId: string;
  /** The recipient address it came through. */
  address: string;
  /** Mailbox role to file into (RFC 6154 special use): "inbox" or "junk" today. */
  role: string;
  flags: string[];
  /** Set when a stage dropped this copy (a rule's discard); nothing is stored for it. */
  isDiscarded: boolean;
}

/** What a check stage decides for the whole message. */
export type CheckVerdict =
  | { action: 'continue' }
  /** Refuse the message; `reason` selects the protocol's reply. */
  | { action: 'reject'; reason: 'dmarc' | 'policy'; text: string }
  /** File every copy into the Junk mailbox. */
  | { action: 'junk'; text: string };

/** A whole-message check (authentication verdicts, DNSBL, spam scoring). */
export interface CheckStage {
  name: string;
  check(ctx: Context, message: InboundMessage): Promise<CheckVerdict>;
}

/** A per-copy stage (Sieve rules, vacation, forwarding): may change or drop a copy's plan. */
export interface CopyStage {
  name: string;
  apply(ctx: Context, message: InboundMessage, plan: DeliveryPlan): Promise<DeliveryPlan>;
}

/** The stages of a pipeline, by kind, in the order they run. */
export interface DeliveryStages {
  checks: CheckStage[];
  rules: CopyStage[];
  vacation: CopyStage[];
  forwarding: CopyStage[];
}

/** The outcome for one envelope recipient. */
export type RecipientOutcome = { address: string; ok: true } | { address: string; ok: false; error: CoreError };

/** The outcome of a delivery. */
export type DeliveryResult =
  | { kind: 'rejected'; reason: 'dmarc' | 'policy'; text: string }
  | { kind: 'delivered'; recipients: RecipientOutcome[]; stored: StoreOutcome[] };

/**
 * RFC 7489 §6.6.3 / §10.3: applies the sender domain's DMARC policy when the message failed
 * DMARC: "reject" refuses it, "quarantine" files it as Junk. The mail of a domain without a
 * record, or that passed, continues.
 */
export const dmarcPolicyStage: CheckStage = {
  name: 'dmarc-policy',
  async check(_ctx, message) {
    const dmarc = message.authentication?.dmarc;
    if (!dmarc || dmarc.result !== 'fail') return { action: 'continue' };
    // ARC (RFC 8617 §7.2.1): a passing chain from a forwarder may override a DMARC failure;
    // without a trusted-sealer list we do not override, but record it in the headers.
    if (dmarc.policy === 'reject') return { action: 'reject', reason: 'dmarc', text: `DMARC policy of ${dmarc.domain} is reject` };
    if (dmarc.policy === 'quarantine') return { action: 'junk', text: `DMARC policy of ${dmarc.domain} is quarantine` };
    return { action: 'continue' };
  },
};

/** The stages Bulwark runs today: the DMARC policy check; the other kinds are empty. */
export function defaultStages(): DeliveryStages {
  return { checks: [dmarcPolicyStage], rules: [], vacation: [], forwarding: [] };
}

/**
 * Runs the pipeline and stores the message. Resolves after every stored copy is durable; a
 * recipient succeeds when each of its accounts got its copy.
 */
export async function deliverInbound(ctx: Context, message: InboundMessage, stages: DeliveryStages = defaultStages()): Promise<DeliveryResult> {
  let role = 'inbox';
  for (const stage of stages.checks) {
    const v = await stage.check(ctx, message);
    if (v.action === 'reject') return { kind: 'rejected', reason: v.reason, text: v.text };
    if (v.action === 'junk') role = 'junk';
  }
  const plans: DeliveryPlan[] = [];
  const seen = new Set<string>();
  for (const r of message.recipients) {
    for (const accountId of r.accountIds) {
      // One copy per account, even when two recipient addresses (an alias and the primary) reach it.
      if (seen.has(accountId)) continue;
      seen.add(accountId);
      let plan: DeliveryPlan = { accountId, address: r.address, role, flags: [], isDiscarded: false };
      for (const stage of [...stages.rules, ...stages.vacation, ...stages.forwarding]) plan = await stage.apply(ctx, message, plan);
      plans.push(plan);
    }
  }
  const live = plans.filter((p) => !p.isDiscarded);
  const targets: StoreTarget[] = live.map((p) => ({ accountId: p.accountId, role: p.role, flags: p.flags }));
  const stored = targets.length > 0 ? await storeMessage(ctx, message.raw, targets) : [];
  const byAccount = new Map<string, StoreOutcome>();
  stored.forEach((o) => byAccount.set(o.accountId, o));
  const recipients: RecipientOutcome[] = message.recipients.map((r) => {
    for (const id of r.accountIds) {
      const o = byAccount.get(id);
      if (o && !o.ok) return { address: r.address, ok: false, error: o.error };
    }
    if (r.accountIds.length === 0) return { address: r.address, ok: false, error: new Unavailable('recipient no longer resolves') };
    return { address: r.address, ok: true };
  });
  return { kind: 'delivered', recipients, stored };
}
