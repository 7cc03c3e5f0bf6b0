/**
 * The outbound SMTP client of the queue (RFC 5321 §3, §4): one transaction to one host over a
 * socket the egress guard opened. Opportunistic STARTTLS (RFC 3207) unless the policy demands
 * it (MTA-STS enforce, RFC 8461 §5), AUTH PLAIN to a smart host (RFC 4954), DSN parameters
 * when the server offers DSN (RFC 3461 §4). Every read is bounded in size and time.
 */
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { Unavailable } from '../errors.js';

/** One server reply. */
export interface ClientReply {
  code: number;
  text: string;
}

/** What one transaction sends. */
export interface Transaction {
  mailFrom: string;
  recipients: Array<{ address: string; notify: string | null; orcpt: string | null }>;
  envid: string | null;
  ret: string | null;
  data: Uint8Array;
  needsSmtpUtf8: boolean;
}

/** How to talk to this host. */
export interface ClientOptions {
  /** Our name for EHLO. */
  hostname: string;
  /** The host name we connected to (TLS servername, policy matching). */
  remoteHost: string;
  /** Require STARTTLS with a valid certificate for remoteHost (MTA-STS enforce, smart host). */
  requireTls: boolean;
  /** Verify the certificate even when TLS is opportunistic. */
  verifyCertificate: boolean;
  credentials: { username: string; password: string } | null;
  /** Trust anchors (PEM) for certificate checks in place of Node's default roots; null = the defaults. */
  ca?: readonly string[] | null;
  /** Bound on each reply wait (RFC 5321 §4.5.3.2 suggests minutes; configurable). */
  timeoutMs: number;
}

/** Per-recipient outcome of a transaction. */
export interface TransactionResult {
  /** Whether TLS was used. */
  isTls: boolean;
  /** Whether the server offered DSN (RFC 3461), so NOTIFY went along with each RCPT. */
  isDsnOffered: boolean;
  recipients: Array<{ address: string; reply: ClientReply }>;
  /** Set when the transaction failed as a whole before per-recipient replies meant anything. */
  failure: ClientReply | null;
}

const MAX_REPLY_BYTES = 64 * 1024;

class Conn {
  private buf = '';
  private waiters: Array<() => void> = [];
  private closed: Error | null = null;

  constructor(
    public socket: Socket,
    private readonly timeoutMs: number,
  ) {
    this.attach(socket);
  }

  attach(socket: Socket): void {
    this.socket = socket;
    this.buf = '';
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      if (this.buf.length > MAX_REPLY_BYTES) {
        this.closed = new Unavailable('reply too long');
        socket.destroy();
      }
      this.wake();
    });
    socket.on('error', (e) => {
      this.closed = e;
      this.wake();
    });
    socket.on('close', () => {
      this.closed ??= new Unavailable('connection closed');
      this.wake();
    });
  }

  detach(): void {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('error');
    this.socket.removeAllListeners('close');
    this.socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  /** Reads one (multi-line) reply, RFC 5321 §4.2.1. */
  async read(): Promise<ClientReply> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const lines = this.buf.split('\r\n');
      const texts: string[] = [];
      for (let i = 0; i < lines.length - 1; i++) {
        const l = lines[i]!;
        const m = /^(\d{3})([ -])(.*)$/.exec(l);
        if (!m) throw new Unavailable(`malformed reply line: ${l.slice(0, 100)}`);
        texts.push(m[3]!);
        if (m[2] === ' ') {
          this.buf = lines.slice(i + 1).join('\r\n');
          return { code: Number(m[1]), text: texts.join('\n') };
        }
      }
      if (this.closed) throw this.closed instanceof Unavailable ? this.closed : new Unavailable('connection lost', { cause: this.closed });
      const left = deadline - Date.now();
      if (left <= 0) throw new Unavailable('timeout waiting for reply');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  write(s: string | Uint8Array): void {
    this.socket.write(s);
  }

  async command(line: string): Promise<ClientReply> {
    this.write(line + '\r\n');
    return this.read();
  }
}

/** Dot-stuffs data (RFC 5321 §4.5.2) and makes sure it ends with CRLF. */
export function dotStuff(data: Uint8Array): Buffer {
  let s = Buffer.from(data).toString('latin1');
  s = s.replace(/\r?\n/g, '\r\n');
  if (s.startsWith('.')) s = '.' + s;
  s = s.replace(/\r\n\./g, '\r\n..');
  if (!s.endsWith('\r\n')) s += '\r\n';
  return Buffer.from(s, 'latin1');
}

function extensions(ehlo: ClientReply): Set<string> {
  return new Set(
    ehlo.text
      .split('\n')
      .slice(1)
      .map((l) => l.trim().toUpperCase().split(' ')[0]!),
  );
}

/** Runs one mail transaction on a connected socket and closes it. */
export async function sendTransaction(socket: Socket, tx: Transaction, o: ClientOptions): Promise<TransactionResult> {
  const c = new Conn(socket, o.timeoutMs);
  let isTls = false;
  let isDsnOffered = false;
  const fail = (reply: ClientReply): TransactionResult => ({ isTls, isDsnOffered, recipients: [], failure: reply });
  try {
    const greeting = await c.read();
    if (greeting.code !== 220) return fail(greeting);
    let ehlo = await c.command(`EHLO ${o.hostname}`);
    let ext = new Set<string>();
    if (ehlo.code === 250) ext = extensions(ehlo);
    else {
      ehlo = await c.command(`HELO ${o.hostname}`);
      if (ehlo.code !== 250) return fail(ehlo);
    }
    if (ext.has('STARTTLS')) {
      const r = await c.command('STARTTLS');
      if (r.code === 220) {
        c.detach();
        const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
          const s = tls.connect(
            { socket, servername: o.remoteHost, rejectUnauthorized: o.requireTls || o.verifyCertificate, minVersion: 'TLSv1.2', ...(o.ca ? { ca: [...o.ca] } : {}) },
            () => resolve(s),
          );
          s.once('error', reject);
        });
        c.attach(secure);
        isTls = true;
        // RFC 3207 §4.2: forget what was learnt before TLS and ask again.
        ehlo = await c.command(`EHLO ${o.hostname}`);
        if (ehlo.code !== 250) return fail(ehlo);
        ext = extensions(ehlo);
      } else if (o.requireTls) return fail({ code: 451, text: `STARTTLS refused: ${r.code} ${r.text}` });
    } else if (o.requireTls) {
      return fail({ code: 451, text: '4.7.5 TLS required by policy but not offered' });
    }
    if (o.credentials) {
      const token = Buffer.from(`\0${o.credentials.username}\0${o.credentials.password}`).toString('base64');
      const r = await c.command(`AUTH PLAIN ${token}`);
      if (r.code !== 235) return fail(r);
    }
    if (tx.needsSmtpUtf8 && !ext.has('SMTPUTF8')) {
      // RFC 6531 §3.2: without SMTPUTF8 at the server the message cannot be sent as is.
      return fail({ code: 553, text: '5.6.7 recipient server does not support SMTPUTF8' });
    }
    const dsn = ext.has('DSN');
    isDsnOffered = dsn;
    let mail = `MAIL FROM:<${tx.mailFrom}>`;
    if (ext.has('SIZE')) mail += ` SIZE=${tx.data.byteLength}`;
    if (ext.has('8BITMIME')) mail += ' BODY=8BITMIME';
    if (tx.needsSmtpUtf8) mail += ' SMTPUTF8';
    if (dsn && tx.ret) mail += ` RET=${tx.ret}`;
    if (dsn && tx.envid) mail += ` ENVID=${tx.envid}`;
    const mr = await c.command(mail);
    if (mr.code !== 250) return fail(mr);
    const results: Array<{ address: string; reply: ClientReply }> = [];
    for (const r of tx.recipients) {
      let line = `RCPT TO:<${r.address}>`;
      if (dsn && r.notify) line += ` NOTIFY=${r.notify}`;
      if (dsn && r.orcpt) line += ` ORCPT=${r.orcpt}`;
      results.push({ address: r.address, reply: await c.command(line) });
    }
    const accepted = results.filter((r) => r.reply.code >= 200 && r.reply.code < 300);
    if (accepted.length === 0) {
      c.write('QUIT\r\n');
      return { isTls, isDsnOffered, recipients: results, failure: null };
    }
    const dr = await c.command('DATA');
    if (dr.code !== 354) return { isTls, isDsnOffered, recipients: results.map((r) => (accepted.includes(r) ? { address: r.address, reply: dr } : r)), failure: null };
    c.write(dotStuff(tx.data));
    const end = await c.command('.');
    c.write('QUIT\r\n');
    return { isTls, isDsnOffered, recipients: results.map((r) => (accepted.includes(r) ? { address: r.address, reply: end } : r)), failure: null };
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    return fail({ code: 421, text: `4.4.2 ${text}` });
  } finally {
    setTimeout(() => c.socket.destroy(), 100).unref();
  }
}
