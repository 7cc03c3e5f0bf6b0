/**
 * Sender authentication of inbound mail with mailauth 4.x: SPF (RFC 7208), DKIM (RFC 6376,
 * RFC 8463), DMARC (RFC 7489) and ARC (RFC 8617), reported as one Authentication-Results header
 * (RFC 8601) plus Received-SPF. DNS goes through the injected resolver only.
 */
import { authenticate } from 'mailauth';
import type { DnsResolver } from './dns.js';

/** What the checks found, in the words of RFC 8601 §2.7. */
export interface AuthenticationResult {
  spf: string;
  dkim: string[];
  dmarc: { result: string; policy: string | null; domain: string | null } | null;
  arc: string | null;
  /** Header lines to prepend (Received-SPF, Authentication-Results), CRLF-terminated. */
  headers: string;
}

/** Inputs of the checks. */
export interface AuthenticateOptions {
  /** MAIL FROM ("" for null). */
  mailFrom: string;
  clientAddress: string;
  helo: string;
  /** This server's name, the authserv-id (RFC 8601 §2.5). */
  hostname: string;
  resolver: DnsResolver;
}

/** Runs SPF, DKIM, DMARC and ARC on a raw message. */
export async function authenticateMessage(raw: Uint8Array, o: AuthenticateOptions): Promise<AuthenticationResult> {
  const res = await authenticate(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), {
    sender: o.mailFrom,
    ip: o.clientAddress.replace(/^::ffff:/, ''),
    helo: o.helo,
    mta: o.hostname,
    disableBimi: true,
    resolver: (name, rr) => o.resolver(name, rr as Parameters<DnsResolver>[1]),
  });
  const dmarc = res.dmarc
    ? { result: res.dmarc.status?.result ?? 'none', policy: res.dmarc.policy ?? null, domain: res.dmarc.domain ?? null }
    : null;
  return {
    spf: (res.spf && res.spf.status?.result) || 'none',
    dkim: (res.dkim?.results ?? []).map((r) => r.status?.result ?? 'none'),
    dmarc,
    arc: (res.arc && res.arc.status?.result) || null,
    headers: res.headers.replace(/\r?\n/g, '\r\n'),
  };
}
