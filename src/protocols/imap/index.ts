/**
 * IMAP: RFC 9051 (IMAP4rev2) and RFC 3501 (IMAP4rev1) with IDLE, UIDPLUS, MOVE, SPECIAL-USE,
 * NAMESPACE, ID, ENABLE, LITERAL+, SASL-IR, UNSELECT, CHILDREN, LIST-EXTENDED, LIST-STATUS,
 * STATUS=SIZE, ESEARCH, SEARCHRES, CONDSTORE, QRESYNC, QUOTA, SORT, THREAD, OBJECTID,
 * APPENDLIMIT, UTF8=ACCEPT and BINARY.
 *
 * Layout: wire/ turns bytes into typed commands and typed responses into bytes (no I/O, no
 * core); session.ts holds a connection's state and the one catch site; commands/ hold the
 * behaviour, calling core. Invariants: authentication only through the Authenticator, no
 * plaintext login on an insecure connection, every input bounded by the reader and parser.
 */
import type { Socket } from 'node:net';
import type { ProtocolFactory, ProtocolServer } from '../../server/protocol.js';
import { ImapSession } from './session.js';
import { SnapshotCache } from './view.js';

/** Builds the IMAP server that serves the imap and imaps listeners. */
export const createImapServer: ProtocolFactory = (deps) => {
  const sessions = new Set<ImapSession>();
  const cache = new SnapshotCache();
  let closing = false;
  const server: ProtocolServer = {
    handle(socket: Socket, info) {
      if (closing) {
        socket.end('* BYE [UNAVAILABLE] Server shutting down\r\n');
        return;
      }
      socket.setNoDelay(true);
      let session: ImapSession;
      try {
        session = new ImapSession(socket, info, {
          deps,
          cache,
          appendLimit: deps.config.limits.maxMessageBytes,
          // RFC 9051 §5.4: at least 30 minutes (the config's minimum).
          idleTimeoutMs: deps.config.imap.idleTimeoutSeconds * 1000,
          loopbackIsSecure: deps.config.auth.loopbackIsSecure,
        });
      } catch (e) {
        // A session that cannot start (a TLS context failing, say) costs this connection only.
        deps.log.error({ event: 'imap.session.start.error', connectionId: info.connectionId, err: e }, 'could not start IMAP session');
        socket.destroy();
        return;
      }
      sessions.add(session);
      socket.on('close', () => sessions.delete(session));
    },
    async close() {
      closing = true;
      await Promise.all([...sessions].map((s) => s.shutdown()));
    },
  };
  return server;
};
