/**
 * The contract between the server wiring and a TCP protocol (SMTP, LMTP, IMAP, POP3,
 * ManageSieve). serve.ts accepts sockets (after the PROXY step) and hands each to the
 * protocol's server with what it knows about the connection; the protocol owns the bytes
 * from then on. A protocol imports core, never another protocol or a store adapter.
 */
import type { Socket } from 'node:net';
import type { Config, ListenerName } from '../config/index.js';
import type { Authenticator } from '../core/auth/index.js';
import type { Context, Logger } from '../core/context.js';
import type { TlsCertificates } from '../security/tls.js';

/** What every protocol server is built from. */
export interface ProtocolDeps {
  ctx: Context;
  auth: Authenticator;
  tls: TlsCertificates;
  config: Config;
  log: Logger;
}

/** Facts about one accepted connection. */
export interface ConnectionInfo {
  /** The listener that accepted it (e.g. "imaps"), which decides implicit TLS and the port's role. */
  listener: ListenerName;
  /** True on implicit-TLS listeners (imaps, pop3s, submissions): TLS starts before any byte. */
  implicitTls: boolean;
  /** The client's address: from the PROXY header when one was accepted, else the peer's. */
  clientAddress: string;
  clientPort: number;
  /** A short id for logs, unique within the process. */
  connectionId: string;
}

/** A running protocol server. */
export interface ProtocolServer {
  /** Takes over an accepted socket. */
  handle(socket: Socket, info: ConnectionInfo): void;
  /**
   * Stops gracefully: no new sessions; sessions finish the command in progress (a message
   * being stored is committed and acknowledged), then get the protocol's goodbye and close.
   */
  close(): Promise<void>;
}

/** Builds a protocol server. */
export type ProtocolFactory = (deps: ProtocolDeps) => ProtocolServer;
