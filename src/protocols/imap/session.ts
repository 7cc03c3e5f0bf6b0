/**
 * One IMAP connection: state, the command table, the one catch site, and keeping the
 * selected mailbox's view in sync with changes made elsewhere (RFC 9051 §5.2, §7.5.1).
 *
 * Invariants:
 * - Commands run one at a time in arrival order; pipelined units wait in a bounded queue and
 *   the socket is paused while it is full (backpressure instead of unbounded memory).
 * - Untagged EXPUNGE/VANISHED is sent only after a command that allows it (RFC 9051 §7.5.1:
 *   never after FETCH, STORE, SEARCH or while their UID forms may be in flight), and before the
 *   tagged reply, so sequence numbers always agree with what the client was told.
 * - Nothing is written to the client while a store transaction is open: handlers await core,
 *   which has committed, then write.
 */
import type { Duplex } from 'node:stream';
import { constants as zlibConstants, createDeflateRaw, createInflateRaw, type DeflateRaw } from 'node:zlib';
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { AuthSuccess } from '../../core/auth/index.js';
import type { Context, Logger } from '../../core/context.js';
import { mailboxChangesSince, mailboxSnapshot, type MailboxDelta } from '../../core/mail/snapshot.js';
import type { ProtocolDeps, ConnectionInfo } from '../../server/protocol.js';
import { CODE, toNo } from './errors.js';
import { MailboxView, type SnapshotCache } from './view.js';
import { parseCommand, type Command, type CommandName, type CommandOf } from './wire/command.js';
import { CommandReader, DEFAULT_READER_LIMITS, type CommandUnit } from './wire/reader.js';
import { astr, atom, formatValues, statusLine, encodeModifiedUtf7, decodeModifiedUtf7, type WireValue } from './wire/responses.js';
import { COMMANDS } from './commands/index.js';

/** The account a session acts for. */
export type Account = AuthSuccess;

/** Session state (RFC 9051 §3), each variant carrying its data. */
export type SessionState =
  | { kind: 'notAuthenticated' }
  | { kind: 'authenticated'; account: Account }
  | { kind: 'selected'; account: Account; view: MailboxView }
  | { kind: 'logout' };

/** A handler's reply: the tagged status line. */
export interface Reply {
  status: 'OK' | 'NO' | 'BAD';
  code?: string | null;
  text: string;
}

/** What the server shares with its sessions. */
export interface SessionShared {
  deps: ProtocolDeps;
  cache: SnapshotCache;
  /** Largest APPEND (RFC 7889 APPENDLIMIT). */
  appendLimit: number;
  idleTimeoutMs: number;
  loopbackIsSecure: boolean;
}

/** A unit from the reader, or a bound it reported, waiting for its turn. */
type QueueItem = { kind: 'unit'; unit: CommandUnit } | { kind: 'refused'; tag: string | null; code: string; text: string };

/** Most commands waiting behind the running one before the socket is paused. */
const MAX_QUEUED = 64;

/** One IMAP connection. */
export class ImapSession {
  state: SessionState = { kind: 'notAuthenticated' };
  readonly ctx: Context;
  readonly log: Logger;
  /** RFC 9051 (ENABLE IMAP4rev2) semantics. */
  rev2 = false;
  /** RFC 6855 UTF8=ACCEPT enabled. */
  utf8Accept = false;
  /** RFC 7162 CONDSTORE enabled (by ENABLE or a CONDSTORE-aware command). */
  condstore = false;
  /** RFC 7162 QRESYNC enabled. */
  qresync = false;
  isTls: boolean;
  private stream: Duplex;
  private readonly reader: CommandReader;
  private readonly queue: QueueItem[] = [];
  private running = false;
  private closed = false;
  /** A pending continuation (AUTHENTICATE response, IDLE's DONE) consumes the next line. */
  private lineHandler: ((line: Buffer) => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Set when the bus says the selected mailbox changed; IDLE waits on it. */
  private changed = false;
  private wake: (() => void) | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private paused = false;
  /** RFC 4978 COMPRESS=DEFLATE: when active, output goes through this deflater. */
  private deflate: DeflateRaw | null = null;
  /** The stream whose output is being gathered for one write (see emit), if any. */
  private corkedStream: Duplex | null = null;

  constructor(
    socket: Socket,
    readonly info: ConnectionInfo,
    readonly shared: SessionShared,
  ) {
    this.ctx = shared.deps.ctx;
    this.log = shared.deps.log.child({ connectionId: info.connectionId, protocol: 'imap' });
    this.reader = new CommandReader({ ...DEFAULT_READER_LIMITS, maxAppendLiteralBytes: shared.appendLimit });
    this.isTls = info.implicitTls;
    this.stream = socket;
    if (info.implicitTls) {
      this.stream = this.wrapTls(socket);
    }
    this.attach(this.stream);
    socket.on('error', (e) => this.log.debug({ event: 'imap.socket.error', err: e.message }, 'socket error'));
    socket.on('close', () => this.cleanup());
    this.armIdleTimer();
    this.writeRaw(Buffer.from(`* OK [CAPABILITY ${this.capabilities().join(' ')}] Bulwark IMAP ready\r\n`));
  }

  /** Whether plaintext authentication is allowed: TLS, or loopback when configured. */
  get isSecure(): boolean {
    if (this.isTls) return true;
    const a = this.info.clientAddress;
    return this.shared.loopbackIsSecure && (a === '127.0.0.1' || a === '::1' || a === '::ffff:127.0.0.1' || a.startsWith('127.'));
  }

  /** Whether strings may carry raw UTF-8 (RFC 9051, or UTF8=ACCEPT). */
  get utf8(): boolean {
    return this.rev2 || this.utf8Accept;
  }

  /** The CAPABILITY list for the current state (RFC 9051 §7.2.2). */
  capabilities(): string[] {
    const caps = ['IMAP4rev1', 'IMAP4rev2', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE'];
    if (this.state.kind === 'notAuthenticated') {
      if (!this.isTls) caps.push('STARTTLS');
      if (!this.isSecure) caps.push('LOGINDISABLED');
      else caps.push('AUTH=PLAIN');
      return caps;
    }
    caps.push(
      'NAMESPACE', 'UNSELECT', 'CHILDREN', 'LIST-EXTENDED', 'LIST-STATUS', 'SPECIAL-USE', 'CREATE-SPECIAL-USE', 'STATUS=SIZE',
      'ESEARCH', 'SEARCHRES', 'CONDSTORE', 'QRESYNC', 'QUOTA', 'QUOTA=RES-STORAGE', 'SORT', 'THREAD=REFERENCES', 'THREAD=ORDEREDSUBJECT',
      'OBJECTID', `APPENDLIMIT=${this.shared.appendLimit}`, 'UTF8=ACCEPT', 'BINARY', 'UIDPLUS', 'MOVE',
    );
    if (!this.deflate) caps.push('COMPRESS=DEFLATE');
    return caps;
  }

  // ---- output ---------------------------------------------------------------------------

  /** Writes bytes; resolves when the socket can take more (backpressure for big FETCHes). */
  async write(buf: Buffer): Promise<void> {
    if (this.closed) return;
    if (!this.emit(buf)) {
      const sink: Duplex = this.deflate ?? this.stream;
      await new Promise<void>((r) => {
        const done = () => {
          sink.off('drain', done);
          this.stream.off('close', done);
          r();
        };
        sink.on('drain', done);
        this.stream.on('close', done);
      });
    }
  }

  /** Sends what emit gathered. */
  private flushCork(): void {
    const st = this.corkedStream;
    this.corkedStream = null;
    st?.uncork();
  }

  private writeRaw(buf: Buffer): void {
    if (!this.closed) this.emit(buf);
  }

  /** Writes to the socket, through the deflater when COMPRESS is active (flushed per write). */
  private emit(buf: Buffer): boolean {
    if (!this.deflate) {
      // Writes made in one turn of the event loop (a FETCH's responses, the untagged data
      // and the tagged reply of a quick command) leave in one segment: the socket is corked
      // on the first and uncorked once the turn's callbacks are done. The uncork is queued
      // unconditionally, so a write that waits for 'drain' cannot wait on the cork.
      if (!this.corkedStream) {
        this.corkedStream = this.stream;
        this.stream.cork();
        process.nextTick(() => this.flushCork());
      }
      return this.stream.write(buf);
    }
    const ok = this.deflate.write(buf);
    this.deflate.flush(zlibConstants.Z_SYNC_FLUSH);
    return ok;
  }

  /** Whether COMPRESS=DEFLATE is active. */
  get isCompressed(): boolean {
    return this.deflate !== null;
  }

  /**
   * RFC 4978 §3: after the tagged OK both directions are raw DEFLATE streams. Input is inflated
   * with a bound on the output of each chunk so that a small compressed "bomb" cannot grow
   * without limit before the reader's own bounds apply.
   */
  startCompress(): void {
    this.flushCork();
    const inflate = createInflateRaw({ chunkSize: 16 * 1024 });
    const deflate = createDeflateRaw({ level: 6 });
    this.stream.removeAllListeners('data');
    this.stream.on('data', (d: Buffer) => {
      if (!inflate.write(d)) this.stream.pause();
    });
    inflate.on('drain', () => this.stream.resume());
    inflate.on('data', (d: Buffer) => this.onData(d));
    inflate.on('error', () => this.close());
    deflate.on('data', (d: Buffer) => this.stream.write(d));
    deflate.on('error', () => this.close());
    this.deflate = deflate;
  }

  /** Sends "* " + values. */
  async untagged(values: readonly WireValue[]): Promise<void> {
    await this.write(Buffer.concat([Buffer.from('* '), formatValues(values, { utf8: this.utf8 }), Buffer.from('\r\n')]));
  }

  /** Sends "* " + a line of plain ASCII text. */
  async untaggedText(line: string): Promise<void> {
    await this.write(Buffer.from(`* ${line}\r\n`, 'utf8'));
  }

  /** A mailbox name as this client should see it: UTF-8, or modified UTF-7 (RFC 3501 §5.1.3). */
  mailboxOut(name: string): WireValue {
    return astr(this.utf8 ? name : encodeModifiedUtf7(name));
  }

  /** A mailbox name as the client sent it, decoded; null when invalid. */
  mailboxIn(raw: string): string | null {
    if (this.utf8) return raw;
    // RFC 3501 §5.1.3: rev1 clients send modified UTF-7 (8-bit is refused by the parser).
    return decodeModifiedUtf7(raw);
  }

  // ---- input ----------------------------------------------------------------------------

  private attach(stream: Duplex): void {
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (e: Error) => this.log.debug({ event: 'imap.stream.error', err: e.message }, 'stream error'));
    stream.on('end', () => this.cleanup());
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.armIdleTimer();
    for (const ev of this.reader.push(chunk)) {
      if (ev.kind === 'continue') {
        // RFC 9051 §7.5: continuation request for a synchronizing literal.
        this.writeRaw(Buffer.from('+ Ready for literal data\r\n'));
      } else if (ev.kind === 'error') {
        if (ev.fatal) {
          this.writeRaw(Buffer.from(`* BYE [${ev.code === 'PARSE' ? 'CLIENTBUG' : ev.code}] ${ev.text}\r\n`));
          this.close();
          return;
        }
        this.queue.push({ kind: 'refused', tag: ev.tag, code: ev.code, text: ev.text });
      } else if (this.lineHandler && this.queue.length === 0) {
        const h = this.lineHandler;
        this.lineHandler = null;
        h(ev.unit.parts[0]!);
      } else this.queue.push({ kind: 'unit', unit: ev.unit });
    }
    if (this.queue.length >= MAX_QUEUED && !this.paused) {
      this.paused = true;
      this.stream.pause();
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const item = this.queue.shift()!;
        if (this.lineHandler && item.kind === 'unit') {
          const h = this.lineHandler;
          this.lineHandler = null;
          h(item.unit.parts[0]!);
          continue;
        }
        try {
          if (item.kind === 'refused') {
            // RFC 5530 codes for a broken bound; a syntax problem is a plain BAD.
            await this.write(statusLine(item.tag ?? '*', 'BAD', item.code === 'PARSE' ? null : item.code, item.text));
          } else await this.run(item.unit);
        } catch (e) {
          // run() is the catch site for handlers; this only catches failures of the catch
          // site itself (a write to a dead socket), which end the session.
          this.log.error({ event: 'imap.session.error', err: e }, 'session failed');
          this.close();
        }
        if (this.paused && this.queue.length < MAX_QUEUED / 2) {
          this.paused = false;
          this.stream.resume();
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** Reads the next line from the client (for SASL and IDLE), outside the command queue. */
  nextLine(): Promise<Buffer> {
    this.reader.rawLines = true;
    return new Promise((resolve) => {
      const take = (line: Buffer) => {
        this.reader.rawLines = false;
        resolve(line);
      };
      const queued = this.queue[0];
      if (queued && queued.kind === 'unit') {
        this.queue.shift();
        take(queued.unit.parts[0]!);
      } else if (queued) {
        // A refused unit in place of the expected line: treat it as a wrong line.
        this.queue.shift();
        take(Buffer.from('*'));
      } else this.lineHandler = take;
    });
  }

  /** Runs one command unit: parse, check the table, run the handler, reply. The one catch site. */
  private async run(unit: CommandUnit): Promise<void> {
    const parsed = parseCommand(unit, this.utf8);
    if (!parsed.ok) {
      const code = parsed.code === 'PARSE' ? null : parsed.code === 'BADCHARSET' ? CODE.BADCHARSET : parsed.code;
      // RFC 9051 §7.1.5: BAD for a syntax error; untagged when there is no tag.
      await this.write(statusLine(parsed.tag ?? '*', 'BAD', code, `syntax error: ${parsed.text}`));
      return;
    }
    const cmd = parsed.command;
    const entry = COMMANDS[cmd.name];
    if (!entry.states.includes(this.state.kind as never)) {
      await this.write(statusLine(cmd.tag, 'BAD', null, `${cmd.name} is not allowed in this state`));
      return;
    }
    const started = this.ctx.clock.now();
    let reply: Reply;
    try {
      reply = await entry.run(this, cmd as never);
    } catch (e) {
      const no = toNo(e);
      if (no.errorId) this.log.error({ event: 'imap.command.error', errorId: no.errorId, command: cmd.name, err: e }, 'command failed');
      reply = { status: 'NO', code: no.code, text: no.text };
    }
    // Sync when the bus reported a change (own writes publish before their command returns),
    // when expunges wait, and always on NOOP/CHECK (RFC 9051 §6.1.2: the polling command), which
    // also covers a bus on another node that delivers late.
    const wantSync = this.state.kind === 'selected' && (this.changed || this.state.view.pendingExpunge.size > 0 || cmd.name === 'NOOP' || cmd.name === 'CHECK');
    if (this.state.kind === 'selected' && wantSync && !entry.noSync && reply.status !== 'BAD') {
      try {
        await this.sync(!entry.holdsExpunges);
      } catch (e) {
        this.log.warn({ event: 'imap.sync.error', err: e }, 'sync after command failed');
      }
    }
    if (this.closed && cmd.name !== 'LOGOUT') return;
    await this.write(statusLine(cmd.tag, reply.status, reply.code ?? null, reply.text));
    this.log.debug({ event: 'imap.command', command: cmd.name, status: reply.status, ms: this.ctx.clock.now() - started }, 'command');
    // Only a successful command switches layers (STARTTLS, COMPRESS) or ends the session.
    if (entry.after && reply.status === 'OK') await entry.after(this, cmd as never);
  }

  // ---- selected mailbox -----------------------------------------------------------------

  /** Selects a mailbox: loads (or shares) its snapshot and listens for its changes. */
  async select(account: Account, mailboxId: string, name: string, isReadOnly: boolean): Promise<MailboxView> {
    this.deselect();
    const snap = await mailboxSnapshot(this.ctx, account.accountId, mailboxId);
    const uids = this.shared.cache.intern(mailboxId, snap.highestModseq, snap.uids);
    const view = new MailboxView(mailboxId, name, isReadOnly, snap.uidValidity, uids, snap.highestModseq, snap.uidNext);
    this.state = { kind: 'selected', account, view };
    this.changed = false;
    this.unsubscribe = this.ctx.bus.subscribe(account.accountId, (ev, resync) => {
      if (resync || !ev || !ev.mailboxIds || ev.mailboxIds.includes(mailboxId)) {
        this.changed = true;
        this.wake?.();
      }
    });
    return view;
  }

  /** Leaves the selected state (CLOSE, UNSELECT, a failed SELECT). */
  deselect(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.state.kind === 'selected') this.state = { kind: 'authenticated', account: this.state.account };
  }

  /**
   * Brings the view up to date and tells the client (RFC 9051 §7.5.1): new messages as
   * EXISTS, flag changes as FETCH, expunges as EXPUNGE or VANISHED when `allowExpunge`.
   */
  async sync(allowExpunge: boolean): Promise<void> {
    if (this.state.kind !== 'selected') return;
    const { account, view } = this.state;
    // Shared with other sessions (core caches it): read, never mutate.
    const changes = await mailboxChangesSince(this.ctx, account.accountId, view.mailboxId, view.modseq);
    const delta = changes.truncated ? await this.reloadDelta(account, view) : changes;
    for (const u of delta.expunged) if (view.seqOf(u) > 0) view.pendingExpunge.add(u);
    if (allowExpunge && view.pendingExpunge.size > 0) await this.flushExpunges(view);
    const fresh = delta.created.filter((u) => u > (view.uids[view.uids.length - 1] ?? 0) && !view.pendingExpunge.has(u));
    if (fresh.length > 0) {
      const next = new Uint32Array(view.uids.length + fresh.length);
      next.set(view.uids);
      next.set(fresh, view.uids.length);
      view.uids = this.shared.cache.intern(view.mailboxId, delta.highestModseq, next);
      await this.untaggedText(`${view.exists} EXISTS`);
    }
    for (const u of delta.updated) {
      const seq = view.seqOf(u.uid);
      if (seq === 0 || view.pendingExpunge.has(u.uid)) continue;
      if (view.selfReported.get(u.uid) === u.modseq) continue;
      const items: WireValue[] = [atom('UID'), atom(u.uid), atom('FLAGS'), u.flags.map((f) => atom(f))];
      if (this.condstore) items.push(atom('MODSEQ'), [atom(u.modseq)]);
      await this.untagged([atom(seq), atom('FETCH'), items]);
    }
    view.selfReported.clear();
    view.uidNext = Math.max(view.uidNext, delta.uidNext);
    // Expunges not yet announced stay in pendingExpunge, so the view may move past them.
    view.modseq = Math.max(view.modseq, delta.highestModseq);
    this.changed = false;
  }

  /** The change since the view's modseq worked out from a fresh snapshot (the log was too long). */
  private async reloadDelta(account: Account, view: MailboxView): Promise<MailboxDelta> {
    const snap = await mailboxSnapshot(this.ctx, account.accountId, view.mailboxId);
    const now = new Set(snap.uids);
    return {
      highestModseq: snap.highestModseq,
      uidNext: snap.uidNext,
      created: [...snap.uids].filter((u) => view.seqOf(u) === 0),
      expunged: [...view.uids].filter((u) => !now.has(u)),
      updated: [],
      truncated: false,
    };
  }

  /** Announces pending expunges: VANISHED under QRESYNC (RFC 7162 §3.2.10), else EXPUNGE by descending sequence. */
  async flushExpunges(view: MailboxView): Promise<void> {
    const gone = [...view.pendingExpunge].sort((a, b) => a - b);
    view.pendingExpunge.clear();
    const goneSet = new Set(gone);
    const keep = [...view.uids].filter((u) => !goneSet.has(u));
    if (this.qresync) {
      await this.untaggedText(`VANISHED ${compressUids(gone)}`);
    } else {
      const seqs = gone.map((u) => view.seqOf(u)).filter((s) => s > 0).sort((a, b) => b - a);
      for (const s of seqs) await this.untaggedText(`${s} EXPUNGE`);
    }
    view.uids = Uint32Array.from(keep);
  }

  /** Waits until the bus reports a change to the selected mailbox, or `ms` pass, or wake(). */
  waitForChange(ms: number, external: Promise<unknown>): Promise<void> {
    if (this.changed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
      void external.then(done);
    });
  }

  // ---- TLS and lifecycle ----------------------------------------------------------------

  private wrapTls(socket: Socket): TLSSocket {
    const tls = this.shared.deps.tls;
    const t = new TLSSocket(socket, { isServer: true, secureContext: tls.secureContextFor(), SNICallback: tls.SNICallback });
    t.on('error', (e) => {
      this.log.debug({ event: 'imap.tls.error', err: e.message }, 'TLS error');
      this.close();
    });
    return t;
  }

  /** RFC 9051 §6.2.1: after the OK, TLS starts; bytes the client pipelined after STARTTLS are discarded. */
  startTls(): void {
    // The tagged OK leaves in plaintext before the socket is handed to TLS.
    this.flushCork();
    const plain = this.stream as Socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('end');
    this.reader.reset();
    this.queue.length = 0;
    this.stream = this.wrapTls(plain);
    this.isTls = true;
    this.attach(this.stream);
  }

  private armIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    // RFC 9051 §5.4: an autologout timer of at least 30 minutes.
    this.idleTimer = setTimeout(() => {
      this.writeRaw(Buffer.from('* BYE Autologout; idle for too long\r\n'));
      this.close();
    }, this.shared.idleTimeoutMs);
    this.idleTimer.unref();
  }

  /** Ends the connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.deflate) {
      const d = this.deflate;
      d.end(() => this.stream.end());
    } else this.stream.end();
    const s = this.stream;
    setTimeout(() => s.destroy(), 1000).unref();
    this.cleanup();
  }

  /** Whether the connection has ended. */
  get isClosed(): boolean {
    return this.closed;
  }

  private cleanup(): void {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.wake?.();
    this.lineHandler?.(Buffer.from('*'));
    this.lineHandler = null;
  }

  /** Graceful shutdown: the running command finishes, then BYE. */
  async shutdown(): Promise<void> {
    for (let i = 0; i < 100 && this.running; i++) await new Promise((r) => setTimeout(r, 50));
    this.writeRaw(Buffer.from('* BYE [UNAVAILABLE] Server shutting down\r\n'));
    this.close();
  }

  /** The account, in authenticated and selected states. */
  account(): Account {
    if (this.state.kind !== 'authenticated' && this.state.kind !== 'selected') throw new Error('not authenticated');
    return this.state.account;
  }
}

/** UIDs as a compact sequence set ("1:3,7"). */
export function compressUids(uids: readonly number[]): string {
  const sorted = [...uids].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** A table entry: allowed states, handler, and sync behaviour. */
export interface CommandEntry<C extends Command = Command> {
  states: ReadonlyArray<SessionState['kind']>;
  run(s: ImapSession, cmd: C): Promise<Reply>;
  /** Runs after a tagged OK was written (STARTTLS, COMPRESS, LOGOUT). */
  after?(s: ImapSession, cmd: C): Promise<void>;
  /** RFC 9051 §7.5.1: expunges may not be announced after this command (FETCH, STORE, SEARCH). */
  holdsExpunges?: boolean;
  /** Do not sync the view after it (the handler did, or the state changed). */
  noSync?: boolean;
}

/** The command table type: one entry per verb. */
export type CommandTable = { [N in CommandName]: CommandEntry<CommandOf<N>> };
