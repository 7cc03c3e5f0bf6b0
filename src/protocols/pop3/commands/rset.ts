/** RSET (RFC 1939 §5): unmarks every message marked by DELE. */
import type { Handler } from '../session.js';
import { ok } from '../wire/responses.js';

/** RFC 1939 §5 RSET. */
export const rset: Handler<'RSET', 'transaction'> = async (s, state) => {
  state.maildrop.deleted.clear();
  const drop = state.maildrop;
  const octets = drop.messages.reduce((n, m) => n + m.size, 0);
  await s.reply(ok(`maildrop has ${drop.messages.length} messages (${octets} octets)`));
};
