/**
 * POP3: the download protocol (RFC 1939), with CAPA and response codes (RFC 2449), SASL AUTH
 * (RFC 5034, PLAIN per RFC 4616), STLS (RFC 2595) and implicit TLS on pop3s (RFC 8314).
 *
 * Owns: the pop3 and pop3s listeners' bytes. Account data is reached only through core:
 * authentication (core/auth), the maildrop snapshot and message bytes (core/mail/maildrop),
 * and deletion (core expunge at QUIT).
 *
 * Invariants:
 * - The maildrop is the account's INBOX (role "inbox"), numbered 1..n in UID order at login
 *   and fixed for the session; UIDL gives the email id, stable across sessions.
 * - Credentials are accepted only over TLS, or from loopback when auth.loopbackIsSecure is
 *   true (CAPA advertises USER and SASL only then).
 * - One POP3 session per maildrop at a time, on any node (a lease in the store); a second
 *   gets -ERR [IN-USE] (RFC 2449 §8.1.2).
 * - Only QUIT applies deletions (RFC 1939 §6).
 *
 * Layout: wire/ is pure syntax (reader, command parser, responses, SASL); session.ts holds
 * state, the command table and the catch site; commands/ one handler per verb; errors.ts
 * maps core errors to -ERR codes.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { ConnectionInfo, ProtocolDeps, ProtocolFactory, ProtocolServer } from '../../server/protocol.js';
import { Session, waitForHandshake, type SessionOptions } from './session.js';

/** Defaults of the session tunables; the idle timeout comes from the config ([pop3]). */
export const DEFAULT_POP3_OPTIONS: Omit<SessionOptions, 'idleTimeoutMs'> = {
  tlsHandshakeTimeoutMs: 30_000,
  maxBadCommands: 20,
  maxAuthFailures: 3,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** How long close() lets sessions finish before dropping them. */
const CLOSE_GRACE_MS = 10_000;

/** Builds the POP3 server; `overrides` lets tests shorten timers. */
export function createPop3Server(deps: ProtocolDeps, overrides: Partial<SessionOptions> = {}): ProtocolServer {
  // RFC 1939 §3: an autologout timer MUST be at least 10 minutes (the config's minimum).
  const options: SessionOptions = { ...DEFAULT_POP3_OPTIONS, idleTimeoutMs: deps.config.pop3.idleTimeoutSeconds * 1000, ...overrides };
  const services = { deps, options, wireSizes: new Map<string, number>() };
  const sessions = new Set<Session>();
  const pending = new Set<Socket>();
  let closing = false;

  const start = (stream: Socket, info: ConnectionInfo) => {
    const session = new Session(stream, info, services);
    sessions.add(session);
    void session.run().finally(() => sessions.delete(session));
  };

  return {
    handle(socket, info) {
      if (closing) {
        socket.destroy();
        return;
      }
      socket.on('error', (e) => deps.log.debug({ event: 'pop3.socket.error', connectionId: info.connectionId, err: e.message }, 'socket error'));
      if (!info.implicitTls) return start(socket, info);
      // RFC 8314 §3.3: on pop3s, TLS starts before any POP3 byte.
      const secure = new TLSSocket(socket, { isServer: true, secureContext: deps.tls.secureContextFor(), SNICallback: deps.tls.SNICallback });
      pending.add(socket);
      waitForHandshake(secure, options.tlsHandshakeTimeoutMs).then(
        () => {
          pending.delete(socket);
          if (closing) secure.destroy();
          else start(secure, info);
        },
        (e: unknown) => {
          pending.delete(socket);
          deps.log.info({ event: 'pop3.tls.failed', connectionId: info.connectionId, err: e instanceof Error ? e.message : String(e) }, 'TLS handshake failed');
        },
      );
    },
    async close() {
      closing = true;
      for (const s of pending) s.destroy();
      for (const s of sessions) s.shutdown();
      const all = Promise.all([...sessions].map((s) => s.done));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      for (const s of sessions) s.abort();
    },
  };
}

createPop3Server satisfies ProtocolFactory;
