/** LIST (RFC 1939 §5): scan listings "msg octets". */
import type { Handler } from '../session.js';
import { ok } from '../wire/responses.js';
import { messageAt } from './message.js';

/** RFC 1939 §5 LIST [msg]. */
export const list: Handler<'LIST', 'transaction'> = async (s, state, cmd) => {
  const drop = state.maildrop;
  if (cmd.msg !== undefined) {
    const found = messageAt(drop, cmd.msg);
    if (!found.ok) return s.reply(found.reply);
    return s.reply(ok(`${cmd.msg} ${found.message.size}`));
  }
  const lines: string[] = [];
  drop.messages.forEach((m, i) => {
    if (!drop.deleted.has(i + 1)) lines.push(`${i + 1} ${m.size}`);
  });
  await s.replyLines(`${lines.length} messages`, lines);
};
