/**
 * The egress guard (DESIGN security rule 2): every outbound connection the server makes on
 * behalf of something a user or a remote party named (an MTA-STS policy fetch, an MX host, a
 * calendar subscription) goes through here. Destinations are resolved once, every address is
 * checked, and the connection is made only to the checked addresses, so a second DNS answer
 * (DNS rebinding) cannot steer it elsewhere. No private, loopback, link-local or otherwise
 * special address is reached unless the configured allow-list names the host or network; no
 * redirect is followed; size and time are bounded.
 *
 * This file also holds the small IP address toolkit the other security modules share:
 * strict parsing (canonical text only), RFC 5952 formatting and CIDR matching.
 */
import { Buffer } from 'node:buffer';
import https from 'node:https';
import net from 'node:net';
import type { LookupFunction } from 'node:net';
import { Forbidden, InvalidInput, NotFound, TooLarge, Unavailable } from '../core/errors.js';

// ---------------------------------------------------------------------------------------------
// IP addresses
// ---------------------------------------------------------------------------------------------

/** An IP address as raw network-order bytes (4 for IPv4, 16 for IPv6). */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

const IPV4_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
// Canonical dotted-quad only: no leading zeros, no octal/hex, no short forms like "127.1",
// because other software reads those differently and the difference is an SSRF bypass.
const IPV4_RE = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);
const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

/** Parses a canonical dotted-quad IPv4 address; anything else gives null. */
export function parseIpv4(text: string): Uint8Array | null {
  if (text.length > 15 || !IPV4_RE.test(text)) return null;
  return Uint8Array.from(text.split('.').map(Number));
}

/**
 * Parses an IPv6 address in RFC 4291 §2.2 text form (with "::" and an optional dotted IPv4
 * tail). Zone identifiers ("%eth0") and brackets are refused.
 */
export function parseIpv6(text: string): Uint8Array | null {
  if (text.length < 2 || text.length > 45 || !text.includes(':')) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string, allowV4Tail: boolean): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] ?? '';
      if (allowV4Tail && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return null;
        words.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!HEX_GROUP_RE.test(g)) return null;
        words.push(parseInt(g, 16));
      }
    }
    return words;
  };
  let words: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? '', false);
    const tail = parseGroups(halves[1] ?? '', true);
    if (!head || !tail) return null;
    // "::" stands for one or more zero groups (RFC 4291 §2.2 item 2).
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (!all || all.length !== 8) return null;
    words = all;
  }
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

/** Parses an IPv4 or IPv6 address in canonical text form; non-canonical forms give null. */
export function parseIp(text: string): IpAddress | null {
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6) return { family: 6, bytes: v6 };
  return null;
}

/** The IPv4 address embedded in an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else null. */
export function unmapIpv4(addr: IpAddress): IpAddress | null {
  if (addr.family !== 6) return null;
  const b = addr.bytes;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return null;
  if (b[10] !== 0xff || b[11] !== 0xff) return null;
  return { family: 4, bytes: b.slice(12, 16) };
}

/** Formats an address: dotted quad, or RFC 5952 §4 canonical IPv6 (mapped IPv4 as ::ffff:a.b.c.d). */
export function formatIp(addr: IpAddress): string {
  const b = addr.bytes;
  if (addr.family === 4) return Array.from(b).join('.');
  const mapped = unmapIpv4(addr);
  if (mapped) return `::ffff:${formatIp(mapped)}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  // RFC 5952 §4.2.3: compress the longest run of two or more zero groups, the first if tied.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Returns the canonical text of an address (IPv4-mapped IPv6 becomes IPv4), or null if invalid. */
export function canonicalIp(text: string): string | null {
  const addr = parseIp(text);
  if (!addr) return null;
  return formatIp(unmapIpv4(addr) ?? addr);
}

/** A network: an address and a prefix length. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
}

/** Parses "addr/len" or a bare address (a single-host network); host bits are masked off. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addr = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!addr) return null;
  const max = addr.family === 4 ? 32 : 128;
  let prefixLength = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return null;
    prefixLength = Number(lenText);
    if (prefixLength > max) return null;
  }
  const bytes = addr.bytes.slice();
  for (let bit = prefixLength; bit < max; bit++) {
    const i = bit >> 3;
    bytes[i] = (bytes[i] ?? 0) & ~(0x80 >> (bit & 7));
  }
  return { family: addr.family, bytes, prefixLength };
}

/** True when the address lies inside the network (same family only). */
export function cidrContains(cidr: Cidr, addr: IpAddress): boolean {
  if (cidr.family !== addr.family) return false;
  const full = cidr.prefixLength >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== addr.bytes[i]) return false;
  const rest = cidr.prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff00 >> rest) & 0xff;
  return ((addr.bytes[full] ?? 0) & mask) === (cidr.bytes[full] ?? 0);
}

/**
 * True when `ip` lies in any of the networks in `cidrs` (each "addr/len" or a bare address).
 * IPv4-mapped IPv6 addresses also match IPv4 networks. Invalid entries never match; validate
 * configured lists with `parseCidr` when loading them.
 */
export function isInCidrList(ip: string, cidrs: readonly string[]): boolean {
  const addr = parseIp(ip);
  if (!addr) return false;
  const mapped = unmapIpv4(addr);
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (!cidr) continue;
    if (cidrContains(cidr, addr) || (mapped && cidrContains(cidr, mapped))) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Address classification
// ---------------------------------------------------------------------------------------------

function table(rows: Array<[string, string]>): Array<{ cidr: Cidr; reason: string }> {
  return rows.map(([text, reason]) => {
    const cidr = parseCidr(text);
    if (!cidr) throw new Error(`bad built-in CIDR ${text}`);
    return { cidr, reason };
  });
}

// RFC 6890 special-purpose registries, plus later additions; every range here is either not
// globally reachable or reaches something that is not a public server.
const FORBIDDEN_V4 = table([
  ['0.0.0.0/8', 'this-network'], // RFC 791, includes the unspecified 0.0.0.0
  ['10.0.0.0/8', 'private'], // RFC 1918
  ['100.64.0.0/10', 'shared (CGNAT)'], // RFC 6598
  ['127.0.0.0/8', 'loopback'], // RFC 1122
  ['169.254.0.0/16', 'link-local'], // RFC 3927 (cloud metadata services live here)
  ['172.16.0.0/12', 'private'], // RFC 1918
  ['192.0.0.0/24', 'IETF protocol assignments'], // RFC 6890
  ['192.0.2.0/24', 'documentation'], // RFC 5737
  ['192.88.99.0/24', '6to4 relay anycast'], // RFC 7526
  ['192.168.0.0/16', 'private'], // RFC 1918
  ['198.18.0.0/15', 'benchmarking'], // RFC 2544
  ['198.51.100.0/24', 'documentation'], // RFC 5737
  ['203.0.113.0/24', 'documentation'], // RFC 5737
  ['224.0.0.0/4', 'multicast'], // RFC 5771
  ['240.0.0.0/4', 'reserved'], // RFC 1112, includes broadcast 255.255.255.255
]);

const GLOBAL_UNICAST_V6 = parseCidr('2000::/3') as Cidr;
const NAT64_WELL_KNOWN = parseCidr('64:ff9b::/96') as Cidr; // RFC 6052
const SIX_TO_FOUR = parseCidr('2002::/16') as Cidr; // RFC 3056
const FORBIDDEN_V6_IN_GLOBAL = table([
  ['2001::/23', 'IETF protocol assignments'], // RFC 2928; includes Teredo 2001::/32 (RFC 4380)
  ['2001:db8::/32', 'documentation'], // RFC 3849
  ['3fff::/20', 'documentation'], // RFC 9637
]);
const NAMED_V6 = table([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::ffff:0:0/96', 'IPv4-mapped'],
  ['::/96', 'IPv4-compatible (deprecated)'],
  ['64:ff9b:1::/48', 'local-use NAT64'], // RFC 8215
  ['100::/64', 'discard-only'], // RFC 6666
  ['fc00::/7', 'unique-local'], // RFC 4193
  ['fe80::/10', 'link-local'], // RFC 4291
  ['fec0::/10', 'site-local (deprecated)'], // RFC 3879
  ['ff00::/8', 'multicast'], // RFC 4291
]);

function v4At(bytes: Uint8Array, offset: number): IpAddress {
  return { family: 4, bytes: bytes.slice(offset, offset + 4) };
}

function reasonV4(addr: IpAddress): string | null {
  for (const row of FORBIDDEN_V4) if (cidrContains(row.cidr, addr)) return row.reason;
  return null;
}

/**
 * Why an address must not be reached from the egress path, or null when it is an ordinary
 * public address. Text that is not a canonical address is refused ("not a canonical address"),
 * so "127.1", "0x7f.0.0.1", "2130706433" and zone-scoped IPv6 never pass.
 */
export function forbiddenReason(ip: string): string | null {
  const addr = parseIp(ip);
  if (!addr) return 'not a canonical address';
  if (addr.family === 4) return reasonV4(addr);
  const mapped = unmapIpv4(addr);
  if (mapped) {
    const inner = reasonV4(mapped);
    // Mapped addresses reach the IPv4 host on dual-stack sockets; judge the IPv4 inside.
    return inner === null ? null : `IPv4-mapped ${inner}`;
  }
  if (cidrContains(NAT64_WELL_KNOWN, addr)) {
    // RFC 6052: a NAT64 gateway forwards to the embedded IPv4 address.
    const inner = reasonV4(v4At(addr.bytes, 12));
    return inner === null ? null : `NAT64-embedded ${inner}`;
  }
  if (!cidrContains(GLOBAL_UNICAST_V6, addr)) {
    for (const row of NAMED_V6) if (cidrContains(row.cidr, addr)) return row.reason;
    return 'reserved';
  }
  for (const row of FORBIDDEN_V6_IN_GLOBAL) if (cidrContains(row.cidr, addr)) return row.reason;
  if (cidrContains(SIX_TO_FOUR, addr)) {
    // RFC 3056 §2: 2002:V4ADDR::/48 routes to the embedded IPv4 site.
    const inner = reasonV4(v4At(addr.bytes, 2));
    return inner === null ? null : `6to4-embedded ${inner}`;
  }
  return null;
}

/** True when the egress path must not connect to this address (see `forbiddenReason`). */
export function isForbiddenAddress(ip: string): boolean {
  return forbiddenReason(ip) !== null;
}

// ---------------------------------------------------------------------------------------------
// The guard
// ---------------------------------------------------------------------------------------------

/** The DNS lookups the guard needs; `node:dns/promises` Resolver fits, tests pass a fake zone. */
export interface EgressResolver {
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
}

/** Options of the egress guard, from config. */
export interface EgressGuardOptions {
  /** Hostnames ("smarthost.lan", "*.corp.example") or networks ("10.1.0.0/16", "127.0.0.1") that may be reached even though they are private. */
  allow?: readonly string[];
  resolver: EgressResolver;
  /** Default bound on a whole connect or fetch, DNS included. */
  timeoutMs?: number;
  /** Default bound on a fetched body. */
  maxBytes?: number;
  /** At most this many addresses of one name are tried. */
  maxAddresses?: number;
}

/** Options of one `EgressGuard.connect`. */
export interface EgressConnectOptions {
  timeoutMs?: number;
}

/** Options of one `EgressGuard.fetchHttps`. */
export interface EgressFetchOptions {
  maxBytes?: number;
  timeoutMs?: number;
  /** Extra trust anchors (PEM), e.g. an internal CA for an allow-listed host. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** What `EgressGuard.fetchHttps` returns; 3xx responses come back as they are. */
export interface EgressResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

const HOST_LABEL_RE = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** Lower-cases a host name, drops a trailing dot and brackets; null if not a plausible DNS name or IP literal. */
function normalizeHost(host: string): { name: string; ip: string | null } | null {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  const ip = parseIp(h);
  if (ip) return { name: formatIp(ip), ip: formatIp(ip) };
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.length === 0 || h.length > 253) return null;
  const labels = h.split('.');
  if (!labels.every((l) => HOST_LABEL_RE.test(l))) return null;
  // A numeric last label would be read as an IPv4 literal by URL parsers and inet_aton
  // ("127.1", "0x7f.1", "2130706433"); refuse such names rather than guess.
  const last = labels[labels.length - 1] ?? '';
  if (/^(0x[0-9a-f]*|[0-9]+)$/.test(last)) return null;
  return { name: h, ip: null };
}

function isNoDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENODATA' || code === 'ENOTFOUND' || code === 'NXDOMAIN';
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Unavailable(`${what} timed out`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * Makes outbound connections only to addresses that are public or explicitly allowed, pinned
 * to the addresses it checked.
 */
export class EgressGuard {
  private readonly allowNames = new Set<string>();
  private readonly allowSuffixes: string[] = [];
  private readonly allowCidrs: Cidr[] = [];
  private readonly resolver: EgressResolver;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxAddresses: number;

  constructor(options: EgressGuardOptions) {
    this.resolver = options.resolver;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.maxAddresses = options.maxAddresses ?? 16;
    for (const entry of options.allow ?? []) {
      const cidr = parseCidr(entry.trim());
      if (cidr) {
        this.allowCidrs.push(cidr);
        continue;
      }
      const wildcard = entry.trim().startsWith('*.');
      const host = normalizeHost(wildcard ? entry.trim().slice(2) : entry);
      if (!host || host.ip) throw new InvalidInput(`egress allow-list entry is neither a host name nor a network: ${entry}`);
      if (wildcard) this.allowSuffixes.push(`.${host.name}`);
      else this.allowNames.add(host.name);
    }
  }

  private isNameAllowed(name: string): boolean {
    return this.allowNames.has(name) || this.allowSuffixes.some((s) => name.endsWith(s));
  }

  private isAddressAllowed(ip: string): boolean {
    const addr = parseIp(ip);
    if (!addr) return false;
    const mapped = unmapIpv4(addr);
    return this.allowCidrs.some((c) => cidrContains(c, addr) || (mapped !== null && cidrContains(c, mapped)));
  }

  /**
   * Resolves `host` (or takes an IP literal) and returns the addresses that may be used. If any
   * address is forbidden and not allowed, the whole name is refused: a name that points partly
   * inside is either a mistake or a rebinding attempt. Callers must connect only to the returned
   * addresses.
   */
  async resolveAllowed(host: string, timeoutMs = this.timeoutMs): Promise<string[]> {
    const norm = normalizeHost(host);
    if (!norm) throw new InvalidInput('Destination is not a valid host name');
    let addresses: string[];
    if (norm.ip) {
      addresses = [norm.ip];
    } else {
      const lookups = await withTimeout(
        Promise.allSettled([this.resolver.resolve4(norm.name), this.resolver.resolve6(norm.name)]),
        timeoutMs,
        `DNS lookup of ${norm.name}`,
      );
      addresses = [];
      let hardError: unknown = null;
      for (const r of lookups) {
        if (r.status === 'fulfilled') addresses.push(...r.value);
        else if (!isNoDataError(r.reason)) hardError = r.reason;
      }
      if (addresses.length === 0) {
        if (hardError !== null) throw new Unavailable(`DNS lookup of ${norm.name} failed`, { cause: hardError });
        throw new NotFound(`${norm.name} has no address`);
      }
      const canonical: string[] = [];
      for (const a of addresses) {
        const c = canonicalIp(a);
        // A resolver that hands back non-address text is broken or hostile; refuse outright.
        if (c === null) throw new Forbidden(`${norm.name} resolved to something that is not an address`);
        if (!canonical.includes(c)) canonical.push(c);
      }
      addresses = canonical.slice(0, this.maxAddresses);
    }
    if (this.isNameAllowed(norm.name)) return addresses;
    for (const a of addresses) {
      const reason = forbiddenReason(a);
      if (reason !== null && !this.isAddressAllowed(a)) {
        throw new Forbidden(`Destination ${norm.name} is not allowed (${a}: ${reason})`);
      }
    }
    return addresses;
  }

  /** Opens a TCP connection to `host:port`, only ever to an address `resolveAllowed` approved. */
  async connect(host: string, port: number, opts: EgressConnectOptions = {}): Promise<net.Socket> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidInput('Invalid port');
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const addresses = await this.resolveAllowed(host, timeoutMs);
    let lastError: unknown = null;
    for (const address of addresses) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        return await connectOnce(address, port, remaining);
      } catch (err) {
        lastError = err;
      }
    }
    throw new Unavailable(`Could not connect to ${host} port ${port}`, { cause: lastError });
  }

  /**
   * GETs an https URL through the guard: checked addresses only (pinned through `lookup`), no
   * redirects followed (a 3xx is returned as is), at most `maxBytes` of body, at most
   * `timeoutMs` in all.
   */
  async fetchHttps(url: string, opts: EgressFetchOptions = {}): Promise<EgressResponse> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (err) {
      throw new InvalidInput('Invalid URL', { cause: err });
    }
    if (parsed.protocol !== 'https:') throw new InvalidInput('Only https URLs may be fetched');
    if (parsed.username !== '' || parsed.password !== '') throw new InvalidInput('URLs with credentials are not fetched');
    const maxBytes = opts.maxBytes ?? this.maxBytes;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const started = Date.now();
    const addresses = await this.resolveAllowed(parsed.hostname, timeoutMs);
    const remaining = timeoutMs - (Date.now() - started);
    if (remaining <= 0) throw new Unavailable(`Fetching ${parsed.host} timed out`);
    return requestPinned(parsed, addresses, maxBytes, remaining, opts);
  }
}

function connectOnce(address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Unavailable(`Connecting to ${address} timed out`));
    }, timeoutMs);
    const onError = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      // From here on errors belong to the caller, who must attach its own handler.
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** A `lookup` for node:net that only ever answers with the pinned addresses. */
function pinnedLookup(addresses: readonly string[]): LookupFunction {
  const entries = addresses.map((a) => ({ address: a, family: net.isIPv6(a) ? 6 : 4 }));
  return ((_hostname: string, options: { family?: number | string; all?: boolean }, callback: (...args: unknown[]) => void) => {
    const wanted = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    const list = wanted === 0 ? entries : entries.filter((e) => e.family === wanted);
    if (list.length === 0) {
      callback(new Error('no checked address of the requested family'));
      return;
    }
    if (options.all) callback(null, list);
    else callback(null, list[0]?.address, list[0]?.family);
  }) as unknown as LookupFunction;
}

function requestPinned(
  url: URL,
  addresses: readonly string[],
  maxBytes: number,
  timeoutMs: number,
  opts: EgressFetchOptions,
): Promise<EgressResponse> {
  return new Promise<EgressResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, value?: EgressResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else if (value) {
        resolve(value);
      }
    };
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const isLiteral = net.isIP(hostname) !== 0;
    const req = https.request({
      protocol: 'https:',
      hostname,
      port: url.port === '' ? 443 : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      // A private agent: a pooled socket to a name must never be reused for another check.
      agent: false,
      // IP literals skip lookup in node:net; they were checked by resolveAllowed already.
      lookup: pinnedLookup(addresses),
      ...(isLiteral ? {} : { servername: hostname }),
      ...(opts.ca ? { ca: opts.ca } : {}),
      maxHeaderSize: 16 * 1024,
      headers: { 'user-agent': 'Bulwark', accept: '*/*', ...opts.headers, host: url.host },
    });
    const timer = setTimeout(() => finish(new Unavailable(`Fetching ${url.host} timed out`)), timeoutMs);
    req.on('error', (err) => finish(new Unavailable(`Fetching ${url.host} failed`, { cause: err })));
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared) && declared > maxBytes) {
        finish(new TooLarge(`Response from ${url.host} is larger than ${maxBytes} bytes`));
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) {
          finish(new TooLarge(`Response from ${url.host} is larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => finish(new Unavailable(`Fetching ${url.host} failed`, { cause: err })));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        finish(null, { status: res.statusCode ?? 0, headers, body: new Uint8Array(Buffer.concat(chunks)) });
      });
    });
    req.end();
  });
}
