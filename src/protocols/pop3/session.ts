/**
 * One POP3 connection: its state, the command table, and the one catch site.
 *
 * Invariants:
 * - Commands run strictly one after another in arrival order (RFC 2449 §6.6 PIPELINING);
 *   the reader is paused while too many lines wait, so a flood costs bounded memory.
 * - The table says which states a verb is allowed in; the session checks it once and hands
 *   the handler its state already narrowed. Handlers never re-check state.
 * - Deletions are applied only by QUIT in the TRANSACTION state (RFC 1939 §6). A dropped
 *   connection, an idle timeout (RFC 1939 §3) or a server shutdown applies nothing.
 * - After STLS, every byte the client sent before the TLS handshake is discarded
 *   (RFC 2595 §4; the STARTTLS command-injection class of bugs).
 */
import { isIPv4, isIPv6, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { AuthSuccess } from '../../core/auth/index.js';
import type { ConnectionInfo, ProtocolDeps } from '../../server/protocol.js';
import type { Logger } from '../../core/context.js';
import { MAILDROP_LEASE_MS, releaseMaildropLock, renewMaildropLock } from '../../core/mail/maildrop-lock.js';
import { replyForError } from './errors.js';
import { LineReader, MAX_COMMAND_LINE_BYTES, type ReaderEvent } from './wire/reader.js';
import { parseCommand, type Command, type Verb } from './wire/command.js';
import { err, formatLines, formatReply, RESP_CODE, type Reply } from './wire/responses.js';
import { capa } from './commands/capa.js';
import { user } from './commands/user.js';
import { pass } from './commands/pass.js';
import { auth } from './commands/auth.js';
import { stls } from './commands/stls.js';
import { stat } from './commands/stat.js';
import { list } from './commands/list.js';
import { uidl } from './commands/uidl.js';
import { retr } from './commands/retr.js';
import { top } from './commands/top.js';
import { dele } from './commands/dele.js';
import { rset } from './commands/rset.js';
import { noop } from './commands/noop.js';
import { quit } from './commands/quit.js';

/** One message of the session's maildrop (numbered from 1 by its index + 1). */
export interface SessionMessage {
  uid: number;
  emailId: string;
  /** Octets as RETR sends them before byte-stuffing (RFC 1939 §11). */
  size: number;
}

/** The session's view of its maildrop, fixed at login (RFC 1939 §4). */
export interface SessionMaildrop {
  mailboxId: string;
  messages: SessionMessage[];
  /** Message numbers marked by DELE (RFC 1939 §5). */
  deleted: Set<number>;
}

/** Connection state (RFC 1939 §3); the transaction variant carries the login and maildrop. */
export type SessionState =
  | { kind: 'authorization'; userName: string | null }
  | { kind: 'transaction'; login: AuthSuccess; maildrop: SessionMaildrop }
  | { kind: 'closed' };

/** A state in which commands are read. */
export type OpenStateKind = Exclude<SessionState['kind'], 'closed'>;

/** The command of one verb. */
export type CommandOf<V extends Verb> = Command & { verb: V };

/** A handler: typed command in, replies out, through the session. */
export type Handler<V extends Verb, K extends OpenStateKind> = (s: Session, state: Extract<SessionState, { kind: K }>, cmd: CommandOf<V>) => Promise<void>;

interface CommandEntry<V extends Verb, K extends OpenStateKind> {
  states: readonly K[];
  run: Handler<V, K>;
}

function entry<V extends Verb, K extends OpenStateKind>(states: readonly K[], run: Handler<V, K>): CommandEntry<V, K> {
  return { states, run };
}

const AUTHZ = ['authorization'] as const;
const TRANS = ['transaction'] as const;
const BOTH = ['authorization', 'transaction'] as const;

/** The command table: which states each verb runs in (RFC 1939 §4-6, RFC 2449 §5, RFC 5034 §4, RFC 2595 §4). */
const COMMANDS: { [V in Verb]: CommandEntry<V, OpenStateKind> } = {
  CAPA: entry(BOTH, capa),
  USER: entry(AUTHZ, user),
  PASS: entry(AUTHZ, pass),
  AUTH: entry(AUTHZ, auth),
  STLS: entry(AUTHZ, stls),
  STAT: entry(TRANS, stat),
  LIST: entry(TRANS, list),
  UIDL: entry(TRANS, uidl),
  RETR: entry(TRANS, retr),
  TOP: entry(TRANS, top),
  DELE: entry(TRANS, dele),
  RSET: entry(TRANS, rset),
  NOOP: entry(TRANS, noop),
  QUIT: entry(BOTH, quit),
} as { [V in Verb]: CommandEntry<V, OpenStateKind> };

/** Tunables of a session, with their defaults in index.ts. */
export interface SessionOptions {
  /** RFC 1939 §3: at least 10 minutes in production; tests pass less. */
  idleTimeoutMs: number;
  /** Bound on a TLS handshake. */
  tlsHandshakeTimeoutMs: number;
  /** Consecutive rejected commands before the connection is closed. */
  maxBadCommands: number;
  /** Failed logins per connection before it is closed. */
  maxAuthFailures: number;
  /** Waits (for AuthFailed.delayMs); injectable so tests need not wait. */
  sleep(ms: number): Promise<void>;
}

/** What the server shares with its sessions. */
export interface SessionServices {
  deps: ProtocolDeps;
  options: SessionOptions;
  /** Wire sizes by blob id (blobs are immutable, so entries never go stale). */
  wireSizes: Map<string, number>;
}


/** Lines waiting before the socket is paused (a pipelined flood is read no faster than served). */
const QUEUE_HIGH_WATER = 64;
/** Longest SASL continuation line (RFC 5034 §4 lifts the 255-octet limit there; PLAIN fits easily). */
const MAX_SASL_LINE_BYTES = 2048;

/** Implementation name for CAPA (RFC 2449 §6.9). */
export const IMPLEMENTATION = 'Bulwark';

/** One POP3 connection. */
export class Session {
  state: SessionState = { kind: 'authorization', userName: null };
  /** The session's logger: connection id, then the account once logged in. */
  log: Logger;
  private stream: Socket;
  private readonly reader = new LineReader(MAX_COMMAND_LINE_BYTES);
  private queue: ReaderEvent[] = [];
  private waiter: ((ev: ReaderEvent | null) => void) | null = null;
  private ended = false;
  private paused = false;
  private badCommands = 0;
  private authFailures = 0;
  private shuttingDown = false;
  /** The maildrop lock this session holds (RFC 1939 §4), renewed while it lives, released when it ends. */
  private lock: { accountId: string; holder: string; renewal: NodeJS.Timeout } | null = null;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onEnd = () => this.markEnded();
  /** Whether TLS is active (implicit or after STLS). */
  isTls: boolean;
  /** Resolves when the session has ended and released everything. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    stream: Socket,
    readonly info: ConnectionInfo,
    readonly services: SessionServices,
  ) {
    this.stream = stream;
    this.isTls = stream instanceof TLSSocket;
    this.log = services.deps.log.child({ protocol: 'pop3', connectionId: info.connectionId });
    this.done = new Promise((r) => (this.resolveDone = r));
    this.attach(stream);
  }

  /** Runs the session to its end. */
  async run(): Promise<void> {
    try {
      // RFC 1939 §4: the greeting. No timestamp: APOP is not offered.
      await this.reply({ ok: true, text: `${this.services.deps.config.server.hostname} POP3 server ready` });
      for (;;) {
        const ev = this.shuttingDown ? null : await this.nextLine();
        if (this.shuttingDown) {
          // Deletions are not applied: only QUIT enters UPDATE (RFC 1939 §6).
          await this.reply(err('server shutting down', RESP_CODE.sysTemp));
          break;
        }
        if (!ev) break;
        await this.handle(ev);
        if (this.state.kind === 'closed') break;
      }
    } catch (e) {
      // Only I/O failures get here (handlers' errors are caught in handle()): the peer is gone.
      this.log.debug({ event: 'pop3.connection.error', err: e instanceof Error ? e.message : String(e) }, 'connection ended with an error');
    } finally {
      this.finish();
    }
  }

  /** Asks the session to end after the command in progress (graceful shutdown). */
  shutdown(): void {
    this.shuttingDown = true;
    if (this.waiter) {
      // Idle: wake the loop so it says goodbye now.
      const w = this.waiter;
      this.waiter = null;
      this.stopIdleTimer();
      w(null);
    }
  }

  /** Whether USER/PASS and AUTH PLAIN may be used now (RFC 2595 §2.1, RFC 8314 §5). */
  get isPlaintextAuthAllowed(): boolean {
    if (this.isTls) return true;
    return this.services.deps.config.auth.loopbackIsSecure && isLoopback(this.info.clientAddress);
  }

  /** Writes a status line. */
  async reply(r: Reply): Promise<void> {
    await this.write(formatReply(r));
  }

  /** Writes "+OK text" and a multi-line body of our own lines. */
  async replyLines(text: string, lines: readonly string[]): Promise<void> {
    await this.write(Buffer.concat([formatReply({ ok: true, text }), formatLines(lines)]));
  }

  /** Writes bytes, waiting while the socket's buffer is full; a peer that stops reading times out. */
  async write(bytes: Uint8Array): Promise<void> {
    const stream = this.stream;
    if (stream.destroyed || stream.writableEnded) throw new Error('connection closed');
    if (stream.write(bytes)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        stream.destroy();
        reject(new Error('write timed out'));
      }, this.services.options.idleTimeoutMs);
      const onDrain = () => (cleanup(), resolve());
      const onClose = () => (cleanup(), reject(new Error('connection closed')));
      const cleanup = () => {
        clearTimeout(timer);
        stream.off('drain', onDrain);
        stream.off('close', onClose);
      };
      stream.on('drain', onDrain);
      stream.on('close', onClose);
    });
  }

  /**
   * The next line for a SASL exchange (RFC 5034 §4), with the longer limit that applies there.
   * Lines already split before the challenge keep the command limit: a client must wait for
   * "+ " before it answers, so it cannot have pipelined a long response.
   */
  async nextSaslLine(): Promise<ReaderEvent | null> {
    this.reader.maxLineBytes = MAX_SASL_LINE_BYTES;
    try {
      return await this.nextLine();
    } finally {
      this.reader.maxLineBytes = MAX_COMMAND_LINE_BYTES;
    }
  }

  /** Drops the connection at once, without a reply (e.g. a multi-line response broke off). */
  abort(): void {
    this.state = { kind: 'closed' };
    this.stream.destroy();
  }

  /** Counts a failed login; after too many, the session ends once the failure is answered. */
  noteAuthFailure(): void {
    if (++this.authFailures >= this.services.options.maxAuthFailures) this.state = { kind: 'closed' };
  }

  /**
   * RFC 2595 §4: after "+OK" to STLS, drop everything the client pipelined and negotiate TLS
   * on the same connection. Resolves once TLS is up; throws (ending the session) if it fails.
   */
  async startTls(): Promise<void> {
    this.queue = [];
    this.reader.reset();
    const raw = this.stream;
    raw.off('data', this.onData);
    raw.off('end', this.onEnd);
    raw.off('close', this.onEnd);
    const certs = this.services.deps.tls;
    const secure = new TLSSocket(raw, { isServer: true, secureContext: certs.secureContextFor(), SNICallback: certs.SNICallback });
    try {
      await waitForHandshake(secure, this.services.options.tlsHandshakeTimeoutMs);
    } catch (e) {
      this.log.info({ event: 'pop3.tls.failed', err: e instanceof Error ? e.message : String(e) }, 'STLS handshake failed');
      raw.destroy();
      this.state = { kind: 'closed' };
      return;
    }
    this.stream = secure;
    this.isTls = true;
    this.attach(secure);
  }

  private attach(stream: Socket): void {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', (e: Error) => {
      this.log.debug({ event: 'pop3.socket.error', err: e.message }, 'socket error');
      this.markEnded();
    });
  }

  private receive(chunk: Buffer): void {
    for (const ev of this.reader.push(chunk)) {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        this.stopIdleTimer();
        w(ev);
      } else {
        this.queue.push(ev);
      }
    }
    if (this.queue.length >= QUEUE_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.stream.pause();
    }
  }

  private markEnded(): void {
    this.ended = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      this.stopIdleTimer();
      w(null);
    }
  }

  private idleTimer: NodeJS.Timeout | null = null;

  private stopIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** The next reader event, or null when the connection ended or idled out. */
  private nextLine(): Promise<ReaderEvent | null> {
    const ev = this.queue.shift();
    if (ev) {
      if (this.paused && this.queue.length < QUEUE_HIGH_WATER / 2) {
        this.paused = false;
        this.stream.resume();
      }
      return Promise.resolve(ev);
    }
    if (this.ended) return Promise.resolve(null);
    if (this.paused) {
      this.paused = false;
      this.stream.resume();
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
      // RFC 1939 §3: on the autologout timer, close without a response and without UPDATE.
      this.idleTimer = setTimeout(() => {
        this.log.info({ event: 'pop3.idle.timeout' }, 'idle timeout');
        this.waiter = null;
        this.idleTimer = null;
        this.ended = true;
        this.stream.destroy();
        resolve(null);
      }, this.services.options.idleTimeoutMs);
    });
  }

  /** Runs one reader event: the one catch site for every command. */
  private async handle(ev: ReaderEvent): Promise<void> {
    if (this.shuttingDown) return;
    if (ev.kind === 'too-long') return this.reject('line too long');
    if (ev.kind === 'nul') return this.reject('NUL octets are not allowed');
    const parsed = parseCommand(ev.line);
    if (!parsed.ok) return this.reject(parsed.verb ? `${parsed.verb}: ${parsed.error}` : parsed.error);
    const cmd = parsed.command;
    const state = this.state;
    const spec = COMMANDS[cmd.verb] as CommandEntry<Verb, OpenStateKind>;
    // RFC 1939 §3: a command in the wrong state gets a negative answer.
    if (state.kind === 'closed' || !spec.states.includes(state.kind)) return this.reject(`${cmd.verb} is not valid in this state`);
    this.badCommands = 0;
    const started = performance.now();
    try {
      await spec.run(this, state as never, cmd as never);
      this.log.debug({ event: 'pop3.command', verb: cmd.verb, ms: Math.round(performance.now() - started) }, 'command');
    } catch (e) {
      if (this.stream.destroyed) {
        // The peer is gone (or a multi-line response broke off): nobody to answer.
        this.log.debug({ event: 'pop3.command.aborted', verb: cmd.verb, err: e instanceof Error ? e.message : String(e) }, 'connection lost during command');
        this.state = { kind: 'closed' };
        return;
      }
      const outcome = replyForError(e);
      this.log[outcome.level]({ event: 'pop3.command.error', verb: cmd.verb, incidentId: outcome.incidentId, err: e instanceof Error ? e.message : String(e) }, 'command failed');
      if (outcome.delayMs > 0) await this.services.options.sleep(outcome.delayMs);
      if (this.stream.destroyed) return;
      await this.reply(outcome.reply);
    }
  }

  private async reject(text: string): Promise<void> {
    if (++this.badCommands > this.services.options.maxBadCommands) {
      await this.reply(err('too many bad commands'));
      this.state = { kind: 'closed' };
      return;
    }
    await this.reply(err(text));
  }

  /** Keeps a maildrop lock just taken: renews its lease, and ends the session if it is lost. */
  holdLock(accountId: string, holder: string): void {
    const { ctx } = this.services.deps;
    const renewal = setInterval(() => {
      renewMaildropLock(ctx, accountId, holder).then(
        (held) => {
          if (held || this.lock?.holder !== holder) return;
          // Another session took the maildrop (this node stalled past the lease): stop before
          // two sessions delete by message number.
          this.log.warn({ event: 'pop3.lock.lost', accountId }, 'maildrop lock lost; closing the session');
          this.lock = null;
          clearInterval(renewal);
          this.finish();
        },
        (e: unknown) => this.log.warn({ event: 'pop3.lock.renew.error', err: e }, 'maildrop lock renewal failed'),
      );
    }, MAILDROP_LEASE_MS / 4);
    renewal.unref();
    this.lock = { accountId, holder, renewal };
  }

  /** Gives up the maildrop lock, if held. */
  releaseLock(): void {
    const lock = this.lock;
    if (!lock) return;
    this.lock = null;
    clearInterval(lock.renewal);
    releaseMaildropLock(this.services.deps.ctx, lock.accountId, lock.holder).catch((e: unknown) =>
      this.log.warn({ event: 'pop3.lock.release.error', err: e }, 'maildrop lock release failed (its lease will run out)'),
    );
  }

  private finish(): void {
    this.stopIdleTimer();
    this.releaseLock();
    this.state = { kind: 'closed' };
    if (!this.stream.destroyed) this.stream.end();
    // end() leaves a half-open socket if the peer never closes; bound it.
    setTimeout(() => this.stream.destroy(), 5_000).unref();
    this.resolveDone();
  }
}

/** Whether an address is loopback (127/8, ::1, or IPv4-mapped 127/8). */
export function isLoopback(address: string): boolean {
  const a = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (isIPv4(a)) return a.startsWith('127.');
  return isIPv6(a) && (a === '::1' || a === '0:0:0:0:0:0:0:1');
}

/** Resolves when a server-side TLSSocket finished its handshake. */
export function waitForHandshake(secure: TLSSocket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error('TLS handshake timed out')), timeoutMs);
    const done = (e?: Error) => {
      clearTimeout(timer);
      secure.off('secure', onSecure);
      secure.off('error', onError);
      secure.off('close', onClose);
      if (e) {
        secure.destroy();
        reject(e);
      } else resolve();
    };
    const onSecure = () => done();
    const onError = (e: Error) => done(e);
    const onClose = () => done(new Error('connection closed during TLS handshake'));
    secure.on('secure', onSecure);
    secure.on('error', onError);
    secure.on('close', onClose);
  });
}
