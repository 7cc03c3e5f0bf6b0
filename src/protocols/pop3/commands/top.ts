/** TOP (RFC 1939 §7): the header and the first n body lines. */
import type { Handler } from '../session.js';
import { sendMessage } from './retr.js';

/** RFC 1939 §7 TOP msg n. */
export const top: Handler<'TOP', 'transaction'> = async (s, state, cmd) => {
  await sendMessage(s, state.login.accountId, state.maildrop, cmd.msg, cmd.lines);
};
