/**
 * Which protocol server serves which listener. A protocol that has not landed yet has no
 * entry; its configured listeners are reported at start and not opened.
 */
import type { ListenerName } from '../config/index.js';
import type { ProtocolFactory } from './protocol.js';

/** How a listener is served. */
export interface ListenerRole {
  /** Key of the protocol server (one instance serves all its listeners). */
  protocol: 'smtp' | 'lmtp' | 'imap' | 'pop3' | 'managesieve';
  /** TLS starts at connect (RFC 8314 implicit TLS). */
  implicitTls: boolean;
}

/** The TCP listeners and their roles (http, https and admin are served by node:http). */
export const LISTENER_ROLES: Partial<Record<ListenerName, ListenerRole>> = {
  smtp: { protocol: 'smtp', implicitTls: false },
  submission: { protocol: 'smtp', implicitTls: false },
  submissions: { protocol: 'smtp', implicitTls: true },
  lmtp: { protocol: 'lmtp', implicitTls: false },
  imap: { protocol: 'imap', implicitTls: false },
  imaps: { protocol: 'imap', implicitTls: true },
  pop3: { protocol: 'pop3', implicitTls: false },
  pop3s: { protocol: 'pop3', implicitTls: true },
  managesieve: { protocol: 'managesieve', implicitTls: false },
};

/** Loads the factory of each protocol that exists in this version. */
export const PROTOCOL_FACTORIES: Partial<Record<ListenerRole['protocol'], () => Promise<ProtocolFactory>>> = {
  // Each protocol adds its line here, e.g.:
  // imap: async () => (await import('../protocols/imap/index.js')).createImapServer,
  imap: async () => (await import('../protocols/imap/index.js')).createImapServer,
  pop3: async () => (await import('../protocols/pop3/index.js')).createPop3Server,
  smtp: async () => (await import('../protocols/smtp/index.js')).createSmtpServer,
  lmtp: async () => (await import('../protocols/smtp/index.js')).createLmtpServer,
};
