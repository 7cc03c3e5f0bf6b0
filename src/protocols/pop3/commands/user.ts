/** USER (RFC 1939 §7): names the maildrop; PASS follows. */
import type { Handler } from '../session.js';
import { err, ok, RESP_CODE } from '../wire/responses.js';

/** RFC 1939 §7 USER. Never says whether the name exists (RFC 1939 §13). */
export const user: Handler<'USER', 'authorization'> = async (s, state, cmd) => {
  if (!s.isPlaintextAuthAllowed) {
    state.userName = null;
    // RFC 2595 §2.1 (as Dovecot): no cleartext login before TLS.
    return s.reply(err('plaintext authentication disallowed without TLS; use STLS', RESP_CODE.auth));
  }
  state.userName = cmd.name;
  await s.reply(ok('send PASS'));
};
