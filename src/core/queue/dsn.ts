/**
 * Delivery status notifications: RFC 3464 message/delivery-status inside an RFC 6522
 * multipart/report, sent with the null reverse-path (RFC 5321 §4.5.5) so that a DSN can never
 * cause another DSN.
 */
import { randomBytes } from 'node:crypto';

/** One recipient line of a DSN (RFC 3464 §2.3). */
export interface DsnRecipient {
  address: string;
  orcpt: string | null;
  action: 'failed' | 'delayed' | 'delivered' | 'relayed';
  /** RFC 3463 status code, e.g. "5.1.1". */
  status: string;
  remoteMta: string | null;
  /** The remote reply, as "smtp; 550 5.1.1 ..." (RFC 3464 §2.3.6). */
  diagnostic: string | null;
}

/** What a DSN is about. */
export interface DsnInput {
  /** This server's name (Reporting-MTA). */
  hostname: string;
  /** Where the DSN goes: the original MAIL FROM. */
  to: string;
  envid: string | null;
  arrivalDate: number;
  now: number;
  recipients: DsnRecipient[];
  /** The original message; only its header is returned when `ret` is HDRS (RFC 3461 §4.3). */
  original: Uint8Array;
  ret: 'FULL' | 'HDRS' | null;
  /** Largest original returned whole; bigger ones are returned as headers only. */
  maxReturnBytes: number;
}

/** RFC 5322 §3.3 date-time in UTC. */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** The status code in a reply's text ("550 5.1.1 no" → "5.1.1"), or a default by class. */
export function statusOf(code: number, text: string): string {
  const m = /^([245]\.\d{1,3}\.\d{1,3})\b/.exec(text.trim());
  if (m) return m[1]!;
  return code >= 500 ? '5.0.0' : code >= 400 ? '4.0.0' : '2.0.0';
}

function headerPart(raw: Uint8Array): Buffer {
  const b = Buffer.from(raw);
  const end = b.indexOf('\r\n\r\n');
  return end < 0 ? b : b.subarray(0, end + 2);
}

/** RFC 3464 §2.3.3 actions in words for the human-readable part. */
const HUMAN_ACTION: Readonly<Record<DsnRecipient['action'], string>> = {
  failed: 'delivery failed',
  delayed: 'delivery delayed, still trying',
  delivered: 'delivered',
  relayed: 'handed to a server that does not report delivery',
};

/** Builds the DSN message (CRLF line ends). */
export function buildDsn(i: DsnInput): Uint8Array {
  const boundary = `=_bulwark_${randomBytes(9).toString('base64url')}`;
  const failed = i.recipients.some((r) => r.action === 'failed');
  const delayed = i.recipients.some((r) => r.action === 'delayed');
  const subject = failed ? 'Undelivered Mail Returned to Sender' : delayed ? 'Delivery Status Notification (Delay)' : 'Delivery Status Notification (Success)';
  const human = i.recipients
    .map((r) => `<${r.address}>: ${HUMAN_ACTION[r.action]}${r.diagnostic ? `\r\n    ${r.diagnostic}` : ''}`)
    .join('\r\n');
  // RFC 3464 §2.2 per-message fields, then §2.3 per-recipient groups separated by blank lines.
  const perMessage = [`Reporting-MTA: dns; ${i.hostname}`, ...(i.envid ? [`Original-Envelope-Id: ${i.envid}`] : []), `Arrival-Date: ${rfc5322Date(i.arrivalDate)}`];
  const perRecipient = i.recipients.map((r) =>
    [
      ...(r.orcpt ? [`Original-Recipient: ${r.orcpt}`] : []),
      `Final-Recipient: rfc822; ${r.address}`,
      `Action: ${r.action}`,
      `Status: ${r.status}`,
      ...(r.remoteMta ? [`Remote-MTA: dns; ${r.remoteMta}`] : []),
      ...(r.diagnostic ? [`Diagnostic-Code: ${r.diagnostic.replace(/[\r\n]+/g, ' ')}`] : []),
      `Last-Attempt-Date: ${rfc5322Date(i.now)}`,
    ].join('\r\n'),
  );
  // RFC 3461 §4.3: RET applies to failure reports; a report without a failure returns headers only.
  const returnHeadersOnly = i.ret === 'HDRS' || !failed || i.original.byteLength > i.maxReturnBytes;
  const original = returnHeadersOnly ? headerPart(i.original) : Buffer.from(i.original);
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${i.hostname}>`,
    `To: <${i.to}>`,
    `Subject: ${subject}`,
    `Date: ${rfc5322Date(i.now)}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${i.hostname}>`,
    'Auto-Submitted: auto-replied', // RFC 3834 §5
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated delivery status notification.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `This is the mail system at ${i.hostname}.`,
    '',
    failed
      ? 'Your message could not be delivered to one or more recipients.'
      : delayed
        ? 'Your message has not been delivered yet; the server keeps trying.'
        : 'Here is the delivery report you asked for.',
    '',
    human,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    perMessage.join('\r\n'),
    '',
    perRecipient.join('\r\n\r\n'),
    '',
    `--${boundary}`,
    returnHeadersOnly ? 'Content-Type: text/rfc822-headers' : 'Content-Type: message/rfc822',
    '',
  ].join('\r\n');
  const tail = `\r\n--${boundary}--\r\n`;
  let body = original;
  if (!body.subarray(body.length - 2).equals(Buffer.from('\r\n'))) body = Buffer.concat([body, Buffer.from('\r\n')]);
  return Buffer.concat([Buffer.from(head + '\r\n', 'utf8'), body, Buffer.from(tail)]);
}
