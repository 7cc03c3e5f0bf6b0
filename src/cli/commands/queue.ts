/** `bulwark queue list|show|retry|delete`: the outbound queue (core/queue). */
import * as queue from '../../core/queue/index.js';
import { positionals, printTable, withContext, type Command } from '../support.js';

const queueList: Command = {
  path: ['queue', 'list'],
  summary: 'List queued outbound messages.',
  async run(a, io) {
    positionals(this, a, []);
    const ms = await withContext(a.dataDir, io.env, (c) => queue.listQueue(c.ctx));
    printTable(
      io,
      a.json,
      ms.map((m) => ({
        id: m.id,
        from: m.mailFrom || '<>',
        pending: m.recipients.filter((r) => r.status === 'pending').map((r) => r.address).join(','),
        attempts: m.attempts,
        size: m.size,
        next: new Date(m.nextAttemptAt).toISOString(),
        created: new Date(m.createdAt).toISOString(),
      })),
      ['id', 'from', 'pending', 'attempts', 'size', 'next', 'created'],
    );
    return 0;
  },
};

const queueShow: Command = {
  path: ['queue', 'show'],
  summary: 'Show one queued message with the status of each recipient.',
  args: 'ID',
  async run(a, io) {
    const [id] = positionals(this, a, ['ID']);
    const m = await withContext(a.dataDir, io.env, (c) => queue.getQueued(c.ctx, id!));
    if (a.json) {
      io.stdout(JSON.stringify(m) + '\n');
      return 0;
    }
    io.stdout(
      [
        `id:        ${m.id}`,
        `from:      ${m.mailFrom || '<>'}`,
        `size:      ${m.size}`,
        `created:   ${new Date(m.createdAt).toISOString()}`,
        `attempts:  ${m.attempts}`,
        `next:      ${new Date(m.nextAttemptAt).toISOString()}`,
        'recipients:',
        ...m.recipients.map((r) => `  ${r.address}  ${r.status}${r.lastReply ? `  (${r.remoteMta ?? '-'}: ${r.lastReply})` : ''}`),
      ].join('\n') + '\n',
    );
    return 0;
  },
};

const queueRetry: Command = {
  path: ['queue', 'retry'],
  summary: 'Make a queued message due now (the running server picks it up on its next pass).',
  args: 'ID',
  async run(a, io) {
    const [id] = positionals(this, a, ['ID']);
    await withContext(a.dataDir, io.env, (c) => queue.retryQueued(c.ctx, id!));
    if (!a.json) io.stdout(`${id} is due now\n`);
    return 0;
  },
};

const queueDelete: Command = {
  path: ['queue', 'delete'],
  summary: 'Delete a queued message without notifying its sender.',
  args: 'ID',
  async run(a, io) {
    const [id] = positionals(this, a, ['ID']);
    await withContext(a.dataDir, io.env, (c) => queue.deleteQueued(c.ctx, id!));
    if (!a.json) io.stdout(`deleted ${id}\n`);
    return 0;
  },
};

/** The queue commands. */
export const queueCommands: Command[] = [queueList, queueShow, queueRetry, queueDelete];
