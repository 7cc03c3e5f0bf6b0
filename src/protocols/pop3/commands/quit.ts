/** QUIT (RFC 1939 §4, §6): ends the session; in TRANSACTION it enters UPDATE. */
import { expunge } from '../../../core/mail/messages.js';
import type { Handler } from '../session.js';
import { err, ok, RESP_CODE } from '../wire/responses.js';

/** RFC 1939 §6 QUIT: deletions are applied here and only here. */
export const quit: Handler<'QUIT', 'authorization' | 'transaction'> = async (s, state) => {
  if (state.kind === 'authorization') {
    s.state = { kind: 'closed' };
    return s.reply(ok('bye'));
  }
  const drop = state.maildrop;
  const uids = [...drop.deleted].map((n) => drop.messages[n - 1]!.uid);
  const left = drop.messages.length - uids.length;
  try {
    // UPDATE state (RFC 1939 §6). Messages another session removed already are simply absent.
    if (uids.length > 0) await expunge(s.services.deps.ctx, state.login.accountId, drop.mailboxId, uids);
  } catch (e) {
    s.log.error({ event: 'pop3.update.error', accountId: state.login.accountId, err: e instanceof Error ? e.message : String(e) }, 'deletions not applied');
    s.state = { kind: 'closed' };
    // RFC 1939 §6: "-ERR some deleted messages not removed".
    return s.reply(err('some deleted messages not removed', RESP_CODE.sysTemp));
  }
  s.state = { kind: 'closed' };
  await s.reply(ok(`bye (${left} messages left)`));
};
