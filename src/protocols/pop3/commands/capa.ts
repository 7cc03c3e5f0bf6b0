/** CAPA (RFC 2449 §5): what this server offers, in the current state and connection. */
import { IMPLEMENTATION, type Handler } from '../session.js';

/** RFC 2449 §5; SASL per RFC 5034 §3; STLS per RFC 2595 §4. */
export const capa: Handler<'CAPA', 'authorization' | 'transaction'> = async (s, state) => {
  const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
  // RFC 2449 §6.7: messages are kept until the user deletes them.
  lines.push('EXPIRE NEVER');
  if (state.kind === 'authorization') {
    // Plaintext credentials are offered only where they may be sent (RFC 2595 §2.1): on TLS,
    // or on loopback when auth.loopbackIsSecure says so (as Dovecot's login_trusted_networks).
    if (s.isPlaintextAuthAllowed) lines.push('USER', 'SASL PLAIN');
    // RFC 2595 §4: STLS only in AUTHORIZATION state and only before TLS.
    if (!s.isTls) lines.push('STLS');
  }
  lines.push(`IMPLEMENTATION ${IMPLEMENTATION}`);
  await s.replyLines('Capability list follows', lines);
};
