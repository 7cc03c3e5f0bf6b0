/** PASS (RFC 1939 §7): the password for the name given by USER. */
import type { Handler } from '../session.js';
import { err, RESP_CODE } from '../wire/responses.js';
import { login } from './login.js';

/** RFC 1939 §7 PASS; only right after USER. */
export const pass: Handler<'PASS', 'authorization'> = async (s, state, cmd) => {
  const userName = state.userName;
  state.userName = null;
  if (!s.isPlaintextAuthAllowed) return s.reply(err('plaintext authentication disallowed without TLS; use STLS', RESP_CODE.auth));
  if (userName === null) return s.reply(err('USER first'));
  await login(s, userName, cmd.password, 'login');
};
