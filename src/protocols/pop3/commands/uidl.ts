/** UIDL (RFC 1939 §7): unique-id listings "msg unique-id", stable across sessions. */
import type { Handler } from '../session.js';
import { ok } from '../wire/responses.js';
import { messageAt, uniqueId } from './message.js';

/** RFC 1939 §7 UIDL [msg]. */
export const uidl: Handler<'UIDL', 'transaction'> = async (s, state, cmd) => {
  const drop = state.maildrop;
  if (cmd.msg !== undefined) {
    const found = messageAt(drop, cmd.msg);
    if (!found.ok) return s.reply(found.reply);
    return s.reply(ok(`${cmd.msg} ${uniqueId(found.message)}`));
  }
  const lines: string[] = [];
  drop.messages.forEach((m, i) => {
    if (!drop.deleted.has(i + 1)) lines.push(`${i + 1} ${uniqueId(m)}`);
  });
  await s.replyLines('unique-id listing follows', lines);
};
