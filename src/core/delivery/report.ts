/**
 * Delivery status notifications for local delivery (RFC 3461 §5.2.3, RFC 3464): a
 * "delivered" report for a recipient whose RCPT asked NOTIFY=SUCCESS, and a "failed" report
 * for a copy that failed after the transaction was acknowledged for the others (SMTP has one
 * reply per message, so the sender learns of that copy only this way). LMTP answers each
 * recipient itself and reports only successes here. Nothing is reported to the null
 * reverse-path: a bounce is never bounced (RFC 3461 §6.2, RFC 5321 §4.5.5).
 */
import type { Context } from '../context.js';
import { CoreError } from '../errors.js';
import { buildDsn, type DsnRecipient } from '../queue/dsn.js';
import { sendDsn } from '../queue/notify.js';
import type { Notify } from '../queue/store.js';
import type { RecipientOutcome } from './index.js';

/** One envelope recipient with what it asked for and what happened. */
export interface ReportedRecipient {
  outcome: RecipientOutcome;
  notify: Notify;
  orcpt: string | null;
}

/** What reportLocalDelivery needs. */
export interface LocalReport {
  /** This server's name (Reporting-MTA). */
  hostname: string;
  mailFrom: string;
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  arrivalDate: number;
  /** The message as stored. */
  raw: Uint8Array;
  recipients: ReportedRecipient[];
  /** Report failed copies too (SMTP); false when each failure got its own reply (LMTP). */
  isReportingFailures: boolean;
  maxReturnBytes: number;
}

/** RFC 3463 status of a copy that failed for good after the transaction was acknowledged. */
function statusOf(e: CoreError): { status: string; diagnostic: string } {
  switch (e.code) {
    case 'OverQuota':
      return { status: '5.2.2', diagnostic: 'smtp; 552 5.2.2 Mailbox full' };
    case 'TooLarge':
      return { status: '5.2.3', diagnostic: 'smtp; 552 5.2.3 Message too large for the mailbox' };
    case 'NotFound':
      return { status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 No such user here' };
    default:
      return { status: '5.3.0', diagnostic: 'smtp; 554 5.3.0 Local delivery failed' };
  }
}

const wants = (n: Notify, what: 'SUCCESS' | 'FAILURE'): boolean => (n === 'NEVER' ? false : n === null ? what === 'FAILURE' : n.includes(what));

/** Sends one DSN covering every recipient to report; resolves with how many were reported. */
export async function reportLocalDelivery(ctx: Context, r: LocalReport): Promise<number> {
  if (r.mailFrom === '') return 0;
  const lines: DsnRecipient[] = [];
  for (const { outcome, notify, orcpt } of r.recipients) {
    if (outcome.ok) {
      // RFC 3461 §5.2.3 (a)-(c): a "delivered" DSN only when NOTIFY named SUCCESS.
      if (wants(notify, 'SUCCESS')) lines.push({ address: outcome.address, orcpt, action: 'delivered', status: '2.0.0', remoteMta: null, diagnostic: null });
    } else if (r.isReportingFailures && wants(notify, 'FAILURE')) {
      // Deviation: no local retry queue yet, so a copy that failed after 250 (a full mailbox)
      // is final and reported as a permanent failure.
      const s = statusOf(outcome.error);
      lines.push({ address: outcome.address, orcpt, action: 'failed', status: s.status, remoteMta: null, diagnostic: s.diagnostic });
    }
  }
  if (lines.length === 0) return 0;
  const now = ctx.clock.now();
  const dsn = buildDsn({ hostname: r.hostname, to: r.mailFrom, envid: r.envid, arrivalDate: r.arrivalDate, now, recipients: lines, original: r.raw, ret: r.ret, maxReturnBytes: r.maxReturnBytes });
  const where = await sendDsn(ctx, dsn, r.mailFrom);
  ctx.log.info({ event: 'delivery.dsn', local: where === 'local', recipients: lines.length, failed: lines.filter((l) => l.action === 'failed').length }, 'delivery status notification sent');
  return lines.length;
}
