/**
 * What happens to a message a user submits (RFC 6409) before it is delivered or queued:
 * the From header must name addresses the account may send as (RFC 6409 §8.1 lets the MSA
 * enforce this), missing Date and Message-ID are added (RFC 6409 §8.2, §8.3), and the message
 * is DKIM-signed with every key of the sender's domain (RFC 6376 §5, RFC 8463: RSA and Ed25519).
 */
import { randomBytes } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimKeys, getDomain } from '../accounts/index.js';
import { maySendAs } from '../accounts/senders.js';
import type { Context } from '../context.js';
import { Forbidden } from '../errors.js';
import { rfc5322Date } from '../queue/dsn.js';
import { getHeader, parseAddressList, parseHeaders } from '../../mime/index.js';

/** Splits a raw message at the end of its header (the blank line), CRLF assumed. */
export function headerEnd(raw: Uint8Array): number {
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const i = b.indexOf('\r\n\r\n');
  return i < 0 ? b.length : i + 2;
}

/** The addresses of the From header (RFC 5322 §3.6.2), lower-cased; empty when absent. */
export function fromAddresses(raw: Uint8Array): string[] {
  const end = headerEnd(raw);
  const fields = parseHeaders(raw, 0, end).fields;
  const from = getHeader(fields, 'from');
  if (!from) return [];
  const out: string[] = [];
  for (const item of parseAddressList(from.value)) {
    const list = 'group' in item ? item.addresses : [item];
    for (const a of list) out.push(`${a.mailbox}@${a.host}`.toLowerCase());
  }
  return out;
}

/** What prepareSubmission returns. */
export interface PreparedSubmission {
  raw: Uint8Array;
  /** The domain whose keys signed, or null when it has none. */
  signedBy: string | null;
}

/**
 * Checks the From header against the account, adds Date and Message-ID when missing, adds
 * the trace header, and DKIM-signs. Throws Forbidden when From names an address the account
 * does not own.
 */
export async function prepareSubmission(ctx: Context, accountId: string, raw: Uint8Array, o: { hostname: string; mailFrom: string; received: string }): Promise<PreparedSubmission> {
  const froms = fromAddresses(raw);
  for (const a of froms) {
    if (!(await maySendAs(ctx, accountId, a))) throw new Forbidden(`not allowed to send as ${a}`);
  }
  const end = headerEnd(raw);
  const fields = parseHeaders(raw, 0, end).fields;
  const added: string[] = [o.received.endsWith('\r\n') ? o.received.slice(0, -2) : o.received];
  if (!getHeader(fields, 'date')) added.push(`Date: ${rfc5322Date(ctx.clock.now())}`);
  if (!getHeader(fields, 'message-id')) added.push(`Message-ID: <${randomBytes(16).toString('hex')}@${o.hostname}>`);
  let out: Buffer = Buffer.concat([Buffer.from(added.join('\r\n') + '\r\n'), Buffer.from(raw)]);
  // Sign as the From domain (DMARC alignment, RFC 7489 §3.1.1), else the envelope's.
  const signer = (froms[0] ?? o.mailFrom).split('@')[1] ?? '';
  let signedBy: string | null = null;
  if (signer && (await getDomain(ctx, signer))) {
    const keys = await dkimKeys(ctx, signer);
    if (keys.length > 0) {
      const res = await dkimSign(out, {
        canonicalization: 'relaxed/relaxed',
        signTime: new Date(ctx.clock.now()),
        signatureData: keys.map((k) => ({
          signingDomain: signer,
          selector: k.selector,
          privateKey: k.privateKeyPem,
          algorithm: k.algorithm === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256',
        })),
      });
      if (res.errors.length > 0) ctx.log.warn({ event: 'smtp.dkim.sign.error', domain: signer, errors: res.errors.length }, 'DKIM signing failed for some keys');
      out = Buffer.concat([Buffer.from(res.signatures.replace(/\r?\n/g, '\r\n')), out]);
      signedBy = signer;
    }
  }
  return { raw: out, signedBy };
}

/**
 * RFC 8601 §5: an MTA at the border "MUST remove or rename" Authentication-Results fields that
 * claim its own authserv-id, or readers would trust results someone else wrote. They are
 * renamed to X-Forged-Authentication-Results (kept for forensics, trusted by nothing).
 */
export function renameForgedResults(raw: Uint8Array, authservId: string): Uint8Array {
  const end = headerEnd(raw);
  const fields = parseHeaders(raw, 0, end).fields;
  const id = authservId.toLowerCase();
  const forged = fields.filter((f) => {
    if (f.name.toLowerCase() !== 'authentication-results') return false;
    const v = f.value.trim().toLowerCase();
    return v === id || v.startsWith(id + ';') || v.startsWith(id + ' ') || v.startsWith(id + '\t') || v.startsWith(id + '\r');
  });
  if (forged.length === 0) return raw;
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const parts: Buffer[] = [];
  let at = 0;
  for (const f of forged) {
    parts.push(b.subarray(at, f.start), Buffer.from('X-Forged-'));
    at = f.start;
  }
  parts.push(b.subarray(at));
  return Buffer.concat(parts);
}
