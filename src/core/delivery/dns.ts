/**
 * The DNS resolver that delivery, authentication checks (SPF, DKIM, DMARC, ARC) and the
 * outbound queue share. It arrives from outside (STYLE.md "What comes in from outside is
 * passed in"): the server builds one on node:dns with the configured servers, tests build one
 * on a fixture zone so no test ever asks real DNS.
 *
 * The shape is mailauth's (`dns.promises.resolve(name, rrtype)`): answers as node:dns gives
 * them, and a missing name or record rejects with an error whose `code` is ENOTFOUND or ENODATA.
 */
import { Resolver } from 'node:dns/promises';
import type { EgressResolver } from '../../security/egress.js';

/** Record types delivery asks for. */
export type RrType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR' | 'CNAME';

/** Resolves one name and type; rejects with code ENOTFOUND/ENODATA when there is none. */
export type DnsResolver = (name: string, rrtype: RrType) => Promise<unknown[]>;

/** A DNS error with the node:dns code. */
export class DnsLookupError extends Error {
  /** ENOTFOUND, ENODATA, ETIMEOUT, ... as node:dns uses them. */
  readonly code: string;
  constructor(code: string, name: string) {
    super(`${code} ${name}`);
    this.name = 'DnsLookupError';
    this.code = code;
  }
}

/** The system resolver, or one asking the given servers ("1.1.1.1", "[::1]:5353"). */
export function systemResolver(servers: readonly string[] = [], timeoutMs = 5_000): DnsResolver {
  const r = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length > 0) r.setServers([...servers]);
  return (name, rrtype) => r.resolve(name, rrtype) as Promise<unknown[]>;
}

/** A zone as data: name → record type → answers in node:dns form. */
export type Zone = Record<string, Partial<Record<RrType, unknown[]>>>;

/** A resolver over a fixed zone (tests, fixtures); names are matched case-insensitively. */
export function zoneResolver(zone: Zone): DnsResolver {
  const lower = new Map(Object.entries(zone).map(([k, v]) => [k.toLowerCase().replace(/\.$/, ''), v]));
  return async (name, rrtype) => {
    const entry = lower.get(name.toLowerCase().replace(/\.$/, ''));
    if (!entry) throw new DnsLookupError('ENOTFOUND', name);
    const answers = entry[rrtype];
    if (!answers || answers.length === 0) throw new DnsLookupError('ENODATA', name);
    return answers;
  };
}

/** Whether an error means "no such name or record" (as opposed to a failure worth retrying). */
export function isNoRecords(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOTFOUND' || code === 'ENODATA' || code === 'NXDOMAIN';
}

/** Adapts a DnsResolver to the egress guard's interface. */
export function egressResolverOf(r: DnsResolver): EgressResolver {
  return {
    resolve4: async (host) => (await r(host, 'A')) as string[],
    resolve6: async (host) => (await r(host, 'AAAA')) as string[],
  };
}
