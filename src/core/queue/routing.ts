/**
 * Where mail for a domain goes: MX lookup (RFC 5321 §5.1) with the implicit MX fallback to the
 * domain's own A/AAAA, the null MX (RFC 7505), and MTA-STS policies (RFC 8461) fetched through
 * the egress guard with size and time bounds and cached for their max_age.
 */
import type { Clock } from '../clock.js';
import { isNoRecords, type DnsResolver } from '../delivery/dns.js';
import type { EgressGuard } from '../../security/egress.js';

/** The hosts to try, best first, or why there are none. */
export type Route = { kind: 'hosts'; hosts: string[] } | { kind: 'nullMx' } | { kind: 'noHost' } | { kind: 'tempfail'; text: string };

/** RFC 5321 §5.1: MX hosts in preference order (ties shuffled), else the domain itself. */
export async function resolveRoute(resolver: DnsResolver, domain: string): Promise<Route> {
  let mx: Array<{ exchange: string; priority: number }>;
  try {
    mx = (await resolver(domain, 'MX')) as Array<{ exchange: string; priority: number }>;
  } catch (e) {
    if (!isNoRecords(e)) return { kind: 'tempfail', text: `MX lookup for ${domain} failed` };
    // RFC 5321 §5.1: no MX records → the domain is its own implicit MX (if it has an address).
    for (const rr of ['A', 'AAAA'] as const) {
      try {
        if ((await resolver(domain, rr)).length > 0) return { kind: 'hosts', hosts: [domain] };
      } catch (e2) {
        if (!isNoRecords(e2)) return { kind: 'tempfail', text: `address lookup for ${domain} failed` };
      }
    }
    return { kind: 'noHost' };
  }
  // RFC 7505 §3: a single MX with exchange "." means the domain accepts no mail.
  if (mx.length === 1 && (mx[0]!.exchange === '' || mx[0]!.exchange === '.')) return { kind: 'nullMx' };
  const sorted = mx
    .filter((m) => m.exchange && m.exchange !== '.')
    .map((m) => ({ ...m, r: Math.random() }))
    .sort((a, b) => a.priority - b.priority || a.r - b.r);
  return sorted.length ? { kind: 'hosts', hosts: sorted.map((m) => m.exchange.replace(/\.$/, '').toLowerCase()) } : { kind: 'noHost' };
}

/** An MTA-STS policy (RFC 8461 §3.2). */
export interface MtaStsPolicy {
  mode: 'enforce' | 'testing' | 'none';
  mx: string[];
  maxAgeSeconds: number;
}

/** Parses a policy body; null when it is not a valid STSv1 policy. */
export function parseMtaStsPolicy(text: string): MtaStsPolicy | null {
  const fields = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z0-9_]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) continue;
    const k = m[1]!.toLowerCase();
    fields.set(k, [...(fields.get(k) ?? []), m[2]!]);
  }
  if (fields.get('version')?.[0] !== 'STSv1') return null;
  const mode = fields.get('mode')?.[0];
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') return null;
  const maxAge = Number(fields.get('max_age')?.[0]);
  if (!Number.isInteger(maxAge) || maxAge < 0) return null;
  // RFC 8461 §3.2: max_age up to 31557600.
  return { mode, mx: (fields.get('mx') ?? []).map((m) => m.toLowerCase()), maxAgeSeconds: Math.min(maxAge, 31_557_600) };
}

/** RFC 8461 §4.1: whether an MX host matches a policy pattern ("*.example.com" matches one label). */
export function mxMatches(pattern: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (p.startsWith('*.')) {
    const rest = h.indexOf('.');
    return rest > 0 && h.slice(rest + 1) === p.slice(2);
  }
  return h === p;
}

/** How policies are fetched. */
export interface MtaStsFetchOptions {
  /** HTTPS port of the policy host: 443 (RFC 8461 §3.3) except in tests. */
  port?: number;
  /** Trust anchors (PEM) in place of Node's default roots; null = the defaults. */
  ca?: readonly string[] | null;
}

/** Fetches and caches MTA-STS policies. */
export class MtaStsCache {
  private readonly cache = new Map<string, { id: string; policy: MtaStsPolicy; expiresAt: number }>();

  constructor(
    private readonly resolver: DnsResolver,
    private readonly egress: EgressGuard,
    private readonly clock: Clock,
    private readonly fetch: MtaStsFetchOptions = {},
  ) {}

  /** The domain's policy, or null when it publishes none (or it cannot be fetched and none is cached). */
  async policy(domain: string): Promise<MtaStsPolicy | null> {
    let id: string | null = null;
    try {
      // RFC 8461 §3.1: TXT "v=STSv1; id=..." at _mta-sts.<domain>.
      const txt = ((await this.resolver(`_mta-sts.${domain}`, 'TXT')) as string[][]).map((r) => r.join(''));
      const rec = txt.filter((t) => /^v=STSv1;/.test(t));
      if (rec.length === 1) id = /id=([A-Za-z0-9]{1,32})/.exec(rec[0]!)?.[1] ?? null;
    } catch {
      // No record, or DNS failed: fall back to a cached policy (RFC 8461 §5.1) below.
      id = null;
    }
    const cached = this.cache.get(domain);
    const now = this.clock.now();
    if (cached && cached.expiresAt > now && (id === null || id === cached.id)) return cached.policy;
    if (id === null) return cached && cached.expiresAt > now ? cached.policy : null;
    try {
      // RFC 8461 §3.3: HTTPS GET, no redirects, bounded (64 KiB is far above any real policy).
      const port = this.fetch.port && this.fetch.port !== 443 ? `:${this.fetch.port}` : '';
      const res = await this.egress.fetchHttps(`https://mta-sts.${domain}${port}/.well-known/mta-sts.txt`, {
        maxBytes: 64 * 1024,
        timeoutMs: 10_000,
        ...(this.fetch.ca ? { ca: [...this.fetch.ca] } : {}),
      });
      const ct = res.headers['content-type'] ?? '';
      if (res.status !== 200 || !/^text\/plain\b/i.test(ct)) return cached?.policy ?? null;
      const policy = parseMtaStsPolicy(Buffer.from(res.body).toString('utf8'));
      if (!policy) return cached?.policy ?? null;
      this.cache.set(domain, { id, policy, expiresAt: now + policy.maxAgeSeconds * 1000 });
      return policy;
    } catch {
      // RFC 8461 §5.1: when the fetch fails, a previously cached policy stays in force.
      return cached?.policy ?? null;
    }
  }
}
