/**
 * What every session of one SMTP protocol server shares: core context, authenticator,
 * certificates, the DNS resolver, limits from config, the sending limiter and the queue.
 */
import type { Authenticator } from '../../core/auth/index.js';
import type { Context, Logger } from '../../core/context.js';
import type { DnsResolver } from '../../core/delivery/index.js';
import type { TlsCertificates } from '../../security/tls.js';
import type { SendLimiter } from './limits.js';

/** Limits and switches of the SMTP server, from config (tests shorten them). */
export interface SmtpOptions {
  hostname: string;
  maxMessageBytes: number;
  maxHeaderBytes: number;
  maxRecipients: number;
  maxConnectionsPerIp: number;
  greetingDelayMs: number;
  idleTimeoutMs: number;
  sessionTimeoutMs: number;
  loopbackIsSecure: boolean;
  isAuthChecking: boolean;
}

/** Shared by the sessions of one server. */
export interface SmtpRuntime {
  ctx: Context;
  auth: Authenticator;
  tls: TlsCertificates;
  tlsAvailable: boolean;
  log: Logger;
  options: SmtpOptions;
  resolver: DnsResolver;
  sendLimiter: SendLimiter;
  /** Asks the queue runner to look at new mail now. */
  kickQueue(): void;
}
