/**
 * One SMTP / LMTP connection: state, the command table, the one catch site.
 *
 * Invariants:
 * - Commands run one at a time in arrival order; pipelined bytes wait in the reader
 *   (RFC 2920 §3.1). Replies go out in command order.
 * - Nothing sent before the greeting is read as a command: such a client is an early talker
 *   and gets 554 and a closed connection (RFC 5321 §4.3.1: 554 in place of the greeting).
 * - After STARTTLS every buffered plaintext byte is dropped and all state is reset
 *   (RFC 3207 §4.2), so nothing injected before the handshake runs inside TLS.
 * - 250 after DATA means every local copy is committed and every remote copy is queued
 *   durably (DESIGN.md "Durable before acknowledged"); a half message is never stored.
 * - The relay rule: an unauthenticated client reaches local recipients only; what decides
 *   "local" is the canonical domain of the parsed mailbox after source routes are dropped,
 *   so %-hacks, bang paths and quoted local parts stay local parts of a local address.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { isInCidrList } from '../../security/egress.js';
import { canonicalAddress, canonicalDomain, isLocalDomain, listDomains, resolveRecipient } from '../../core/accounts/index.js';
import { maySendAs } from '../../core/accounts/senders.js';
import type { AuthSuccess } from '../../core/auth/index.js';
import { AuthFailed } from '../../core/errors.js';
import type { ConnectionInfo } from '../../server/protocol.js';
import { deliverTransaction, type Envelope } from './deliver.js';
import { replyForError } from './errors.js';
import type { SmtpRuntime } from './runtime.js';
import { parseCommand, type Command, type MailParams, type Mailbox, type RcptParams } from './wire/command.js';
import { SmtpReader, type DataResult } from './wire/reader.js';
import * as R from './wire/replies.js';
import { formatReply, reply, type Reply } from './wire/replies.js';

/** Which service this session speaks. */
export type SessionMode = 'mx' | 'submission' | 'lmtp';

/** Connection state: what is known so far (STYLE.md "State carries its data"). */
type State =
  | { kind: 'greeting' }
  | { kind: 'fresh' }
  | { kind: 'ready'; helo: string; isEsmtp: boolean }
  | { kind: 'mail'; helo: string; isEsmtp: boolean; envelope: Envelope }
  | { kind: 'data'; helo: string; isEsmtp: boolean; envelope: Envelope }
  | { kind: 'closed' };

type SaslStep = { mechanism: 'PLAIN' } | { mechanism: 'LOGIN'; username: string | null };

const MAX_PENDING_COMMAND_BYTES = 64 * 1024;

/** One connection. */
export class SmtpSession {
  private state: State = { kind: 'greeting' };
  private reader: SmtpReader;
  private socket: Socket;
  private isTls: boolean;
  private auth: AuthSuccess | null = null;
  private sasl: SaslStep | null = null;
  private isBusy = false;
  private isClosing = false;
  private isEarlyTalker = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private sessionTimer: NodeJS.Timeout | null = null;
  private readonly log;
  private readonly onData = (d: Buffer) => this.received(d);
  /** Resolves when the connection is gone. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    private readonly rt: SmtpRuntime,
    socket: Socket,
    private readonly info: ConnectionInfo,
    private readonly mode: SessionMode,
  ) {
    this.socket = socket;
    this.isTls = false;
    this.reader = new SmtpReader(R_MAX_LINE);
    this.log = rt.log.child({ connectionId: info.connectionId, listener: info.listener, client: info.clientAddress });
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Starts the session: TLS first on implicit-TLS listeners, then the greeting. */
  start(): void {
    this.socket.on('close', () => this.closed());
    this.socket.on('error', (e) => this.log.debug({ event: 'smtp.socket.error', err: e.message }, 'socket error'));
    this.sessionTimer = setTimeout(() => this.timeout(R.SESSION_TIMEOUT), this.rt.options.sessionTimeoutMs);
    this.sessionTimer.unref();
    if (this.info.implicitTls) {
      // RFC 8314 §3.3: TLS starts before any SMTP byte.
      this.upgrade(() => this.greet(0));
      return;
    }
    this.socket.on('data', this.onData);
    this.greet(this.mode === 'mx' ? this.rt.options.greetingDelayMs : 0);
  }

  private greet(delayMs: number): void {
    const send = () => {
      if (this.state.kind !== 'greeting') return;
      if (this.isEarlyTalker || this.reader.pendingBytes > 0) {
        // RFC 5321 §4.3.1: the client must wait for the greeting; a talker that does not is
        // refused before any of its bytes is read as a command.
        this.log.info({ event: 'smtp.early_talker' }, 'client spoke before the greeting');
        this.send(R.EARLY_TALKER);
        this.end();
        return;
      }
      this.state = { kind: 'fresh' };
      const service = this.mode === 'lmtp' ? 'LMTP' : 'ESMTP';
      this.send(reply(220, null, `${this.rt.options.hostname} ${service} Bulwark ready`));
      this.touch();
    };
    if (delayMs > 0) setTimeout(send, delayMs).unref();
    else send();
  }

  private received(d: Buffer): void {
    this.reader.push(d);
    if (this.state.kind === 'greeting') {
      // An early talker: greet() refuses it once the delay is over; its bytes are never read.
      this.isEarlyTalker = true;
      this.reader.discardPending();
      return;
    }
    this.touch();
    if (!this.reader.inData && this.reader.pendingBytes > MAX_PENDING_COMMAND_BYTES) this.socket.pause();
    void this.pump();
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.timeout(R.IDLE_TIMEOUT), this.rt.options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private timeout(r: Reply): void {
    if (this.state.kind === 'closed') return;
    this.log.info({ event: 'smtp.timeout', code: r.enhanced }, 'session timed out');
    this.send(r);
    this.end();
  }

  /** Asks the session to finish: after the command in progress it says goodbye (421). */
  shutdown(): void {
    this.isClosing = true;
    if (!this.isBusy && this.state.kind !== 'closed') {
      this.send(R.SHUTTING_DOWN);
      this.end();
    }
  }

  private send(r: Reply): void {
    if (this.state.kind === 'closed' || this.socket.destroyed) return;
    this.socket.write(formatReply(r));
  }

  private end(): void {
    if (this.state.kind === 'closed') return;
    this.state = { kind: 'closed' };
    this.socket.off('data', this.onData);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }

  private closed(): void {
    this.state = { kind: 'closed' };
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.sessionTimer) clearTimeout(this.sessionTimer);
    this.resolveDone();
  }

  /** Works through buffered input one command (or one message) at a time. */
  private async pump(): Promise<void> {
    if (this.isBusy) return;
    this.isBusy = true;
    try {
      while (this.state.kind !== 'closed' && this.state.kind !== 'greeting') {
        if (this.reader.inData) {
          const r = this.reader.nextData();
          if (!r) break;
          await this.endOfData(r);
          continue;
        }
        const line = this.reader.nextLine();
        if (!line) break;
        if (line.kind === 'tooLong') {
          this.send(R.LINE_TOO_LONG);
          continue;
        }
        if (this.sasl) await this.saslResponse(line.line);
        else await this.command(line.line);
        if (this.isClosing && !this.reader.inData && (this.state as State).kind !== 'closed') {
          this.send(R.SHUTTING_DOWN);
          this.end();
        }
      }
    } finally {
      this.isBusy = false;
      if (this.state.kind !== 'closed' && this.socket.isPaused()) this.socket.resume();
    }
  }

  private get isSecure(): boolean {
    return this.isTls || (this.rt.options.loopbackIsSecure && isInCidrList(this.info.clientAddress, ['127.0.0.0/8', '::1/128']));
  }

  private get isUtf8Transaction(): boolean {
    return this.state.kind === 'mail' && this.state.envelope.params.smtpUtf8;
  }

  /** The one catch site for commands. */
  private async command(line: Uint8Array): Promise<void> {
    const parsed = parseCommand(line, { isUtf8Transaction: this.isUtf8Transaction });
    if (!parsed.ok) {
      this.log.debug({ event: 'smtp.syntax', error: parsed.error }, parsed.message);
      switch (parsed.error) {
        case 'unknown':
          return this.send(R.UNKNOWN_COMMAND);
        case 'tooLong':
          return this.send(R.LINE_TOO_LONG);
        case 'nul':
          return this.send(R.NUL_IN_COMMAND);
        case 'eightBit':
          return this.send(/^(MAIL|RCPT)/i.test(Buffer.from(line.subarray(0, 4)).toString('latin1')) ? R.NEEDS_SMTPUTF8 : R.EIGHT_BIT_COMMAND);
        case 'address':
          return this.send(R.BAD_ADDRESS);
        case 'param':
          return this.send(R.BAD_PARAMETER);
        case 'args':
        case 'size':
          return this.send(R.SYNTAX_ARGS);
      }
    }
    try {
      await this.dispatch(parsed.command);
    } catch (e) {
      this.send(replyForError(e, this.log, parsed.command.verb));
    }
  }

  private async dispatch(c: Command): Promise<void> {
    const s = this.state;
    switch (c.verb) {
      case 'EHLO':
      case 'HELO':
      case 'LHLO':
        return this.hello(c.verb, c.domain);
      case 'NOOP':
        return this.send(R.OK);
      case 'QUIT':
        this.send(R.BYE);
        return this.end();
      case 'RSET':
        // RFC 5321 §4.1.1.5: drop the transaction, keep the greeting.
        if (s.kind === 'mail' || s.kind === 'data') this.state = { kind: 'ready', helo: s.helo, isEsmtp: s.isEsmtp };
        return this.send(R.OK);
      case 'VRFY':
      case 'EXPN':
        // RFC 5321 §3.5.3: 252 rather than disclose which addresses exist.
        return this.send(c.verb === 'VRFY' ? R.CANNOT_VRFY : R.NOT_IMPLEMENTED);
      case 'HELP':
        return this.send(reply(214, '2.0.0', 'See RFC 5321'));
      case 'BDAT':
        return this.send(R.NOT_IMPLEMENTED);
      case 'STARTTLS':
        return this.startTls();
      case 'AUTH':
        return this.authStart(c.mechanism, c.initial);
      case 'MAIL':
        return this.mail(c.from, c.params);
      case 'RCPT':
        return this.rcpt(c.to, c.params, c.isPostmaster);
      case 'DATA':
        return this.data();
    }
  }

  // ---- EHLO / HELO / LHLO -------------------------------------------------------------------

  private hello(verb: 'EHLO' | 'HELO' | 'LHLO', domain: string): void {
    // RFC 2033 §4.1: LMTP uses LHLO only; SMTP never accepts it.
    if ((this.mode === 'lmtp') !== (verb === 'LHLO')) return this.send(R.UNKNOWN_COMMAND);
    this.state = { kind: 'ready', helo: domain, isEsmtp: verb !== 'HELO' };
    if (verb === 'HELO') return this.send(reply(250, null, this.rt.options.hostname));
    const ext = [
      `${this.rt.options.hostname} greets ${domain}`,
      'PIPELINING', // RFC 2920
      `SIZE ${this.rt.options.maxMessageBytes}`, // RFC 1870
      '8BITMIME', // RFC 6152
      'SMTPUTF8', // RFC 6531
      'ENHANCEDSTATUSCODES', // RFC 2034
      'DSN', // RFC 3461
    ];
    if (!this.isTls && this.mode !== 'lmtp' && this.rt.tlsAvailable) ext.push('STARTTLS'); // RFC 3207
    // RFC 4954 §4 with RFC 3207 §4: AUTH only on submission and only over a secure channel.
    if (this.mode === 'submission' && this.isSecure && !this.auth) ext.push('AUTH PLAIN LOGIN');
    this.send(reply(250, null, ...ext));
  }

  // ---- STARTTLS -----------------------------------------------------------------------------

  private startTls(): void {
    if (this.mode === 'lmtp' || !this.rt.tlsAvailable) return this.send(R.NOT_IMPLEMENTED);
    if (this.isTls) return this.send(reply(503, '5.5.1', 'TLS already active'));
    if (this.state.kind === 'fresh') return this.send(reply(503, '5.5.1', 'EHLO first'));
    this.send(R.READY_TLS);
    // RFC 3207 §4.2: whatever the client pipelined after STARTTLS is discarded, never run in TLS.
    const dropped = this.reader.pendingBytes;
    this.reader.discardPending();
    if (dropped > 0) this.log.info({ event: 'smtp.starttls.discarded', bytes: dropped }, 'discarded plaintext sent after STARTTLS');
    this.socket.off('data', this.onData);
    this.upgrade(() => {
      // RFC 3207 §4.2: the client starts over with EHLO; nothing learnt before counts.
      this.state = { kind: 'fresh' };
      this.touch();
    });
  }

  private upgrade(then: () => void): void {
    const raw = this.socket;
    const secure = new TLSSocket(raw, {
      isServer: true,
      secureContext: this.rt.tls.secureContextFor(),
      SNICallback: this.rt.tls.SNICallback,
    });
    secure.once('secure', () => {
      this.isTls = true;
      this.socket = secure;
      this.reader = new SmtpReader(R_MAX_LINE);
      secure.on('data', this.onData);
      secure.on('close', () => this.closed());
      then();
    });
    secure.on('error', (e) => {
      this.log.info({ event: 'smtp.tls.error', err: e.message }, 'TLS handshake failed');
      raw.destroy();
    });
  }

  // ---- AUTH (RFC 4954) ----------------------------------------------------------------------

  private async authStart(mechanism: string, initial: string | null): Promise<void> {
    if (this.mode !== 'submission') return this.send(R.NOT_IMPLEMENTED);
    if (!this.isSecure) return this.send(R.TLS_REQUIRED);
    if (this.state.kind === 'fresh' || this.state.kind === 'greeting') return this.send(reply(503, '5.5.1', 'EHLO first'));
    if (this.auth) return this.send(reply(503, '5.5.1', 'Already authenticated')); // RFC 4954 §4
    if (this.state.kind === 'mail') return this.send(reply(503, '5.5.1', 'AUTH not allowed during a mail transaction'));
    if (mechanism === 'PLAIN') {
      if (initial === null) {
        this.sasl = { mechanism: 'PLAIN' };
        return this.send(reply(334, null, ''));
      }
      return this.authPlain(initial);
    }
    if (mechanism === 'LOGIN') {
      if (initial !== null) return this.saslLoginUser(initial);
      this.sasl = { mechanism: 'LOGIN', username: null };
      return this.send(reply(334, null, Buffer.from('Username:').toString('base64')));
    }
    return this.send(R.AUTH_MECHANISM);
  }

  private async saslResponse(line: Uint8Array): Promise<void> {
    const text = Buffer.from(line).toString('latin1').trim();
    const step = this.sasl!;
    this.sasl = null;
    // RFC 4954 §4: "*" cancels the exchange.
    if (text === '*') return this.send(R.AUTH_CANCELLED);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return this.send(reply(501, '5.5.2', 'Cannot decode response'));
    try {
      if (step.mechanism === 'PLAIN') return await this.authPlain(text);
      if (step.username === null) return this.saslLoginUser(text);
      return await this.login(step.username, Buffer.from(text, 'base64').toString('utf8'), 'LOGIN');
    } catch (e) {
      this.send(replyForError(e, this.log, 'AUTH'));
    }
  }

  private saslLoginUser(b64: string): void {
    this.sasl = { mechanism: 'LOGIN', username: Buffer.from(b64, 'base64').toString('utf8') };
    this.send(reply(334, null, Buffer.from('Password:').toString('base64')));
  }

  private async authPlain(b64: string): Promise<void> {
    // RFC 4616 §2: [authzid] NUL authcid NUL passwd.
    const parts = Buffer.from(b64 === '=' ? '' : b64, 'base64').toString('utf8').split('\0');
    if (parts.length !== 3) return this.send(reply(501, '5.5.2', 'Malformed PLAIN response'));
    const [authzid, user, pass] = parts as [string, string, string];
    if (authzid !== '' && authzid.toLowerCase() !== user.toLowerCase()) return this.send(R.AUTH_FAILED);
    return this.login(user, pass, 'PLAIN');
  }

  private async login(username: string, password: string, mechanism: string): Promise<void> {
    try {
      this.auth = await this.rt.auth.authenticate({ username, password, protocol: 'smtp', remoteAddress: this.info.clientAddress, mechanism });
      this.log.info({ event: 'smtp.auth.ok', account: this.auth.accountId }, 'authenticated');
      this.send(R.AUTH_OK);
    } catch (e) {
      if (e instanceof AuthFailed) {
        // Honour the throttle's delay before answering (core/auth decides it).
        if (e.delayMs > 0) await new Promise((r) => setTimeout(r, e.delayMs));
        return this.send(R.AUTH_FAILED);
      }
      throw e;
    }
  }

  // ---- MAIL / RCPT / DATA -------------------------------------------------------------------

  private async mail(from: Mailbox | null, params: MailParams): Promise<void> {
    const s = this.state;
    if (s.kind === 'fresh' || s.kind === 'greeting') return this.send(reply(503, '5.5.1', 'EHLO/HELO first'));
    if (s.kind !== 'ready') return this.send(reply(503, '5.5.1', 'Nested MAIL command'));
    if (this.mode === 'submission' && !this.isSecure) return this.send(R.TLS_REQUIRED);
    if (this.mode === 'submission' && !this.auth) return this.send(R.AUTH_REQUIRED);
    // RFC 1870 §6.1: a declared size over the limit is refused at MAIL.
    if (params.size !== null && params.size > this.rt.options.maxMessageBytes) return this.send(R.MESSAGE_TOO_LARGE);
    const mailFrom = from ? `${from.local}@${from.domain}` : '';
    if (this.mode === 'submission' && this.auth) {
      // RFC 6409 §4.3 / §8.1: the MSA decides who may use which envelope sender.
      if (!from || !(await maySendAs(this.rt.ctx, this.auth.accountId, mailFrom))) return this.send(R.SENDER_NOT_OWNED);
      if (!(await this.rt.sendLimiter.check(this.auth.accountId))) {
        this.log.info({ event: 'smtp.rate_limited', account: this.auth.accountId }, 'sending rate limit reached');
        return this.send(R.RATE_LIMITED);
      }
    }
    this.state = { kind: 'mail', helo: s.helo, isEsmtp: s.isEsmtp, envelope: { mailFrom, params, local: [], remote: [], count: 0 } };
    this.send(reply(250, '2.1.0', 'Sender OK'));
  }

  private async rcpt(to: Mailbox, params: RcptParams, isPostmaster: boolean): Promise<void> {
    const s = this.state;
    if (s.kind !== 'mail') return this.send(reply(503, '5.5.1', 'MAIL first'));
    const env = s.envelope;
    // RFC 5321 §4.5.3.1.10: at least 100 must be accepted; over our bound 452 asks for the rest later.
    if (env.count >= this.rt.options.maxRecipients) return this.send(R.TOO_MANY_RECIPIENTS);
    let domainText = to.domain;
    if (isPostmaster) {
      // RFC 5321 §4.5.1: "<Postmaster>" without a domain is the postmaster of this server:
      // the server's own name when it is a local domain, else the first local domain.
      const local = (await listDomains(this.rt.ctx)).map((d) => d.name);
      const own = canonicalDomain(this.rt.options.hostname);
      domainText = own && local.includes(own) ? own : (local[0] ?? this.rt.options.hostname);
    }
    const domain = domainText.startsWith('[') ? null : canonicalDomain(domainText);
    const isLocal = domain !== null && (await isLocalDomain(this.rt.ctx, domain));
    const address = `${to.local}@${domain ?? domainText}`;
    if (isLocal) {
      // Quoted local parts, "%" and "!" are only characters of a local part here: they
      // resolve to a local mailbox or to nothing, never to another host.
      const accountIds = to.isQuoted && /[@%!"\\\s]/.test(to.local) ? [] : await resolveRecipient(this.rt.ctx, address);
      if (accountIds.length === 0) {
        this.log.info({ event: 'smtp.rcpt.rejected', reason: 'unknown' }, 'unknown recipient');
        return this.send(R.NO_SUCH_USER);
      }
      env.local.push({ address: canonicalAddress(address)?.address ?? address, accountIds, params });
    } else {
      // RFC 5321 §3.6.2 / §7.1: relaying only for authenticated submission.
      if (this.mode !== 'submission' || !this.auth || domain === null) {
        this.log.info({ event: 'smtp.rcpt.rejected', reason: 'relay' }, 'relaying denied');
        return this.send(R.RELAY_DENIED);
      }
      env.remote.push({ address: `${to.local}@${domain}`, params });
    }
    env.count++;
    this.send(reply(250, '2.1.5', 'Recipient OK'));
  }

  private data(): void {
    const s = this.state;
    if (s.kind !== 'mail') return this.send(reply(503, '5.5.1', 'MAIL first'));
    // RFC 5321 §3.3: DATA without an accepted recipient.
    if (s.envelope.count === 0) return this.send(R.NO_VALID_RECIPIENTS);
    this.state = { kind: 'data', helo: s.helo, isEsmtp: s.isEsmtp, envelope: s.envelope };
    this.send(R.START_DATA);
    this.reader.startData({ maxBytes: this.rt.options.maxMessageBytes, maxHeaderBytes: this.rt.options.maxHeaderBytes });
  }

  private async endOfData(r: DataResult): Promise<void> {
    const s = this.state;
    if (s.kind !== 'data') return;
    const next: State = { kind: 'ready', helo: s.helo, isEsmtp: s.isEsmtp };
    if (r.kind === 'abort') {
      this.log.info({ event: 'smtp.data.refused', reason: r.error }, 'bare CR or LF in message data');
      this.send(r.error === 'bareLf' ? R.BARE_LF : R.BARE_CR);
      return this.end();
    }
    this.state = next;
    if (r.kind === 'error') {
      this.log.info({ event: 'smtp.data.refused', reason: r.error, size: r.size }, 'message over a size bound');
      return this.send(r.error === 'tooLarge' ? R.MESSAGE_TOO_LARGE : R.HEADER_TOO_LARGE);
    }
    let replies: Reply[];
    try {
      replies = await deliverTransaction(this.rt, this.log, {
        mode: this.mode,
        helo: s.helo,
        envelope: s.envelope,
        message: r.message,
        clientAddress: this.info.clientAddress,
        isTls: this.isTls,
        auth: this.auth,
      });
    } catch (e) {
      const rep = replyForError(e, this.log, 'DATA');
      // RFC 2033 §4.2: LMTP answers once per accepted recipient even when all fail alike.
      replies = this.mode === 'lmtp' ? s.envelope.local.map(() => rep) : [rep];
    }
    for (const rep of replies) this.send(rep);
  }
}

/** Longest line the reader keeps (MAIL/RCPT with parameters, AUTH responses). */
const R_MAX_LINE = 4096;
