import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../core/errors.js';
import {
  APP_PASSWORD_ALPHABET,
  MAX_PASSWORD_CHARS,
  dummyVerify,
  generateAppPassword,
  hashAppSecret,
  hashPassword,
  needsRehash,
  normalizePassword,
  parseAppPassword,
  verifyAppSecret,
  verifyPassword,
} from './password.js';

describe('hashPassword / verifyPassword', () => {
  it('produces a PHC scrypt string that verifies the password and nothing else', async () => {
    const h = await hashPassword('correct horse battery staple');
    expect(h).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword('correct horse battery staple', h)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
    expect(needsRehash(h)).toBe(false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    expect(a).not.toBe(b);
  });

  it('normalises Unicode so composed and decomposed forms and odd spaces verify alike', async () => {
    const h = await hashPassword('Cafe\u0301\u00A0\uFF11');
    expect(await verifyPassword('Café 1', h)).toBe(true);
    expect(await verifyPassword('Caf\u00e9\u2003\uFF11\u00AD', h)).toBe(true);
    expect(normalizePassword('a\u200Bb\uFEFF')).toBe('ab');
    expect(normalizePassword('\u2163')).toBe('IV'); // NFKC compatibility mapping
  });

  it('answers false, never throws, on malformed stored hashes', async () => {
    const good = await hashPassword('pw');
    const [, , params, salt, hash] = good.split('$');
    const bad = [
      '',
      'plain',
      '$scrypt$',
      `$scrypt$ln=15,r=8$${salt}$${hash}`,
      `$scrypt$ln=99,r=8,p=1$${salt}$${hash}`,
      `$scrypt$ln=0,r=8,p=1$${salt}$${hash}`,
      `$scrypt$ln=20,r=32,p=1$${salt}$${hash}`, // would need 4 GiB
      `$scrypt$${params}$${salt}$${hash}$extra`,
      `$scrypt$${params}$${salt}$${hash?.slice(0, -2)}`,
      `$scrypt$${params}$${salt}=$${hash}`,
      `$scrypt$${params}$!!!$${hash}`,
      `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${hash}`,
      `$scrypt$${params}$${salt}$${hash}`.replace('$scrypt', '$SCRYPT'),
    ];
    for (const b of bad) {
      await expect(verifyPassword('pw', b), b).resolves.toBe(false);
      expect(needsRehash(b), b).toBe(true);
    }
  });

  it('never throws for arbitrary stored strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 120 }), async (s) => {
        expect(needsRehash(s)).toBe(true);
        // Only the cheap parse is exercised here; full verification is covered above.
      }),
      { numRuns: 500 },
    );
  });

  it('flags hashes with other parameters for rehash, and still verifies them', async () => {
    // A cheaper hash from an older configuration, computed the same way.
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.alloc(16, 7);
    const key = scryptSync('pw', salt, 32, { N: 2 ** 14, r: 8, p: 1 });
    const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
    const old = `$scrypt$ln=14,r=8,p=1$${b64(salt)}$${b64(key)}`;
    expect(needsRehash(old)).toBe(true);
    expect(await verifyPassword('pw', old)).toBe(true);
  });

  it('refuses to hash overlong passwords and fails them at verify', async () => {
    const long = 'x'.repeat(MAX_PASSWORD_CHARS + 1);
    await expect(hashPassword(long)).rejects.toBeInstanceOf(InvalidInput);
    const h = await hashPassword('x'.repeat(MAX_PASSWORD_CHARS));
    await expect(verifyPassword(long, h)).resolves.toBe(false);
  });

  it('dummyVerify costs about as much as a real verify', async () => {
    const h = await hashPassword('pw');
    const time = async (f: () => Promise<unknown>) => {
      const t0 = process.hrtime.bigint();
      await f();
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    // Warm up, then take the median of a few runs of each.
    await verifyPassword('pw', h);
    await dummyVerify('pw');
    const real: number[] = [];
    const dummy: number[] = [];
    for (let i = 0; i < 5; i++) {
      real.push(await time(() => verifyPassword('nope', h)));
      dummy.push(await time(() => dummyVerify('nope')));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[2] ?? 0;
    const ratio = median(dummy) / median(real);
    // Generous: a sanity check that the dummy does scrypt work, not a timing benchmark.
    expect(ratio).toBeGreaterThan(0.25);
    expect(ratio).toBeLessThan(4);
    await expect(dummyVerify()).resolves.toBe(false);
  });
});

describe('app passwords', () => {
  it('generates bw + 8-char id + 24-char secret from the unambiguous alphabet', () => {
    const ap = generateAppPassword();
    expect(ap.id).toHaveLength(8);
    expect(ap.secret).toHaveLength(24);
    expect(ap.password).toBe(`bw${ap.id}${ap.secret}`);
    expect(ap.display).toMatch(/^bw[a-z2-9]{2}(-[a-z2-9]{4}){7}-[a-z2-9]{2}$/);
    for (const ch of ap.id + ap.secret) expect(APP_PASSWORD_ALPHABET).toContain(ch);
    expect(APP_PASSWORD_ALPHABET).toHaveLength(32);
    expect(new Set(APP_PASSWORD_ALPHABET).size).toBe(32);
    for (const ambiguous of '01lo') expect(APP_PASSWORD_ALPHABET).not.toContain(ambiguous);
  });

  it('uses every symbol of the alphabet (no modulo bias toward a subset)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) for (const ch of generateAppPassword().secret) seen.add(ch);
    expect(seen.size).toBe(32);
  });

  it('parses the compact and the display form, in any case, to id and secret', () => {
    const ap = generateAppPassword();
    expect(parseAppPassword(ap.password)).toEqual({ id: ap.id, secret: ap.secret });
    expect(parseAppPassword(ap.display)).toEqual({ id: ap.id, secret: ap.secret });
    expect(parseAppPassword(ap.display.toUpperCase())).toEqual({ id: ap.id, secret: ap.secret });
    expect(parseAppPassword(ap.display.replace(/-/g, ' '))).toEqual({ id: ap.id, secret: ap.secret });
  });

  it('refuses what is not an app password', () => {
    const ap = generateAppPassword();
    for (const s of ['', 'hunter2', ap.password.slice(0, -1), `${ap.password}a`, `xx${ap.password.slice(2)}`, `bw${'0'.repeat(32)}`, `bw${'l'.repeat(32)}`, '-'.repeat(10_000)]) {
      expect(parseAppPassword(s), s).toBeNull();
    }
    fc.assert(fc.property(fc.string(), (s) => {
      const r = parseAppPassword(s);
      if (r) expect(r.id.length + r.secret.length).toBe(32);
    }));
  });

  it('is deterministic under an injected random source', () => {
    const zero = (n: number) => Buffer.alloc(n, 0);
    expect(generateAppPassword(zero).password).toBe(`bw${'a'.repeat(32)}`);
  });

  it('hashes secrets with a salted HMAC and verifies in constant time', () => {
    const ap = generateAppPassword();
    const h = hashAppSecret(ap.secret);
    expect(h).toMatch(/^\$hmac-sha256\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(hashAppSecret(ap.secret)).not.toBe(h);
    expect(verifyAppSecret(ap.secret, h)).toBe(true);
    expect(verifyAppSecret(`${ap.secret.slice(0, -1)}a`, h)).toBe(ap.secret.endsWith('a'));
    expect(verifyAppSecret(ap.secret, '')).toBe(false);
    expect(verifyAppSecret(ap.secret, h.replace('hmac-sha256', 'hmac-sha1'))).toBe(false);
    expect(verifyAppSecret(ap.secret, `${h.slice(0, -4)}`)).toBe(false);
    fc.assert(fc.property(fc.string(), (s) => verifyAppSecret(ap.secret, s) === false));
  });
});
