import { Buffer } from 'node:buffer';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../core/errors.js';
import {
  dkimPublicKeyB64,
  dkimPublicKeyFromPrivatePem,
  dkimTxtRecord,
  dkimTxtRecordChunks,
  generateDkimKeys,
  splitTxt,
} from './dkim.js';

// RFC 8463 Appendix A: the RFC 8032 §7.1 Test 1 key pair.
const RFC8032_SEED_HEX = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const RFC8463_P = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';

describe('DKIM keys', () => {
  it('derives the RFC 8463 Appendix A.2 p= value from the RFC 8032 test key', () => {
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(RFC8032_SEED_HEX, 'hex')]);
    const priv = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    expect(dkimPublicKeyB64(createPublicKey(priv))).toBe(RFC8463_P);
    const pem = priv.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(dkimPublicKeyFromPrivatePem(pem)).toEqual({ alg: 'ed25519', publicKeyB64: RFC8463_P });
  });

  it('generates an RSA-2048 and an Ed25519 pair whose public parts verify their signatures', async () => {
    const keys = await generateDkimKeys();
    expect(keys.rsa.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(keys.ed25519.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);

    const rsaPub = createPublicKey({ key: Buffer.from(keys.rsa.publicKeyB64, 'base64'), format: 'der', type: 'spki' });
    expect(rsaPub.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const data = Buffer.from('signed header hash');
    const rsaSig = sign('sha256', data, keys.rsa.privateKeyPem);
    expect(verify('sha256', data, rsaPub, rsaSig)).toBe(true);

    // RFC 8463 §4: p= is the bare 32-byte key; rebuild the SPKI to verify with it.
    const raw = Buffer.from(keys.ed25519.publicKeyB64, 'base64');
    expect(raw).toHaveLength(32);
    expect(keys.ed25519.publicKeyB64).toHaveLength(44);
    const edPub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
    const edSig = sign(null, data, keys.ed25519.privateKeyPem);
    expect(verify(null, data, edPub, edSig)).toBe(true);

    expect(dkimPublicKeyFromPrivatePem(keys.rsa.privateKeyPem)).toEqual({ alg: 'rsa', publicKeyB64: keys.rsa.publicKeyB64 });
  });
});

describe('DKIM key records', () => {
  it('formats the record text', () => {
    expect(dkimTxtRecord('ed25519', RFC8463_P)).toBe(`v=DKIM1; k=ed25519; p=${RFC8463_P}`);
    expect(dkimTxtRecord('rsa', 'AAAA')).toBe('v=DKIM1; k=rsa; p=AAAA');
    expect(() => dkimTxtRecord('rsa', 'not base64!')).toThrow(InvalidInput);
    expect(() => dkimTxtRecord('rsa', '')).toThrow(InvalidInput);
  });

  it('splits an RSA-2048 record into strings of at most 255 bytes that concatenate back', async () => {
    const keys = await generateDkimKeys();
    const whole = dkimTxtRecord('rsa', keys.rsa.publicKeyB64);
    expect(whole.length).toBeGreaterThan(255);
    const chunks = dkimTxtRecordChunks('rsa', keys.rsa.publicKeyB64);
    expect(chunks.length).toBe(2);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(255);
    expect(chunks.join('')).toBe(whole);
    expect(dkimTxtRecordChunks('ed25519', keys.ed25519.publicKeyB64)).toHaveLength(1);
  });

  it('splitTxt keeps every chunk within the byte bound and never splits a character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 700 }), fc.integer({ min: 4, max: 255 }), (s, max) => {
        const chunks = splitTxt(s, max);
        expect(chunks.join('')).toBe(s);
        for (const c of chunks) expect(Buffer.byteLength(c, 'utf8')).toBeLessThanOrEqual(max);
        expect(chunks.length).toBeGreaterThanOrEqual(1);
      }),
    );
    expect(splitTxt('')).toEqual(['']);
    expect(splitTxt('a'.repeat(510))).toEqual(['a'.repeat(255), 'a'.repeat(255)]);
  });
});
