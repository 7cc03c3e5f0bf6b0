import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { AuthThrottle, throttleKeyForAddress, type AuthThrottleOptions } from './ratelimit.js';

const opts: AuthThrottleOptions = { maxFailuresPerIp: 10, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 2_000 };

function setup(extra: Partial<AuthThrottleOptions> = {}) {
  const clock = new FakeClock();
  return { clock, t: new AuthThrottle(clock, { ...opts, ...extra }) };
}

describe('throttleKeyForAddress', () => {
  it('keeps IPv4, unmaps IPv4-mapped IPv6 and aggregates IPv6 per /64', () => {
    expect(throttleKeyForAddress('192.0.2.1')).toBe('192.0.2.1');
    expect(throttleKeyForAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(throttleKeyForAddress('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(throttleKeyForAddress('2001:DB8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(throttleKeyForAddress('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(throttleKeyForAddress('garbage')).toBe('?garbage');
    expect(throttleKeyForAddress('x'.repeat(1000)).length).toBeLessThan(70);
  });
});

describe('AuthThrottle', () => {
  it('lets a fresh attempt through without delay', () => {
    const { t } = setup();
    expect(t.check('192.0.2.1', 'alice')).toEqual({ allowed: true, delayMs: 0 });
  });

  it('grows the delay exponentially from baseDelayMs and caps it at maxDelayMs', () => {
    const { t } = setup();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      t.recordFailure('192.0.2.1', 'alice');
      delays.push(t.check('192.0.2.1', 'alice').delayMs);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  });

  it('refuses beyond maxFailuresPerIp from one address, whatever the account', () => {
    const { t } = setup();
    for (let i = 0; i < 9; i++) t.recordFailure('192.0.2.1', `user${i}`);
    expect(t.check('192.0.2.1', 'someone').allowed).toBe(true);
    t.recordFailure('192.0.2.1', 'user9');
    expect(t.check('192.0.2.1', 'someone')).toEqual({ allowed: false, delayMs: 2000 });
    expect(t.check('192.0.2.1', 'alice').allowed).toBe(false);
    // Another address is unaffected.
    expect(t.check('198.51.100.1', 'someone')).toEqual({ allowed: true, delayMs: 0 });
  });

  it('never refuses on account failures alone: the right password from elsewhere still gets in, after a delay', () => {
    const { t } = setup();
    // A distributed attack: many addresses, one failure each, all on alice.
    for (let i = 0; i < 1000; i++) t.recordFailure(`203.0.113.${i % 250}`, 'alice');
    const d = t.check('192.0.2.77', 'alice');
    expect(d.allowed).toBe(true);
    expect(d.delayMs).toBe(2000);
    // The user, with the right password, succeeds and resets the account counter.
    t.recordSuccess('192.0.2.77', 'alice');
    expect(t.check('192.0.2.77', 'alice')).toEqual({ allowed: true, delayMs: 0 });
  });

  it('applies the larger of the address and the account delays', () => {
    const { t } = setup();
    for (let i = 0; i < 3; i++) t.recordFailure('192.0.2.1', 'bob'); // address 3, bob 3
    for (let i = 0; i < 2; i++) t.recordFailure('198.51.100.1', 'carol'); // carol 2
    expect(t.check('198.51.100.1', 'bob').delayMs).toBe(400); // account bob (3) > address (2)
    expect(t.check('192.0.2.1', 'carol').delayMs).toBe(400); // address (3) > carol (2)
    expect(t.check('192.0.2.9', 'carol').delayMs).toBe(200);
  });

  it('counts accounts case-insensitively', () => {
    const { t } = setup();
    t.recordFailure('192.0.2.1', 'Alice@Example.org');
    expect(t.check('198.51.100.1', 'alice@example.org').delayMs).toBe(100);
  });

  it('does not let a success on one account wipe the address counter', () => {
    const { t } = setup();
    for (let i = 0; i < 10; i++) {
      t.recordFailure('192.0.2.1', 'victim');
      t.recordSuccess('192.0.2.1', 'attacker-own-account');
    }
    expect(t.check('192.0.2.1', 'victim').allowed).toBe(false);
  });

  it('forgets failures once the window has passed', () => {
    const { t, clock } = setup();
    for (let i = 0; i < 10; i++) t.recordFailure('192.0.2.1', 'alice');
    expect(t.check('192.0.2.1', 'alice').allowed).toBe(false);
    clock.advance(59_999);
    expect(t.check('192.0.2.1', 'alice').allowed).toBe(false);
    clock.advance(1);
    expect(t.check('192.0.2.1', 'alice')).toEqual({ allowed: true, delayMs: 0 });
    t.recordFailure('192.0.2.1', 'alice');
    expect(t.check('192.0.2.1', 'alice').delayMs).toBe(100);
  });

  it('the window runs from the first failure, so trickling failures cannot keep a counter alive forever', () => {
    const { t, clock } = setup();
    for (let i = 0; i < 5; i++) {
      t.recordFailure('192.0.2.1', 'alice');
      clock.advance(10_000);
    }
    clock.advance(10_000); // 60 s since the first failure
    expect(t.check('192.0.2.1', 'alice').delayMs).toBe(0);
  });

  it('aggregates an IPv6 /64 so rotating the interface id does not help', () => {
    const { t } = setup();
    for (let i = 0; i < 10; i++) t.recordFailure(`2001:db8:5:6::${(i + 1).toString(16)}`, `u${i}`);
    expect(t.check('2001:db8:5:6:dead:beef::1', 'fresh').allowed).toBe(false);
    expect(t.check('2001:db8:5:7::1', 'fresh').allowed).toBe(true);
  });

  it('counts IPv4-mapped IPv6 as the IPv4 address', () => {
    const { t } = setup();
    for (let i = 0; i < 10; i++) t.recordFailure(i % 2 ? '::ffff:192.0.2.1' : '192.0.2.1', 'x');
    expect(t.check('192.0.2.1', 'y').allowed).toBe(false);
    expect(t.check('::ffff:192.0.2.1', 'y').allowed).toBe(false);
  });

  it('keeps memory bounded under 1e5 distinct addresses and accounts', () => {
    const { t } = setup({ maxTrackedKeys: 10_000 });
    for (let i = 0; i < 100_000; i++) {
      t.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `user${i}`);
    }
    expect(t.trackedKeys.addresses).toBeLessThanOrEqual(10_000);
    expect(t.trackedKeys.accounts).toBeLessThanOrEqual(10_000);
    // The most recent entries survive, the oldest were evicted.
    expect(t.check('10.1.134.159', 'user99999').delayMs).toBe(100);
    expect(t.check('10.0.0.0', 'user0').delayMs).toBe(0);
  });

  it('hashes huge account names so they cannot inflate memory', () => {
    const { t } = setup();
    const huge = 'a'.repeat(100_000);
    t.recordFailure('192.0.2.1', huge);
    expect(t.check('198.51.100.1', huge).delayMs).toBe(100);
    expect(t.check('198.51.100.1', `${huge}b`).delayMs).toBe(0);
  });

  it('prune drops expired entries', () => {
    const { t, clock } = setup();
    t.recordFailure('192.0.2.1', 'a');
    clock.advance(30_000);
    t.recordFailure('192.0.2.2', 'b');
    clock.advance(30_000);
    t.prune();
    expect(t.trackedKeys).toEqual({ addresses: 1, accounts: 1 });
  });

  it('property: the delay is monotone in failures, bounded, and only the address counter refuses', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.integer({ min: 0, max: 20_000 })), { maxLength: 80 }),
        (ops) => {
          const { t, clock } = setup();
          const ipFails = new Map<number, number[]>();
          for (const [ip, acct, fail, dt] of ops) {
            clock.advance(dt);
            const addr = `192.0.2.${ip}`;
            const before = t.check(addr, `u${acct}`);
            expect(before.delayMs).toBeGreaterThanOrEqual(0);
            expect(before.delayMs).toBeLessThanOrEqual(opts.maxDelayMs);
            const window = ipFails.get(ip);
            const live = window && clock.now() - (window[0] ?? 0) < opts.windowMs ? window.length : 0;
            // Refusal happens exactly when the address has reached its cap within its window.
            expect(before.allowed).toBe(live < opts.maxFailuresPerIp);
            if (fail) {
              t.recordFailure(addr, `u${acct}`);
              const first = ipFails.get(ip);
              // Mirror the fixed window: a new window starts when the old one expired.
              if (!first || clock.now() - (first[0] ?? 0) >= opts.windowMs) ipFails.set(ip, [clock.now()]);
              else first.push(clock.now());
              expect(t.check(addr, `u${acct}`).delayMs).toBeGreaterThanOrEqual(Math.min(before.delayMs, opts.maxDelayMs));
            } else {
              t.recordSuccess(addr, `u${acct}`);
            }
          }
        },
      ),
    );
  });
});
