/** `bulwark user send-as ADDRESS [--grant ADDR] [--revoke ADDR]`: send-as delegation (core/accounts/senders). */
import { grantSendAs, listSendAs, revokeSendAs } from '../../core/accounts/senders.js';
import { cliActor, positionals, UsageError, withContext, type Command } from '../support.js';

const userSendAs: Command = {
  path: ['user', 'send-as'],
  summary: 'Show, grant (--grant) or revoke (--revoke) addresses an account may send as.',
  args: 'ADDRESS',
  options: { grant: { type: 'string', multiple: true }, revoke: { type: 'string', multiple: true } },
  help: 'Grants name local addresses of other accounts (a shared mailbox, say). Members of a group may\nalways send as the group; an account always as its own addresses and aliases.',
  async run(a, io) {
    const [address] = positionals(this, a, ['ADDRESS']);
    const grant = (a.values.grant as string[] | undefined) ?? [];
    const revoke = (a.values.revoke as string[] | undefined) ?? [];
    if (grant.some((g) => revoke.includes(g))) throw new UsageError('an address cannot be granted and revoked at once');
    const list = await withContext(a.dataDir, io.env, async (c) => {
      let out = await listSendAs(c.ctx, address!);
      for (const g of grant) out = await grantSendAs(c.ctx, address!, g, cliActor(io.env));
      for (const r of revoke) out = await revokeSendAs(c.ctx, address!, r, cliActor(io.env));
      return out;
    });
    if (a.json) io.stdout(JSON.stringify(list) + '\n');
    else io.stdout(list.map((x) => x + '\n').join(''));
    return 0;
  },
};

/** The send-as commands. */
export const sendAsCommands: Command[] = [userSendAs];
