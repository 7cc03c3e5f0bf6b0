/**
 * End of DATA: turns an accepted transaction into core calls and returns the replies.
 * Submission: From check, Date/Message-ID, DKIM (core/delivery/submission), remote recipients
 * queued durably, local ones delivered. MX: trace and authentication headers, then the
 * delivery pipeline (DMARC policy included). LMTP: the pipeline, one reply per recipient.
 * Every reply is decided after the copies it acknowledges are durable; local copies that
 * failed behind a 250, and NOTIFY=SUCCESS, are reported by DSN (core/delivery/report.ts).
 */
import { randomBytes } from 'node:crypto';
import type { AuthSuccess } from '../../core/auth/index.js';
import type { Logger } from '../../core/context.js';
import { authenticateMessage, deliverInbound, reportLocalDelivery, type AuthenticationResult, type DeliveryRecipient, type RecipientOutcome } from '../../core/delivery/index.js';
import { prepareSubmission, renameForgedResults } from '../../core/delivery/submission.js';
import { Forbidden } from '../../core/errors.js';
import { enqueue, rfc5322Date } from '../../core/queue/index.js';
import { replyForError } from './errors.js';
import type { SmtpRuntime } from './runtime.js';
import type { MailParams, RcptParams } from './wire/command.js';
import * as R from './wire/replies.js';
import { reply, type Reply } from './wire/replies.js';

/** A mail transaction's envelope as the session collected it. */
export interface Envelope {
  mailFrom: string;
  params: MailParams;
  /** Local recipients with their accounts. */
  local: Array<DeliveryRecipient & { params: RcptParams }>;
  /** Remote recipients (authenticated submission only). */
  remote: Array<{ address: string; params: RcptParams }>;
  /** Count of RCPT commands accepted (for the recipient bound). */
  count: number;
}

/** What deliverTransaction needs from the session. */
export interface Transaction {
  mode: 'mx' | 'submission' | 'lmtp';
  helo: string;
  envelope: Envelope;
  message: Uint8Array;
  clientAddress: string;
  isTls: boolean;
  auth: AuthSuccess | null;
}

/** RFC 5321 §4.4 trace field; "with" keywords of RFC 3848 and RFC 6531 §3.7.3. */
export function traceHeader(rt: SmtpRuntime, t: Transaction, id: string): string {
  const env = t.envelope;
  let protocol = t.mode === 'lmtp' ? 'LMTP' : env.params.smtpUtf8 ? 'UTF8SMTP' : 'ESMTP';
  if (t.isTls) protocol += 'S';
  if (t.auth) protocol += 'A';
  const forClause = env.count === 1 ? ` for <${env.local[0]?.address ?? env.remote[0]?.address}>` : '';
  // RFC 5321 §4.1.3 address literal: "[IPv6:...]" for IPv6 clients.
  const ip = t.clientAddress.replace(/^::ffff:/, '');
  const literal = ip.includes(':') ? `IPv6:${ip}` : ip;
  return `Received: from ${t.helo} ([${literal}])\r\n\tby ${rt.options.hostname} (Bulwark) with ${protocol} id ${id}${forClause};\r\n\t${rfc5322Date(rt.ctx.clock.now())}\r\n`;
}

/** The one reply for a non-LMTP delivery: the first error when every copy failed, else 250. */
function summary(log: Logger, outcomes: RecipientOutcome[], id: string, hasOther: boolean): Reply {
  const failed = outcomes.filter((o) => !o.ok);
  const first = failed[0];
  if (!hasOther && first && !first.ok && failed.length === outcomes.length) return replyForError(first.error, log, 'DATA');
  // SMTP has one reply per message: a copy that failed for one of several recipients (over
  // quota) is reported to the sender by a DSN (RFC 3461 §6, see report()).
  if (failed.length > 0) log.warn({ event: 'smtp.deliver.partial', failed: failed.length }, 'some local copies failed');
  return reply(250, '2.0.0', `OK id=${id}`);
}

/**
 * Sends the DSN for local outcomes: "delivered" where NOTIFY=SUCCESS asked for it (RFC 3461
 * §5.2.3), "failed" for copies that failed after the message was accepted for others. The
 * copies are already durable, so a failure here is logged, never turned into the reply.
 */
async function report(rt: SmtpRuntime, log: Logger, t: Transaction, raw: Uint8Array, outcomes: RecipientOutcome[], arrivalDate: number, isReportingFailures: boolean): Promise<void> {
  const env = t.envelope;
  try {
    await reportLocalDelivery(rt.ctx, {
      hostname: rt.options.hostname,
      mailFrom: env.mailFrom,
      envid: env.params.envid,
      ret: env.params.ret,
      arrivalDate,
      raw,
      recipients: outcomes.map((outcome, i) => ({ outcome, notify: env.local[i]?.params.notify ?? null, orcpt: env.local[i]?.params.orcpt ?? null })),
      isReportingFailures,
      maxReturnBytes: MAX_RETURN_BYTES,
    });
  } catch (e) {
    // The 250 stands: every copy it acknowledges is stored; only the report is lost.
    log.error({ event: 'smtp.dsn.error', err: e instanceof Error ? e.message : String(e) }, 'could not send a delivery status notification');
  }
}

/** Largest original returned whole inside a DSN (as the queue's maxReturnBytes). */
const MAX_RETURN_BYTES = 256 * 1024;

/** Delivers or queues the message of a transaction; resolves with the replies to send. */
export async function deliverTransaction(rt: SmtpRuntime, log: Logger, t: Transaction): Promise<Reply[]> {
  const { ctx } = rt;
  const env = t.envelope;
  const id = randomBytes(6).toString('hex');
  const arrivalDate = ctx.clock.now();
  const trace = traceHeader(rt, t, id);
  if (t.mode === 'submission' && t.auth) {
    let prepared;
    try {
      prepared = await prepareSubmission(ctx, t.auth.accountId, t.message, { hostname: rt.options.hostname, mailFrom: env.mailFrom, received: trace });
    } catch (e) {
      if (e instanceof Forbidden) return [R.FROM_NOT_OWNED];
      throw e;
    }
    // Durable before acknowledged: the queue rows are committed before the 250 below.
    if (env.remote.length > 0) {
      await enqueue(ctx, {
        raw: prepared.raw,
        mailFrom: env.mailFrom,
        accountId: t.auth.accountId,
        envid: env.params.envid,
        ret: env.params.ret,
        recipients: env.remote.map((r) => ({ address: r.address, notify: r.params.notify, orcpt: r.params.orcpt })),
      });
      rt.kickQueue();
    }
    let outcomes: RecipientOutcome[] = [];
    if (env.local.length > 0) {
      const res = await deliverInbound(ctx, { raw: prepared.raw, mailFrom: env.mailFrom, recipients: env.local, clientAddress: t.clientAddress, authentication: null });
      if (res.kind === 'delivered') outcomes = res.recipients;
    }
    try {
      await rt.sendLimiter.record(t.auth.accountId);
    } catch (e) {
      // The message is stored and queued: failing its reply now would make the client send it twice.
      log.error({ event: 'smtp.rate_count.error', err: e instanceof Error ? e.message : String(e) }, 'could not count a submission');
    }
    log.info({ event: 'smtp.submitted', id, account: t.auth.accountId, local: env.local.length, remote: env.remote.length, size: prepared.raw.byteLength }, 'message submitted');
    const rep = summary(log, outcomes, id, env.remote.length > 0);
    if (rep.code === 250 && outcomes.length > 0) await report(rt, log, t, prepared.raw, outcomes, arrivalDate, true);
    return [rep];
  }
  // MX and LMTP: our trace and authentication headers go on top (RFC 8601 §5).
  // RFC 8601 §5: results that claim our authserv-id but come from outside are forgeries.
  const message = t.mode === 'mx' ? renameForgedResults(t.message, rt.options.hostname) : t.message;
  let raw: Uint8Array = Buffer.concat([Buffer.from(trace), message]);
  let authentication: AuthenticationResult | null = null;
  if (t.mode === 'mx' && rt.options.isAuthChecking) {
    authentication = await authenticateMessage(message, { mailFrom: env.mailFrom, clientAddress: t.clientAddress, helo: t.helo, hostname: rt.options.hostname, resolver: rt.resolver });
    raw = Buffer.concat([Buffer.from(authentication.headers), raw]);
  }
  const res = await deliverInbound(ctx, { raw, mailFrom: env.mailFrom, recipients: env.local, clientAddress: t.clientAddress, authentication });
  if (res.kind === 'rejected') {
    log.info({ event: 'smtp.data.rejected', reason: res.reason }, res.text);
    const rep = res.reason === 'dmarc' ? R.DMARC_REJECT : R.POLICY_REJECT;
    return t.mode === 'lmtp' ? env.local.map(() => rep) : [rep];
  }
  log.info({ event: 'smtp.delivered', id, recipients: env.local.length, size: raw.byteLength }, 'message delivered');
  if (t.mode === 'lmtp') {
    // Failures have their own replies; only NOTIFY=SUCCESS reports remain (RFC 3461 §5.2.3).
    await report(rt, log, t, raw, res.recipients, arrivalDate, false);
    // RFC 2033 §4.2: one reply per accepted recipient, in RCPT order, after the data.
    return res.recipients.map((o) => (o.ok ? reply(250, '2.1.5', `<${o.address}> delivered id=${id}`) : replyForError(o.error, log, 'DATA')));
  }
  const rep = summary(log, res.recipients, id, false);
  if (rep.code === 250) await report(rt, log, t, raw, res.recipients, arrivalDate, true);
  return [rep];
}
