/**
 * SMTP: the MX listener (RFC 5321 with PIPELINING RFC 2920, SIZE RFC 1870, 8BITMIME RFC 6152,
 * SMTPUTF8 RFC 6531, ENHANCEDSTATUSCODES RFC 2034, STARTTLS RFC 3207, DSN RFC 3461),
 * submission (RFC 6409, AUTH RFC 4954, implicit TLS RFC 8314) and LMTP (RFC 2033) as a mode of
 * the same server. The server owns the wire (wire/: reader, command parser, replies) so that
 * bare-LF refusal, early-talker refusal and post-STARTTLS discard are rules of this code.
 *
 * Invariants: see session.ts. This folder imports core and security, never another protocol.
 * The smtp server also runs the outbound queue (core/queue) and stops it on close().
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import { systemResolver, egressResolverOf, type DnsResolver, type DeliveryStages } from '../../core/delivery/index.js';
import { QueueRunner, type QueueRunnerOptions, type Timers } from '../../core/queue/index.js';
import { EgressGuard } from '../../security/egress.js';
import type { ConnectionInfo, ProtocolDeps, ProtocolFactory, ProtocolServer } from '../../server/protocol.js';
import { SendLimiter } from './limits.js';
import type { SmtpOptions, SmtpRuntime } from './runtime.js';
import { SmtpSession, type SessionMode } from './session.js';
import { formatReply, TOO_MANY_CONNECTIONS } from './wire/replies.js';

export type { SmtpOptions } from './runtime.js';
export { parseCommand, parseMailbox, type Command, type Mailbox } from './wire/command.js';
export { SmtpReader, DataState } from './wire/reader.js';

/** What a test (or a future embedding) may hand in instead of the config's defaults. */
export interface SmtpOverrides {
  resolver?: DnsResolver;
  options?: Partial<SmtpOptions>;
  queue?: Partial<QueueRunnerOptions>;
  timers?: Timers;
  /** Run the queue runner (default: true for smtp, false for lmtp). */
  isQueueRunning?: boolean;
  stages?: DeliveryStages;
}

/** A running SMTP server and, for tests, its queue runner. */
export interface SmtpServer extends ProtocolServer {
  queue: QueueRunner;
}

function relayCredentials(path: string): { username: string; password: string } | null {
  if (!existsSync(path)) return null;
  const line = readFileSync(path, 'utf8').split(/\r?\n/)[0] ?? '';
  const colon = line.indexOf(':');
  return colon > 0 ? { username: line.slice(0, colon), password: line.slice(colon + 1) } : null;
}

/**
 * Trust anchors for outbound TLS: Node's roots plus the PEM certificates of `path` (an internal
 * CA for a smart host on the LAN, a test CA); null (the defaults) when the file does not exist.
 */
function outboundCa(path: string): string[] | null {
  if (!existsSync(path)) return null;
  return [...rootCertificates, readFileSync(path, 'utf8')];
}

/** Builds an SMTP (or LMTP) protocol server. */
export function createSmtpProtocolServer(deps: ProtocolDeps, kind: 'smtp' | 'lmtp', o: SmtpOverrides = {}): SmtpServer {
  const { config, ctx } = deps;
  const c = config.smtp;
  const resolver = o.resolver ?? systemResolver(c.dnsServers);
  const options: SmtpOptions = {
    hostname: config.server.hostname,
    maxMessageBytes: ctx.settings.maxMessageBytes,
    maxHeaderBytes: c.maxHeaderBytes,
    maxRecipients: c.maxRecipients,
    maxConnectionsPerIp: c.maxConnectionsPerIp,
    greetingDelayMs: c.greetingDelayMs,
    idleTimeoutMs: c.idleTimeoutSeconds * 1000,
    sessionTimeoutMs: c.sessionTimeoutSeconds * 1000,
    loopbackIsSecure: config.auth.loopbackIsSecure,
    isAuthChecking: c.checkAuthentication,
    ...o.options,
  };
  const egress = new EgressGuard({ allow: config.egress.allow, resolver: egressResolverOf(resolver) });
  const relayHost = c.relay[0];
  const queue = new QueueRunner(ctx, {
    hostname: config.server.hostname,
    resolver,
    egress,
    remotePort: c.queueRemotePort,
    relay: relayHost ? { host: relayHost, port: c.relayPort, credentials: relayCredentials(c.relayAuthFile) } : null,
    retryBaseMs: c.queueRetryBaseSeconds * 1000,
    retryMaxMs: c.queueRetryMaxSeconds * 1000,
    maxAgeMs: c.queueMaxAgeHours * 3_600_000,
    delayNoticeMs: c.queueDelayNoticeHours * 3_600_000,
    timeoutMs: 60_000,
    leaseMs: 15 * 60_000,
    concurrency: 8,
    pollIntervalMs: 30_000,
    isMtaStsEnabled: c.mtaSts,
    maxReturnBytes: 256 * 1024,
    tlsCa: outboundCa(c.tlsCaFile),
    ...(o.timers ? { timers: o.timers } : {}),
    ...o.queue,
  });
  let tlsAvailable = true;
  try {
    deps.tls.secureContextFor();
  } catch (e) {
    tlsAvailable = false;
    deps.log.warn({ event: 'smtp.tls.unavailable', err: e instanceof Error ? e.message : String(e) }, 'no certificate: STARTTLS not offered');
  }
  const rt: SmtpRuntime = {
    ctx,
    auth: deps.auth,
    tls: deps.tls,
    tlsAvailable,
    log: deps.log,
    options,
    resolver,
    sendLimiter: new SendLimiter(ctx, c.maxMessagesPerHour),
    kickQueue: () => queue.kick(),
  };
  const sessions = new Set<SmtpSession>();
  const perIp = new Map<string, number>();
  let isClosed = false;
  if (o.isQueueRunning ?? kind === 'smtp') queue.start();

  return {
    queue,
    handle(socket: Socket, info: ConnectionInfo): void {
      if (isClosed) {
        socket.destroy();
        return;
      }
      const n = perIp.get(info.clientAddress) ?? 0;
      if (n >= options.maxConnectionsPerIp) {
        // RFC 5321 §3.8: 421 and close.
        socket.end(formatReply(TOO_MANY_CONNECTIONS));
        return;
      }
      perIp.set(info.clientAddress, n + 1);
      const mode: SessionMode = kind === 'lmtp' ? 'lmtp' : info.listener === 'smtp' ? 'mx' : 'submission';
      const session = new SmtpSession(rt, socket, info, mode);
      sessions.add(session);
      void session.done.then(() => {
        sessions.delete(session);
        const left = (perIp.get(info.clientAddress) ?? 1) - 1;
        if (left <= 0) perIp.delete(info.clientAddress);
        else perIp.set(info.clientAddress, left);
      });
      session.start();
    },
    async close(): Promise<void> {
      isClosed = true;
      for (const s of sessions) s.shutdown();
      await Promise.race([Promise.all([...sessions].map((s) => s.done)), new Promise((r) => setTimeout(r, 10_000).unref())]);
      await queue.stop();
    },
  };
}

/** The SMTP protocol factory (listeners smtp, submission, submissions). */
export const createSmtpServer: ProtocolFactory = (deps) => createSmtpProtocolServer(deps, 'smtp');

/** The LMTP protocol factory (listener lmtp). */
export const createLmtpServer: ProtocolFactory = (deps) => createSmtpProtocolServer(deps, 'lmtp');
