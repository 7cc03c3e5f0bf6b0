/**
 * Password hashing and app passwords.
 *
 * Account passwords: scrypt (RFC 7914) with N=2^15, r=8, p=1, a 16-byte salt and a 32-byte
 * key, stored in PHC string form `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (unpadded base64).
 * Comparison is constant-time; a malformed stored hash verifies as false, never throws.
 * `dummyVerify` burns the same work for unknown users so timing does not tell which accounts
 * exist.
 *
 * Passwords are normalised before hashing ("SASLprep-lite", after RFC 4013 §2): non-ASCII
 * spaces become U+0020, characters "commonly mapped to nothing" are removed, then Unicode
 * NFKC. RFC 4013's prohibited-output and bidi checks are not applied: they would refuse
 * passwords at login that were accepted elsewhere, and the hash does not need them. The same
 * text typed on different keyboards (composed vs decomposed accents, full-width digits)
 * therefore verifies alike.
 *
 * App passwords: `bw` + an 8-character id + a 24-character secret (120 bits) in a 32-letter
 * alphabet without look-alikes. The id lets auth find the one row to check instead of trying
 * every hash; the secret is random enough that a salted HMAC-SHA-256 suffices.
 */
import { Buffer } from 'node:buffer';
import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { InvalidInput } from '../core/errors.js';

const SCRYPT_LN = 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds on parameters read back from storage, so a corrupt row cannot cost gigabytes. */
const MAX_LN = 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;
/** Longest password accepted (characters, after normalisation). */
export const MAX_PASSWORD_CHARS = 1024;

interface ScryptParams {
  ln: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

// RFC 4013 §2.1: non-ASCII space characters (RFC 3454 C.1.2) map to SPACE.
const NON_ASCII_SPACE_RE = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g;
// RFC 4013 §2.2: "commonly mapped to nothing" (RFC 3454 B.1) is removed.
const MAPPED_TO_NOTHING_RE = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;

/** Normalises a password before hashing or verifying (see the file header). */
export function normalizePassword(password: string): string {
  return password.replace(NON_ASCII_SPACE_RE, ' ').replace(MAPPED_TO_NOTHING_RE, '').normalize('NFKC');
}

function scryptAsync(password: string | Buffer, salt: Buffer, ln: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** ln;
  // Node refuses when 128*N*r exceeds maxmem; leave headroom for the p blocks.
  const maxmem = 128 * N * r + 128 * r * p + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const B64_RE = /^[A-Za-z0-9+/]+$/;

function b64encode(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

function b64decode(text: string): Buffer | null {
  if (!B64_RE.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64');
  // Reject non-canonical encodings (stray bits in the last character).
  return b64encode(bytes) === text ? bytes : null;
}

function parseScrypt(encoded: string): ScryptParams | null {
  if (encoded.length > 512) return null;
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([^$]+)\$([^$]+)$/.exec(encoded);
  if (!m) return null;
  const ln = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (ln < 1 || ln > MAX_LN || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return null;
  if (128 * 2 ** ln * r > MAX_SCRYPT_MEMORY) return null;
  const salt = b64decode(m[4] ?? '');
  const hash = b64decode(m[5] ?? '');
  if (!salt || !hash || salt.length < 8 || salt.length > 64 || hash.length !== KEY_BYTES) return null;
  return { ln, r, p, salt, hash };
}

/** Hashes a password with scrypt into a PHC string. Throws InvalidInput if it is too long. */
export async function hashPassword(password: string, random: (n: number) => Buffer = randomBytes): Promise<string> {
  const pw = normalizePassword(password);
  if (pw.length > MAX_PASSWORD_CHARS) throw new InvalidInput(`Password longer than ${MAX_PASSWORD_CHARS} characters`);
  const salt = random(SALT_BYTES);
  const hash = await scryptAsync(pw, salt, SCRYPT_LN, SCRYPT_R, SCRYPT_P);
  return `$scrypt$ln=${SCRYPT_LN},r=${SCRYPT_R},p=${SCRYPT_P}$${b64encode(salt)}$${b64encode(hash)}`;
}

const DUMMY_SALT = Buffer.alloc(SALT_BYTES, 0x5a);
const DUMMY_HASH = Buffer.alloc(KEY_BYTES, 0);

/**
 * Does the work of a verify against nothing and answers false; call it for unknown users
 * (and malformed stored hashes) so response time does not reveal which accounts exist.
 */
export async function dummyVerify(password = ''): Promise<false> {
  const pw = normalizePassword(password).slice(0, MAX_PASSWORD_CHARS);
  const key = await scryptAsync(pw, DUMMY_SALT, SCRYPT_LN, SCRYPT_R, SCRYPT_P);
  timingSafeEqual(key, DUMMY_HASH);
  return false;
}

/** Checks a password against a stored PHC string in constant time; false on any malformation. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const params = parseScrypt(encoded);
  const pw = normalizePassword(password);
  if (!params || pw.length > MAX_PASSWORD_CHARS) return dummyVerify(password);
  let key: Buffer;
  try {
    key = await scryptAsync(pw, params.salt, params.ln, params.r, params.p);
  } catch {
    // Parameters were bounded above, so this is only reachable under memory pressure; a
    // failed derivation must read as a failed login, not an exception at the protocol edge.
    return false;
  }
  return timingSafeEqual(key, params.hash);
}

/** True when a stored hash is malformed or uses other parameters than today's; rehash on next login. */
export function needsRehash(encoded: string): boolean {
  const p = parseScrypt(encoded);
  return !p || p.ln !== SCRYPT_LN || p.r !== SCRYPT_R || p.p !== SCRYPT_P || p.salt.length !== SALT_BYTES;
}

// ---------------------------------------------------------------------------------------------
// App passwords
// ---------------------------------------------------------------------------------------------

/** 32 symbols: a-z without l and o, digits 2-9 (no 0/o, 1/l/i confusion in lower case). */
export const APP_PASSWORD_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const APP_PREFIX = 'bw';
const APP_ID_CHARS = 8;
const APP_SECRET_CHARS = 24;
const APP_TOTAL_CHARS = APP_PREFIX.length + APP_ID_CHARS + APP_SECRET_CHARS;

/** A freshly generated app password; only `id` and the hash of `secret` are stored. */
export interface AppPassword {
  /** Public lookup key (8 characters). */
  id: string;
  /** 24 characters, 120 bits; shown once, then only its hash is kept. */
  secret: string;
  /** What the user types: "bw" + id + secret. */
  password: string;
  /** The same, grouped by dashes for reading ("bwab-cdef-…"); accepted as typed. */
  display: string;
}

function randomSymbols(n: number, random: (n: number) => Buffer): string {
  const bytes = random(n);
  let out = '';
  // 256 is a multiple of 32, so masking to 5 bits is unbiased.
  for (let i = 0; i < n; i++) out += APP_PASSWORD_ALPHABET[(bytes[i] ?? 0) & 31];
  return out;
}

/** Generates an app password; `random` is injectable for tests. */
export function generateAppPassword(random: (n: number) => Buffer = randomBytes): AppPassword {
  const id = randomSymbols(APP_ID_CHARS, random);
  const secret = randomSymbols(APP_SECRET_CHARS, random);
  const password = `${APP_PREFIX}${id}${secret}`;
  const display = (password.match(/.{1,4}/g) ?? []).join('-');
  return { id, secret, password, display };
}

/**
 * Splits a presented app password into id and secret; null if it is not one (then auth tries
 * the account password instead). Dashes and spaces are ignored and case is folded, so the
 * display form works too.
 */
export function parseAppPassword(presented: string): { id: string; secret: string } | null {
  if (presented.length > 2 * APP_TOTAL_CHARS) return null;
  const compact = presented.replace(/[-\s]/g, '').toLowerCase();
  if (compact.length !== APP_TOTAL_CHARS || !compact.startsWith(APP_PREFIX)) return null;
  for (const ch of compact.slice(APP_PREFIX.length)) if (!APP_PASSWORD_ALPHABET.includes(ch)) return null;
  return {
    id: compact.slice(APP_PREFIX.length, APP_PREFIX.length + APP_ID_CHARS),
    secret: compact.slice(APP_PREFIX.length + APP_ID_CHARS),
  };
}

/** Hashes an app-password secret: `$hmac-sha256$<salt>$<mac>`, a fresh 16-byte salt as key. */
export function hashAppSecret(secret: string, random: (n: number) => Buffer = randomBytes): string {
  const salt = random(SALT_BYTES);
  const mac = createHmac('sha256', salt).update(secret, 'utf8').digest();
  return `$hmac-sha256$${b64encode(salt)}$${b64encode(mac)}`;
}

/** Checks an app-password secret against its stored hash in constant time; false if malformed. */
export function verifyAppSecret(secret: string, encoded: string): boolean {
  const m = /^\$hmac-sha256\$([^$]{1,128})\$([^$]{1,128})$/.exec(encoded);
  const salt = m ? b64decode(m[1] ?? '') : null;
  const mac = m ? b64decode(m[2] ?? '') : null;
  const expected = mac && mac.length === 32 ? mac : Buffer.alloc(32);
  const actual = createHmac('sha256', salt ?? DUMMY_SALT)
    .update(secret.slice(0, 4 * APP_TOTAL_CHARS), 'utf8')
    .digest();
  const equal = timingSafeEqual(actual, expected);
  return equal && salt !== null && mac !== null && mac.length === 32;
}
