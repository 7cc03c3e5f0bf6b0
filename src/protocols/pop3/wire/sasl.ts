/**
 * SASL pieces of POP3 AUTH (RFC 5034 §4) and the PLAIN mechanism (RFC 4616 §2). Pure.
 */

/** What a SASL client line holds (RFC 5034 §4). */
export type SaslResponse = { kind: 'cancel' } | { kind: 'data'; bytes: Uint8Array } | { kind: 'bad' };

/** Decodes a client response: "*" cancels; otherwise strict base64, "=" alone is empty. */
export function decodeSaslResponse(text: string): SaslResponse {
  if (text === '*') return { kind: 'cancel' };
  if (text === '=') return { kind: 'data', bytes: new Uint8Array(0) };
  const bytes = decodeBase64Strict(text);
  return bytes ? { kind: 'data', bytes } : { kind: 'bad' };
}

/**
 * RFC 5034 §4: reject (not ignore) any character outside the base64 alphabet and any pad
 * that is not at the end; RFC 4648 §4 groups of four.
 */
export function decodeBase64Strict(text: string): Uint8Array | null {
  if (text.length === 0 || text.length % 4 !== 0) return null;
  if (!/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  // Non-canonical encodings (stray bits in the last symbol) do not round-trip: refuse them.
  if (bytes.toString('base64') !== text) return null;
  return new Uint8Array(bytes);
}

/** PLAIN credentials (RFC 4616 §2). */
export interface PlainCredentials {
  authzid: string;
  authcid: string;
  password: string;
}

/** Parses a PLAIN message `[authzid] NUL authcid NUL passwd`; null when malformed. */
export function parsePlain(bytes: Uint8Array): PlainCredentials | null {
  const first = bytes.indexOf(0);
  if (first < 0) return null;
  const second = bytes.indexOf(0, first + 1);
  if (second < 0 || bytes.indexOf(0, second + 1) >= 0) return null;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    const authzid = decoder.decode(bytes.subarray(0, first));
    const authcid = decoder.decode(bytes.subarray(first + 1, second));
    const password = decoder.decode(bytes.subarray(second + 1));
    // RFC 4616 §2: authcid and passwd are non-empty; each at most 255 octets.
    if (authcid === '' || password === '' || first > 255 || second - first - 1 > 255 || bytes.length - second - 1 > 255) return null;
    return { authzid, authcid, password };
  } catch {
    // TextDecoder with fatal: true throws on invalid UTF-8; RFC 4616 §2 requires UTF-8.
    return null;
  }
}
