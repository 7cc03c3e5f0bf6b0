/**
 * Throttling of authentication attempts, shared by every protocol (through core/auth).
 *
 * Two independent counters of failures, each living for one fixed window from its first
 * failure:
 * - per source address (IPv6 aggregated per /64, since one host commonly owns a whole /64;
 *   IPv4-mapped IPv6 counted as the IPv4 address). It delays, and beyond maxFailuresPerIp
 *   refuses outright: this is the hard cap on guessing from one place.
 * - per account. It only delays, and never refuses: otherwise anyone could lock a user out
 *   by failing on purpose. The right password, after the delay, still succeeds.
 *
 * The delay grows exponentially from baseDelayMs with the failure count and is capped at
 * maxDelayMs; the larger of the two counters applies. Memory is bounded: each map holds at
 * most maxTrackedKeys entries and evicts the least recently touched.
 *
 * A success clears the account's counter (the user proved the password) but not the source
 * address's: otherwise an attacker with one valid account could wipe their address's record
 * between guesses at other accounts.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { formatIp, parseIp, unmapIpv4 } from './egress.js';

/** Tuning of `AuthThrottle`. */
export interface AuthThrottleOptions {
  /** Failures from one source address within the window after which attempts are refused. */
  maxFailuresPerIp: number;
  /** Lifetime of a counter, from its first failure. */
  windowMs: number;
  /** Delay after the first failure; doubles with each further one. */
  baseDelayMs: number;
  /** Ceiling of the delay. */
  maxDelayMs: number;
  /** Most entries kept per map (addresses, accounts); the least recently touched go first. */
  maxTrackedKeys?: number;
}

/** Sensible defaults: 30 failures per address per 15 minutes, delays from 250 ms to 8 s. */
export const DEFAULT_AUTH_THROTTLE: Required<AuthThrottleOptions> = {
  maxFailuresPerIp: 30,
  windowMs: 15 * 60_000,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxTrackedKeys: 50_000,
};

/** The verdict for one attempt: refuse it, or run it after waiting delayMs. */
export interface ThrottleDecision {
  allowed: boolean;
  delayMs: number;
}

interface Counter {
  failures: number;
  windowStartMs: number;
}

/** Longest account key kept verbatim; longer names are hashed so memory stays bounded. */
const MAX_ACCOUNT_KEY_CHARS = 128;

/**
 * The key an address is counted under: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 as
 * its /64 ("2001:db8:1:2::/64"). Unparseable text is kept (bounded) so it still counts.
 */
export function throttleKeyForAddress(ip: string): string {
  const addr = parseIp(ip);
  if (!addr) return `?${ip.slice(0, 64)}`;
  const v4 = unmapIpv4(addr);
  if (v4) return formatIp(v4);
  if (addr.family === 4) return formatIp(addr);
  const prefix = new Uint8Array(16);
  prefix.set(addr.bytes.subarray(0, 8));
  return `${formatIp({ family: 6, bytes: prefix })}/64`;
}

function accountKey(account: string): string {
  const k = account.normalize('NFKC').toLowerCase();
  if (k.length <= MAX_ACCOUNT_KEY_CHARS) return k;
  return `#${createHash('sha256').update(k).digest('base64url')}`;
}

/** A map with an upper bound that forgets the least recently touched entry. */
class BoundedCounters {
  private readonly map = new Map<string, Counter>();
  constructor(private readonly maxKeys: number) {}

  get size(): number {
    return this.map.size;
  }

  /** The live counter for key, or null when none or expired. */
  get(key: string, nowMs: number, windowMs: number): Counter | null {
    const c = this.map.get(key);
    if (!c) return null;
    if (nowMs - c.windowStartMs >= windowMs) {
      this.map.delete(key);
      return null;
    }
    return c;
  }

  increment(key: string, nowMs: number, windowMs: number): void {
    const c = this.get(key, nowMs, windowMs) ?? { failures: 0, windowStartMs: nowMs };
    c.failures++;
    // Re-insert so Map iteration order is least-recently-touched first.
    this.map.delete(key);
    this.map.set(key, c);
    while (this.map.size > this.maxKeys) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  prune(nowMs: number, windowMs: number): void {
    for (const [k, c] of this.map) if (nowMs - c.windowStartMs >= windowMs) this.map.delete(k);
  }
}

/** Decides whether and how long to delay an authentication attempt. */
export class AuthThrottle {
  private readonly opts: Required<AuthThrottleOptions>;
  private readonly byAddress: BoundedCounters;
  private readonly byAccount: BoundedCounters;

  constructor(
    private readonly clock: Clock,
    options: Partial<AuthThrottleOptions> = {},
  ) {
    this.opts = { ...DEFAULT_AUTH_THROTTLE, ...options };
    this.byAddress = new BoundedCounters(this.opts.maxTrackedKeys);
    this.byAccount = new BoundedCounters(this.opts.maxTrackedKeys);
  }

  private delayFor(failures: number): number {
    if (failures <= 0) return 0;
    // Exponent clamped so the arithmetic stays finite however many failures are counted.
    const raw = this.opts.baseDelayMs * 2 ** Math.min(failures - 1, 52);
    return Math.min(this.opts.maxDelayMs, raw);
  }

  /**
   * Checks an attempt before the password is verified. allowed=false only comes from the
   * per-address cap; the per-account counter only lengthens delayMs.
   */
  check(ip: string, account: string): ThrottleDecision {
    const now = this.clock.now();
    const a = this.byAddress.get(throttleKeyForAddress(ip), now, this.opts.windowMs);
    const u = this.byAccount.get(accountKey(account), now, this.opts.windowMs);
    const ipFailures = a?.failures ?? 0;
    const delayMs = Math.max(this.delayFor(ipFailures), this.delayFor(u?.failures ?? 0));
    return { allowed: ipFailures < this.opts.maxFailuresPerIp, delayMs };
  }

  /** Counts a failed attempt against the source address and the account. */
  recordFailure(ip: string, account: string): void {
    const now = this.clock.now();
    this.byAddress.increment(throttleKeyForAddress(ip), now, this.opts.windowMs);
    this.byAccount.increment(accountKey(account), now, this.opts.windowMs);
  }

  /** Clears the account's counter after a successful login; the address's counter stays. */
  recordSuccess(_ip: string, account: string): void {
    this.byAccount.delete(accountKey(account));
  }

  /** Drops expired entries (optional housekeeping; lookups expire entries lazily anyway). */
  prune(): void {
    const now = this.clock.now();
    this.byAddress.prune(now, this.opts.windowMs);
    this.byAccount.prune(now, this.opts.windowMs);
  }

  /** Number of tracked addresses and accounts, for metrics and tests. */
  get trackedKeys(): { addresses: number; accounts: number } {
    return { addresses: this.byAddress.size, accounts: this.byAccount.size };
  }
}
