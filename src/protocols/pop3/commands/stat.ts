/** STAT (RFC 1939 §5): count and octets of the messages not marked deleted. */
import type { Handler } from '../session.js';
import { ok } from '../wire/responses.js';

/** RFC 1939 §5 STAT: "+OK nn mm". */
export const stat: Handler<'STAT', 'transaction'> = async (s, state) => {
  const drop = state.maildrop;
  let count = 0;
  let octets = 0;
  drop.messages.forEach((m, i) => {
    if (drop.deleted.has(i + 1)) return;
    count++;
    octets += m.size;
  });
  await s.reply(ok(`${count} ${octets}`));
};
