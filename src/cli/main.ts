/**
 * The `bulwark` command: one entry point for running and administering the server.
 * Every command takes --data DIR (default $BULWARK_DATA or ./data), --help, and --json where a
 * script would want it. Errors are one line on stderr; exit codes: 0 ok, 1 failed,
 * 2 invalid configuration, 64 usage error.
 */
import { ConfigError } from '../config/index.js';
import { CoreError } from '../core/errors.js';
import { DataFolderBusy } from '../store/index.js';
import { adminCommands } from './commands/admin.js';
import { queueCommands } from './commands/queue.js';
import { sendAsCommands } from './commands/sendas.js';
import { setupCommands } from './commands/setup.js';
import { parse, processIo, usage, UsageError, type Command, type Io } from './support.js';

const COMMANDS: Command[] = [...setupCommands, ...adminCommands, ...queueCommands, ...sendAsCommands];

function overview(): string {
  const lines = COMMANDS.map((c) => `  ${(c.path.join(' ') + (c.args ? ' ' + c.args : '')).padEnd(34)} ${c.summary}`);
  return `usage: bulwark COMMAND [options]\n\ncommands:\n${lines.join('\n')}\n\nEvery command takes --data DIR, --help and --json.\n`;
}

/** Runs the CLI with the given arguments; resolves with the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout(overview());
    return argv.length === 0 ? 64 : 0;
  }
  if (argv[0] === '--version') argv = ['version'];
  // The longest command path that matches the words given.
  const cmd = COMMANDS.filter((c) => c.path.every((w, i) => argv[i] === w)).sort((x, y) => y.path.length - x.path.length)[0];
  if (!cmd) {
    const group = COMMANDS.filter((c) => c.path[0] === argv[0]);
    if (group.length > 0) {
      io.stderr(`bulwark: ${argv[0]} needs one of: ${group.map((c) => c.path.slice(1).join(' ')).join(', ')}\n`);
    } else {
      io.stderr(`bulwark: unknown command ${JSON.stringify(argv[0])} (see bulwark --help)\n`);
    }
    return 64;
  }
  try {
    const args = parse(cmd, argv.slice(cmd.path.length), io.env);
    if (args.values.help) {
      io.stdout(usage(cmd));
      return 0;
    }
    return await cmd.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`bulwark: ${e.message}\n`);
      return 64;
    }
    if (e instanceof ConfigError) {
      io.stderr(`bulwark: ${e.message}\n`);
      return 2;
    }
    if (e instanceof CoreError || e instanceof DataFolderBusy) {
      io.stderr(`bulwark: ${e.message}\n`);
      return 1;
    }
    io.stderr(`bulwark: unexpected error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
