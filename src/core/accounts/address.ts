/**
 * Email address canonicalisation, the one place that decides when two spellings name the
 * same mailbox. Domains are case-insensitive and stored in their ASCII (A-label) form after
 * IDNA mapping (RFC 5890); local parts are compared case-insensitively by default (as every
 * common server does, though RFC 5321 §2.4 lets them differ) and NFC-normalised so UTF-8
 * local parts (RFC 6531) compare by meaning, not bytes.
 */
import { domainToASCII, domainToUnicode } from 'node:url';

/** A parsed, canonical address. */
export interface CanonicalAddress {
  /** The canonical local part (lowercase, NFC, without quotes). */
  local: string;
  /** The canonical domain in ASCII (A-label) form. */
  domain: string;
  /** `local@domain`. */
  address: string;
}

const MAX_LOCAL = 64; // RFC 5321 §4.5.3.1.1
const MAX_DOMAIN = 255; // RFC 5321 §4.5.3.1.2
const DOT_ATOM_UTF8 = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;

/** Canonical ASCII form of a domain name, or null if it is not a valid host name. */
export function canonicalDomain(input: string): string | null {
  const trimmed = input.trim().replace(/\.$/, '');
  if (trimmed.length === 0 || trimmed.length > MAX_DOMAIN) return null;
  if (/[\s@/\\:?#[\]%]/.test(trimmed)) return null;
  const ascii = domainToASCII(trimmed.normalize('NFC')).toLowerCase();
  if (!ascii || ascii.length > MAX_DOMAIN) return null;
  const labels = ascii.split('.');
  if (labels.length < 1) return null;
  for (const label of labels) {
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label)) return null;
  }
  return ascii;
}

/** The Unicode form of a canonical domain, for display. */
export function displayDomain(ascii: string): string {
  return domainToUnicode(ascii) || ascii;
}

/** Canonical form of a local part, or null if it is not acceptable for a local mailbox. */
export function canonicalLocal(input: string, caseSensitive = false): string | null {
  let local = input.normalize('NFC');
  // A quoted local part that needs no quotes means the same as the bare one (RFC 5321 §4.1.2).
  if (local.startsWith('"') && local.endsWith('"') && local.length >= 2) {
    local = local.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  if (!caseSensitive) local = local.toLowerCase();
  if (local.length === 0 || Buffer.byteLength(local) > MAX_LOCAL) return null;
  // Local mailboxes are created only with dot-atom names; quoted oddities are never ours.
  if (!DOT_ATOM_UTF8.test(local)) return null;
  return local;
}

/** Parses and canonicalises `local@domain`; null when it is not a valid address. */
export function canonicalAddress(input: string, caseSensitive = false): CanonicalAddress | null {
  const at = input.lastIndexOf('@');
  if (at <= 0 || at === input.length - 1) return null;
  const local = canonicalLocal(input.slice(0, at), caseSensitive);
  const domain = canonicalDomain(input.slice(at + 1));
  if (local === null || domain === null) return null;
  return { local, domain, address: `${local}@${domain}` };
}

/** The address without its `+tag` (RFC 5233 subaddress), or null if it has none. */
export function withoutSubaddress(addr: CanonicalAddress): CanonicalAddress | null {
  const plus = addr.local.indexOf('+');
  if (plus <= 0) return null;
  const local = addr.local.slice(0, plus);
  return { local, domain: addr.domain, address: `${local}@${addr.domain}` };
}
