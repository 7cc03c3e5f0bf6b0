/** DELE (RFC 1939 §5): marks a message; QUIT removes it. */
import type { Handler } from '../session.js';
import { ok } from '../wire/responses.js';
import { messageAt } from './message.js';

/** RFC 1939 §5 DELE msg. */
export const dele: Handler<'DELE', 'transaction'> = async (s, state, cmd) => {
  const found = messageAt(state.maildrop, cmd.msg);
  if (!found.ok) return s.reply(found.reply);
  state.maildrop.deleted.add(cmd.msg);
  await s.reply(ok(`message ${cmd.msg} deleted`));
};
