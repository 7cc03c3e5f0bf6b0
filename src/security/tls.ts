/**
 * TLS certificates: a self-signed default made on first start, per-domain certificates chosen
 * by SNI, and facts about a certificate for `bulwark doctor`.
 *
 * Invariants:
 * - Private keys are written with mode 0600, atomically, and existing files are never
 *   overwritten (an admin's own certificate must survive every restart).
 * - Every context offers TLS 1.2 or newer only (RFC 8996 retires 1.0 and 1.1; RFC 8314 §5).
 * - reload() swaps in a complete new set of contexts or, on any error, keeps the old one.
 *   ACME will later write new files and call reload().
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls';
import { generate } from 'selfsigned';

/** Oldest protocol version any Bulwark listener accepts. */
export const MIN_TLS_VERSION = 'TLSv1.2';

/** Where a certificate chain and its private key are, as PEM files. */
export interface CertificateFiles {
  /** Certificate chain (PEM), leaf first. */
  readonly cert: string;
  /** Private key (PEM). */
  readonly key: string;
}

/** A certificate for some names, chosen by SNI (the shape of `[[tls.certificates]]`). */
export interface DomainCertificateFiles extends CertificateFiles {
  /** Exact names or "*.example.com" wildcards, matched case-insensitively. */
  readonly domains: readonly string[];
}

/** Result of ensureSelfSignedCertificate. */
export interface SelfSignedResult {
  readonly certPath: string;
  readonly keyPath: string;
  /** False when both files already existed and were left alone. */
  readonly created: boolean;
}

/** What `bulwark doctor` needs to know about a certificate file. */
export interface CertificateInfo {
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Subject distinguished name, one attribute per line (e.g. "CN=mail.example.com"). */
  readonly subject: string;
  /** Subject alternative names: DNS names and IP addresses, without their "DNS:" prefixes. */
  readonly altNames: readonly string[];
  /** Whether the certificate signed itself (no public CA vouches for it). */
  readonly isSelfSigned: boolean;
  /** SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint256: string;
}

const VALIDITY_DAYS = 365;
const DAY_MS = 86_400_000;

/**
 * Creates `<dir>/cert.pem` and `<dir>/key.pem` with a self-signed RSA-2048 certificate for
 * `hostname`, `altNames`, localhost, 127.0.0.1 and ::1, unless both exist already.
 */
export async function ensureSelfSignedCertificate(
  dir: string,
  hostname: string,
  altNames: readonly string[],
  options: { now?: Date } = {},
): Promise<SelfSignedResult> {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const hasCert = exists(certPath);
  const hasKey = exists(keyPath);
  if (hasCert && hasKey) return { certPath, keyPath, created: false };
  if (hasCert !== hasKey) {
    // A lone half is someone's certificate or key; generating the other half cannot match it.
    throw new Error(
      `${hasCert ? keyPath : certPath} is missing but ${hasCert ? certPath : keyPath} exists; ` +
        'supply the missing file or remove the other to have a self-signed pair made',
    );
  }

  const now = options.now ?? new Date();
  const names = [...new Set([hostname, ...altNames, 'localhost', '127.0.0.1', '::1'].map((n) => n.toLowerCase()))];
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    // Backdated a day so a client whose clock runs slow still accepts it.
    notBeforeDate: new Date(now.getTime() - DAY_MS),
    notAfterDate: new Date(now.getTime() + VALIDITY_DAYS * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: names.map((n) => (isIP(n) !== 0 ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })),
      },
    ],
  });

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Key first: a crash in between leaves a lone key, which the check above reports.
  writeFileExclusive(keyPath, pems.private, 0o600);
  writeFileExclusive(certPath, pems.cert, 0o644);
  fsyncDirectory(dir);
  return { certPath, keyPath, created: true };
}

function exists(path: string): boolean {
  // Unlike existsSync, an unreadable directory throws instead of passing for "missing".
  return statSync(path, { throwIfNoEntry: false }) !== undefined;
}

/**
 * Writes `data` to `path` through a temporary file and a hard link, so readers never see a
 * half-written file and an existing `path` is never replaced (link fails with EEXIST where
 * rename would overwrite).
 */
function writeFileExclusive(path: string, data: string, mode: number): void {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
  } finally {
    unlinkSync(temp);
  }
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A certificate file could not be read or does not fit its key. */
export class CertificateLoadError extends Error {
  /** The file at fault. */
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CertificateLoadError';
    this.path = path;
  }
}

interface LoadedContexts {
  readonly defaultFiles: { readonly cert: Buffer; readonly key: Buffer };
  readonly defaultContext: SecureContext;
  readonly exact: ReadonlyMap<string, SecureContext>;
  /** Keyed by the parent domain: "*.example.com" is stored under "example.com". */
  readonly wildcard: ReadonlyMap<string, SecureContext>;
}

/**
 * The server's certificates: a default pair plus per-domain pairs picked by the name the client
 * sends in SNI (RFC 6066 §3). Pass `serverOptions()` to tls.createServer, or `SNICallback` and
 * `secureContextFor()` to a `new tls.TLSSocket` after STARTTLS.
 */
export class TlsCertificates {
  private loaded: LoadedContexts;

  /** Reads every file now; throws CertificateLoadError naming the first bad one. */
  constructor(private readonly files: CertificateFiles & { readonly certificates?: readonly DomainCertificateFiles[] }) {
    this.loaded = loadContexts(files);
  }

  /**
   * Re-reads every file and swaps in the new set, or throws and keeps the old one. Servers
   * made from serverOptions() should also call `server.setSecureContext(certs.serverOptions())`
   * so clients that send no SNI get the new default.
   */
  reload(): void {
    this.loaded = loadContexts(this.files);
  }

  /** The context for `servername`: exact match, then "*.parent" wildcard, then the default. */
  secureContextFor(servername?: string): SecureContext {
    const { exact, wildcard, defaultContext } = this.loaded;
    if (servername === undefined || servername === '') return defaultContext;
    const name = servername.toLowerCase().replace(/\.$/, '');
    const match = exact.get(name);
    if (match !== undefined) return match;
    // RFC 6125 §6.4.3: the wildcard stands for exactly one leftmost label.
    const dot = name.indexOf('.');
    if (dot > 0) {
      const byWildcard = wildcard.get(name.slice(dot + 1));
      if (byWildcard !== undefined) return byWildcard;
    }
    return defaultContext;
  }

  /** Node's SNICallback, bound to this instance. */
  readonly SNICallback = (servername: string, callback: (err: Error | null, ctx?: SecureContext) => void): void => {
    callback(null, this.secureContextFor(servername));
  };

  /** Options for tls.createServer (and the TLS side of STARTTLS): default pair, SNI, TLS ≥ 1.2. */
  serverOptions(): TlsOptions & { minVersion: typeof MIN_TLS_VERSION } {
    const { cert, key } = this.loaded.defaultFiles;
    return { cert, key, SNICallback: this.SNICallback, minVersion: MIN_TLS_VERSION };
  }
}

function loadContexts(
  files: CertificateFiles & { readonly certificates?: readonly DomainCertificateFiles[] },
): LoadedContexts {
  const defaultFiles = readPair(files);
  const defaultContext = makeContext(files, defaultFiles);
  const exact = new Map<string, SecureContext>();
  const wildcard = new Map<string, SecureContext>();
  for (const entry of files.certificates ?? []) {
    const context = makeContext(entry, readPair(entry));
    for (const domain of entry.domains) {
      const name = domain.toLowerCase();
      if (name.startsWith('*.')) wildcard.set(name.slice(2), context);
      else exact.set(name, context);
    }
  }
  return { defaultFiles, defaultContext, exact, wildcard };
}

function readPair(files: CertificateFiles): { cert: Buffer; key: Buffer } {
  return { cert: readPem(files.cert), key: readPem(files.key) };
}

function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CertificateLoadError(path, `cannot read ${path} (${code})`, { cause: err });
  }
}

function makeContext(files: CertificateFiles, pems: { cert: Buffer; key: Buffer }): SecureContext {
  try {
    return createSecureContext({ ...pems, minVersion: MIN_TLS_VERSION });
  } catch (err) {
    // OpenSSL says "key values mismatch" or "no start line"; name both files so the admin knows where to look.
    const detail = err instanceof Error ? err.message : String(err);
    throw new CertificateLoadError(files.cert, `cannot use ${files.cert} with ${files.key}: ${detail}`, { cause: err });
  }
}

/** Reads the first certificate of a PEM file: validity, subject and names. */
export function certificateInfo(path: string): CertificateInfo {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(readFileSync(path));
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new CertificateLoadError(path, `cannot read a certificate from ${path}: ${detail}`, { cause: err });
  }
  return {
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
    subject: certificate.subject,
    altNames: parseSubjectAltName(certificate.subjectAltName),
    // checkIssued() would also demand keyCertSign, which a leaf rightly lacks.
    isSelfSigned: certificate.subject === certificate.issuer && certificate.verify(certificate.publicKey),
    fingerprint256: certificate.fingerprint256,
  };
}

/** Splits Node's "DNS:a, IP Address:1.2.3.4" form; newer Node quotes names with commas as JSON. */
function parseSubjectAltName(text: string | undefined): string[] {
  if (text === undefined) return [];
  const names: string[] = [];
  const pattern = /(?:^|, )(DNS|IP Address):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (const match of text.matchAll(pattern)) {
    const value = match[2] ?? '';
    names.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return names;
}
