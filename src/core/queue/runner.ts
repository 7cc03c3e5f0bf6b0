/**
 * The queue runner: claims due messages, delivers each recipient domain through the egress
 * guard (MX hosts, or the smart host), records per-recipient results, retries with exponential
 * backoff until the maximum age, and reports with RFC 3464 DSNs (a delay notice once, a
 * failure report at the end) to the sender — into the sender's mailbox when it is local.
 * A message sent with the null reverse-path never causes a DSN (RFC 5321 §4.5.5, RFC 3461 §6.2).
 *
 * Time comes from ctx.clock and timers from the injected `timers`, so tests run days of
 * backoff in milliseconds by advancing a fake clock and calling `runDue()`.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import type { DnsResolver } from '../delivery/dns.js';
import type { EgressGuard } from '../../security/egress.js';
import { sendTransaction, type ClientReply } from './client.js';
import { buildDsn, statusOf, type DsnRecipient } from './dsn.js';
import { sendDsn } from './notify.js';
import { MtaStsCache, mxMatches, resolveRoute } from './routing.js';
import { claimDue, recordAttempt, type QueuedMessage, type QueuedRecipient, type RecipientResult } from './store.js';

/** A smart host all remote mail goes through. */
export interface RelayHost {
  host: string;
  port: number;
  credentials: { username: string; password: string } | null;
}

/** Timers the runner uses (the real ones unless a test hands in others). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of the runner, from config. */
export interface QueueRunnerOptions {
  /** Our host name: EHLO, Reporting-MTA. */
  hostname: string;
  resolver: DnsResolver;
  egress: EgressGuard;
  /** Port of remote MX hosts; 25 except in tests. */
  remotePort: number;
  relay: RelayHost | null;
  retryBaseMs: number;
  retryMaxMs: number;
  maxAgeMs: number;
  delayNoticeMs: number;
  /** Bound on each SMTP reply wait and on connecting. */
  timeoutMs: number;
  /** How long a claim lasts; a node that dies releases its messages after this. */
  leaseMs: number;
  /** Messages in flight at once. */
  concurrency: number;
  pollIntervalMs: number;
  isMtaStsEnabled: boolean;
  /** Largest original message returned whole inside a DSN. */
  maxReturnBytes: number;
  /**
   * Trust anchors (PEM) for every outbound certificate check (MX hosts, the smart host,
   * MTA-STS policy hosts) in place of Node's defaults: the system roots plus smtp.tls_ca_file.
   */
  tlsCa?: readonly string[] | null;
  /** HTTPS port of MTA-STS policy hosts; 443 except in tests. */
  mtaStsPort?: number;
  timers?: Timers;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** One recipient's result; `isDsnRelayed` when the remote took NOTIFY over (RFC 3461 §5.2.2). */
type Outcome = { status: 'delivered' | 'failed' | 'deferred'; reply: ClientReply; remoteMta: string | null; isDsnRelayed?: boolean };

/** Runs the outbound queue. */
export class QueueRunner {
  private readonly nodeId = randomBytes(6).toString('hex');
  private readonly timers: Timers;
  private readonly mtaSts: MtaStsCache;
  private timer: unknown = null;
  private running: Promise<number> | null = null;
  private isStopped = true;

  constructor(
    private readonly ctx: Context,
    private readonly o: QueueRunnerOptions,
  ) {
    this.timers = o.timers ?? realTimers;
    this.mtaSts = new MtaStsCache(o.resolver, o.egress, ctx.clock, { port: o.mtaStsPort ?? 443, ca: o.tlsCa ?? null });
  }

  /** Starts polling. */
  start(): void {
    this.isStopped = false;
    this.schedule(0);
  }

  /** Runs a pass soon (after an enqueue). */
  kick(): void {
    if (!this.isStopped) this.schedule(0);
  }

  /** Stops polling and waits for the pass in progress. */
  async stop(): Promise<void> {
    this.isStopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
  }

  private schedule(ms: number): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      void this.runDue()
        .catch((e: unknown) => this.ctx.log.error({ event: 'queue.error', err: e instanceof Error ? e.message : String(e) }, 'queue pass failed'))
        .finally(() => {
          if (!this.isStopped && this.timer === null) this.schedule(this.o.pollIntervalMs);
        });
    }, ms);
  }

  /** Delivers every due message once; resolves with how many were attempted. */
  async runDue(): Promise<number> {
    if (this.running) return this.running;
    this.running = (async () => {
      let total = 0;
      for (;;) {
        const batch = await claimDue(this.ctx, this.nodeId, this.o.concurrency, this.o.leaseMs);
        if (batch.length === 0) return total;
        total += batch.length;
        await Promise.all(batch.map((m) => this.process(m)));
      }
    })().finally(() => (this.running = null));
    return this.running;
  }

  private async process(m: QueuedMessage): Promise<void> {
    const { ctx } = this;
    const raw = await ctx.blobs.get(m.blobId);
    const pending = m.recipients.filter((r) => r.status === 'pending');
    const results = new Map<string, Outcome>();
    if (!raw) {
      for (const r of pending) results.set(r.address, { status: 'failed', reply: { code: 554, text: '5.3.0 queued message data lost' }, remoteMta: null });
    } else {
      const groups = new Map<string, QueuedRecipient[]>();
      for (const r of pending) {
        const key = this.o.relay ? '' : r.domain;
        groups.set(key, [...(groups.get(key) ?? []), r]);
      }
      await Promise.all([...groups].map(async ([domain, rs]) => {
        const out = await this.deliverGroup(m, raw, domain, rs);
        rs.forEach((r, i) => results.set(r.address, out[i]!));
      }));
    }
    const now = ctx.clock.now();
    const recorded: RecipientResult[] = [...results].map(([address, o]) => ({ address, status: o.status, reply: `${o.reply.code} ${o.reply.text}`, remoteMta: o.remoteMta }));
    const stillPending = [...results].filter(([, o]) => o.status === 'deferred');
    const isExpired = now - m.createdAt >= this.o.maxAgeMs;
    const report: DsnRecipient[] = [];
    const wants = (r: QueuedRecipient, what: 'FAILURE' | 'DELAY' | 'SUCCESS') =>
      r.notify === 'NEVER' ? false : r.notify === null ? what !== 'SUCCESS' : r.notify.includes(what);
    for (const r of pending) {
      const o = results.get(r.address)!;
      const diagnostic = `smtp; ${o.reply.code} ${o.reply.text.replace(/\n/g, ' ')}`;
      if (o.status === 'failed' && wants(r, 'FAILURE')) report.push({ address: r.address, orcpt: r.orcpt, action: 'failed', status: statusOf(o.reply.code, o.reply.text), remoteMta: o.remoteMta, diagnostic });
      // RFC 3461 §5.2.2 (a), (b): a server offering DSN got NOTIFY and reports delivery itself;
      // to one that does not, the message was "relayed" and we say so.
      if (o.status === 'delivered' && wants(r, 'SUCCESS') && !o.isDsnRelayed) report.push({ address: r.address, orcpt: r.orcpt, action: 'relayed', status: statusOf(o.reply.code, o.reply.text), remoteMta: o.remoteMta, diagnostic });
      if (o.status === 'deferred' && isExpired && wants(r, 'FAILURE')) {
        // RFC 3463 4.4.7: delivery time expired.
        report.push({ address: r.address, orcpt: r.orcpt, action: 'failed', status: '4.4.7', remoteMta: o.remoteMta, diagnostic });
      }
    }
    if (stillPending.length === 0 || isExpired) {
      if (isExpired) for (const r of recorded) if (r.status === 'deferred') r.status = 'failed';
      await this.notify(m, raw, report);
      await recordAttempt(ctx, m.id, recorded, { nextAttemptAt: null });
      ctx.log.info({ event: 'queue.done', queueId: m.id, delivered: recorded.filter((r) => r.status === 'delivered').length, failed: recorded.filter((r) => r.status === 'failed').length }, 'queued message finished');
      return;
    }
    const backoff = Math.min(this.o.retryBaseMs * 2 ** m.attempts, this.o.retryMaxMs);
    let delayNotified = false;
    if (!m.isDelayNotified && now - m.createdAt >= this.o.delayNoticeMs) {
      const delayed = pending.filter((r) => results.get(r.address)?.status === 'deferred' && wants(r, 'DELAY'));
      const failedNow = report.filter((r) => r.action === 'failed');
      await this.notify(m, raw, [
        ...failedNow,
        ...delayed.map((r): DsnRecipient => {
          const o = results.get(r.address)!;
          return { address: r.address, orcpt: r.orcpt, action: 'delayed', status: statusOf(o.reply.code, o.reply.text), remoteMta: o.remoteMta, diagnostic: `smtp; ${o.reply.code} ${o.reply.text.replace(/\n/g, ' ')}` };
        }),
      ]);
      delayNotified = true;
    } else if (report.length > 0) {
      await this.notify(m, raw, report);
    }
    await recordAttempt(ctx, m.id, recorded, { nextAttemptAt: now + backoff, delayNotified });
  }

  /** Delivers one domain's recipients; outcomes in the order of `rs`. */
  private async deliverGroup(m: QueuedMessage, raw: Uint8Array, domain: string, rs: QueuedRecipient[]): Promise<Outcome[]> {
    const all = (o: Outcome) => rs.map(() => o);
    let hosts: string[];
    let port = this.o.remotePort;
    let requireTls = false;
    let credentials: RelayHost['credentials'] = null;
    if (this.o.relay) {
      hosts = [this.o.relay.host];
      port = this.o.relay.port;
      credentials = this.o.relay.credentials;
      // Credentials never cross the network in clear text.
      requireTls = credentials !== null;
    } else {
      const route = await resolveRoute(this.o.resolver, domain);
      if (route.kind === 'nullMx') return all({ status: 'failed', reply: { code: 556, text: `5.1.10 ${domain} accepts no mail (null MX)` }, remoteMta: null });
      if (route.kind === 'noHost') return all({ status: 'failed', reply: { code: 550, text: `5.1.2 no mail host for ${domain}` }, remoteMta: null });
      if (route.kind === 'tempfail') return all({ status: 'deferred', reply: { code: 451, text: `4.4.3 ${route.text}` }, remoteMta: null });
      hosts = route.hosts;
      if (this.o.isMtaStsEnabled) {
        const policy = await this.mtaSts.policy(domain);
        if (policy?.mode === 'enforce') {
          // RFC 8461 §4.1, §5: only policy-listed MX hosts, and only over authenticated TLS.
          hosts = hosts.filter((h) => policy.mx.some((p) => mxMatches(p, h)));
          requireTls = true;
          if (hosts.length === 0) return all({ status: 'deferred', reply: { code: 451, text: `4.7.5 no MX host of ${domain} matches its MTA-STS policy` }, remoteMta: null });
        }
      }
    }
    const tx = {
      mailFrom: m.mailFrom,
      recipients: rs.map((r) => ({ address: r.address, notify: r.notify === null ? null : r.notify === 'NEVER' ? 'NEVER' : r.notify.join(','), orcpt: r.orcpt })),
      envid: m.envid,
      ret: m.ret,
      data: raw,
      needsSmtpUtf8: /[^\x00-\x7f]/.test(m.mailFrom + rs.map((r) => r.address).join('')),
    };
    let last: Outcome = { status: 'deferred', reply: { code: 451, text: '4.4.1 no host reachable' }, remoteMta: null };
    for (const host of hosts.slice(0, 5)) {
      let socket;
      try {
        socket = await this.o.egress.connect(host, port, { timeoutMs: this.o.timeoutMs });
      } catch (e) {
        last = { status: 'deferred', reply: { code: 451, text: `4.4.1 cannot connect to ${host}: ${e instanceof Error ? e.message : String(e)}` }, remoteMta: host };
        continue;
      }
      const res = await sendTransaction(socket, tx, {
        hostname: this.o.hostname,
        remoteHost: host,
        requireTls,
        verifyCertificate: requireTls,
        credentials,
        ca: this.o.tlsCa ?? null,
        timeoutMs: this.o.timeoutMs,
      });
      this.ctx.log.info({ event: 'queue.attempt', queueId: m.id, host, tls: res.isTls, failure: res.failure?.code ?? null }, 'delivery attempt');
      if (res.failure) {
        const f = res.failure;
        last = { status: f.code >= 500 ? 'failed' : 'deferred', reply: f, remoteMta: host };
        // RFC 5321 §5.1: on a temporary failure try the next MX; a permanent one is final.
        if (f.code >= 500) return all(last);
        continue;
      }
      return res.recipients.map((r) => ({
        status: r.reply.code >= 200 && r.reply.code < 300 ? 'delivered' : r.reply.code >= 500 ? 'failed' : 'deferred',
        reply: r.reply,
        remoteMta: host,
        isDsnRelayed: res.isDsnOffered,
      }));
    }
    return all(last);
  }

  /** Sends a DSN about `m` to its sender, unless the sender is null or nothing is to report. */
  private async notify(m: QueuedMessage, raw: Uint8Array | undefined, recipients: DsnRecipient[]): Promise<void> {
    if (recipients.length === 0 || m.mailFrom === '' || m.isDsn) return;
    const { ctx } = this;
    const dsn = buildDsn({
      hostname: this.o.hostname,
      to: m.mailFrom,
      envid: m.envid,
      arrivalDate: m.createdAt,
      now: ctx.clock.now(),
      recipients,
      original: raw ?? new Uint8Array(0),
      ret: m.ret,
      maxReturnBytes: this.o.maxReturnBytes,
    });
    const where = await sendDsn(ctx, dsn, m.mailFrom);
    ctx.log.info({ event: 'queue.dsn', queueId: m.id, local: where === 'local', recipients: recipients.length }, 'delivery status notification sent');
  }
}
