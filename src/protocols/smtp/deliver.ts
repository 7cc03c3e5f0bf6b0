/**
 * End of DATA: turns an accepted transaction into core calls and returns the replies.
 * Submission: From check, Date/Message-ID, DKIM (core/delivery/submission), remote recipients
 * queued durably, local ones delivered. MX: trace and authentication headers, then the
 * delivery pipeline (DMARC policy included). LMTP: the pipeline, one reply per recipient.
 * Every reply is decided after the copies it acknowledges are durable.
 */
import { randomBytes } from 'node:crypto';
import type { AuthSuccess } from '../../core/auth/index.js';
import type { Logger } from '../../core/context.js';
import { authenticateMessage, deliverInbound, type AuthenticationResult, type DeliveryRecipient, type RecipientOutcome } from '../../core/delivery/index.js';
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
  // Deviation: SMTP has one reply per message; a copy that failed for one of several
  // recipients (over quota) is logged. TODO(RFC 3461 §6): send a DSN for it.
  if (failed.length > 0) log.warn({ event: 'smtp.deliver.partial', failed: failed.length }, 'some local copies failed');
  return reply(250, '2.0.0', `OK id=${id}`);
}

/** Delivers or queues the message of a transaction; resolves with the replies to send. */
export async function deliverTransaction(rt: SmtpRuntime, log: Logger, t: Transaction): Promise<Reply[]> {
  const { ctx } = rt;
  const env = t.envelope;
  const id = randomBytes(6).toString('hex');
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
    rt.sendLimiter.record(t.auth.accountId);
    log.info({ event: 'smtp.submitted', id, account: t.auth.accountId, local: env.local.length, remote: env.remote.length, size: prepared.raw.byteLength }, 'message submitted');
    return [summary(log, outcomes, id, env.remote.length > 0)];
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
    // RFC 2033 §4.2: one reply per accepted recipient, in RCPT order, after the data.
    return res.recipients.map((o) => (o.ok ? reply(250, '2.1.5', `<${o.address}> delivered id=${id}`) : replyForError(o.error, log, 'DATA')));
  }
  return [summary(log, res.recipients, id, false)];
}
