/**
 * DKIM signing keys and their DNS key records: RSA-2048 (RFC 6376, RFC 8301 §3.2 minimum
 * 1024, 2048 recommended) and Ed25519 (RFC 8463). A domain publishes both and signs with both
 * (RFC 8463 §6), since not every verifier knows Ed25519 yet.
 */
import { Buffer } from 'node:buffer';
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { InvalidInput } from '../core/errors.js';

/** A DKIM key algorithm, as in the k= tag. */
export type DkimAlgorithm = 'rsa' | 'ed25519';

/** A key pair: PKCS#8 PEM private key, and the p= value of its DNS record. */
export interface DkimKeyPair {
  privateKeyPem: string;
  publicKeyB64: string;
}

/** Longest character-string in a TXT record (RFC 1035 §3.3). */
export const MAX_TXT_STRING_BYTES = 255;

function generate(type: 'rsa' | 'ed25519'): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (err) reject(err);
      else resolve({ publicKey, privateKey });
    };
    if (type === 'rsa') generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, cb);
    else generateKeyPair('ed25519', {}, cb);
  });
}

/**
 * The p= value for a public key. RSA: base64 of the DER SubjectPublicKeyInfo.
 * Deviation: RFC 6376 §3.6.1 names RSAPublicKey, but its own examples, RFC 8463 Appendix A.2,
 * `openssl rsa -pubout` and every verifier in use take SubjectPublicKeyInfo.
 * Ed25519: RFC 8463 §4, the raw 32-byte public key in base64 (not wrapped in SPKI).
 */
export function dkimPublicKeyB64(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') {
    return key.export({ format: 'der', type: 'spki' }).toString('base64');
  }
  if (key.asymmetricKeyType === 'ed25519') {
    const jwk = key.export({ format: 'jwk' });
    if (typeof jwk.x !== 'string') throw new InvalidInput('Ed25519 key without public part');
    return Buffer.from(jwk.x, 'base64url').toString('base64');
  }
  throw new InvalidInput(`Unsupported DKIM key type ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** Derives the p= value from a stored private key (PEM), e.g. to re-print DNS records. */
export function dkimPublicKeyFromPrivatePem(privateKeyPem: string): { alg: DkimAlgorithm; publicKeyB64: string } {
  const priv = createPrivateKey(privateKeyPem);
  const alg = priv.asymmetricKeyType;
  if (alg !== 'rsa' && alg !== 'ed25519') throw new InvalidInput('Unsupported DKIM key type');
  return { alg, publicKeyB64: dkimPublicKeyB64(createPublicKey(priv)) };
}

/** Generates one RSA-2048 and one Ed25519 DKIM key pair. */
export async function generateDkimKeys(): Promise<{ rsa: DkimKeyPair; ed25519: DkimKeyPair }> {
  const [rsa, ed] = await Promise.all([generate('rsa'), generate('ed25519')]);
  const pair = (k: { privateKey: KeyObject; publicKey: KeyObject }): DkimKeyPair => ({
    privateKeyPem: k.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyB64: dkimPublicKeyB64(k.publicKey),
  });
  return { rsa: pair(rsa), ed25519: pair(ed) };
}

/** The DKIM key record text (RFC 6376 §3.6.1; k=ed25519 from RFC 8463 §4) as one string. */
export function dkimTxtRecord(alg: DkimAlgorithm, publicKeyB64: string): string {
  if (!/^[A-Za-z0-9+/]+=*$/.test(publicKeyB64)) throw new InvalidInput('DKIM public key is not base64');
  return `v=DKIM1; k=${alg}; p=${publicKeyB64}`;
}

/**
 * Splits TXT record data into character-strings of at most 255 bytes (RFC 1035 §3.3.14);
 * verifiers concatenate them without separators (RFC 6376 §3.6.2.2, RFC 7208 §3.3). Splits
 * fall between characters, never inside a UTF-8 sequence.
 */
export function splitTxt(value: string, maxBytes = MAX_TXT_STRING_BYTES): string[] {
  const chunks: string[] = [];
  let current = '';
  let currentBytes = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (currentBytes + n > maxBytes) {
      chunks.push(current);
      current = '';
      currentBytes = 0;
    }
    current += ch;
    currentBytes += n;
  }
  if (current !== '' || chunks.length === 0) chunks.push(current);
  return chunks;
}

/** The DKIM key record split into DNS character-strings of at most 255 bytes each. */
export function dkimTxtRecordChunks(alg: DkimAlgorithm, publicKeyB64: string): string[] {
  return splitTxt(dkimTxtRecord(alg, publicKeyB64));
}
