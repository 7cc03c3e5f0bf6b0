/**
 * What every CLI command shares: argument parsing with `--help`, the data folder, opening
 * the core context, reading secrets from stdin, and output as text or JSON.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config/index.js';
import { systemClock } from '../core/clock.js';
import type { Context } from '../core/context.js';
import { contextFor, storageOptions } from '../server/context.js';
import { makeLogger } from '../server/logger.js';
import { openStorage, type Storage } from '../store/index.js';

/** A usage error: printed as one line, exit code 64 (EX_USAGE). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The streams and environment a command runs with (tests pass their own). */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => string;
  env: NodeJS.ProcessEnv;
}

/** The real process streams. */
export const processIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: () => readFileSync(0, 'utf8'),
  env: process.env,
};

/** A CLI command. */
export interface Command {
  /** Words that select it, e.g. ["user", "add"]. */
  path: string[];
  /** One line for the command list. */
  summary: string;
  /** Positional arguments, for the usage line. */
  args?: string;
  /** Options beyond the common ones (--data, --json, --help). */
  options?: NonNullable<ParseArgsConfig['options']>;
  /** Longer help text. */
  help?: string;
  run(a: Parsed, io: Io): Promise<number>;
}

/** Parsed arguments of a command. */
export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  dataDir: string;
  json: boolean;
}

/** Options every command takes. */
export const COMMON_OPTIONS = {
  data: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses a command's arguments; throws UsageError on unknown options. */
export function parse(cmd: Command, argv: string[], env: NodeJS.ProcessEnv): Parsed {
  let r;
  try {
    r = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...cmd.options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see bulwark ${cmd.path.join(' ')} --help)`);
  }
  const values = r.values as Parsed['values'];
  const dataDir = resolve(typeof values.data === 'string' ? values.data : env.BULWARK_DATA || './data');
  return { values, positionals: r.positionals, dataDir, json: values.json === true };
}

/** The usage text of a command. */
export function usage(cmd: Command): string {
  const opts = Object.entries({ ...cmd.options, ...COMMON_OPTIONS })
    .map(([k, v]) => `  --${k}${v.type === 'string' ? ' VALUE' : ''}`)
    .join('\n');
  return `usage: bulwark ${cmd.path.join(' ')}${cmd.args ? ' ' + cmd.args : ''} [options]\n\n${cmd.summary}\n${cmd.help ? '\n' + cmd.help + '\n' : ''}\noptions:\n${opts}\n  (--data defaults to $BULWARK_DATA or ./data)\n`;
}

/** Takes exactly n positionals or throws UsageError. */
export function positionals(cmd: Command, a: Parsed, names: string[]): string[] {
  if (a.positionals.length !== names.length) {
    throw new UsageError(`expected ${names.join(' ') || 'no arguments'} (see bulwark ${cmd.path.join(' ')} --help)`);
  }
  return a.positionals;
}

/** The core context of a data folder, opened for one command. */
export interface CliContext {
  ctx: Context;
  config: Config;
  close(): Promise<void>;
}

/** Opens the data folder's store for an administrative command (no listeners, no lock). */
export async function openContext(dataDir: string, env: NodeJS.ProcessEnv): Promise<CliContext> {
  const config = loadConfig(dataDir, env);
  const log = makeLogger(config.log.level === 'info' ? 'warn' : config.log.level, config.log.format);
  const storage: Storage = await openStorage(storageOptions(dataDir, config, systemClock));
  const ctx = contextFor(config, storage, log, systemClock);
  return { ctx, config, close: () => storage.close() };
}

/** Runs fn with an opened context and closes it afterwards. */
export async function withContext<T>(dataDir: string, env: NodeJS.ProcessEnv, fn: (c: CliContext) => Promise<T>): Promise<T> {
  const c = await openContext(dataDir, env);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** Reads a password from stdin: the first line, without its line ending. */
export function readPasswordFromStdin(io: Io): string {
  const text = io.readStdin();
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line.length === 0) throw new UsageError('no password on standard input');
  return line;
}

/** The CLI actor for audit events: the Unix user running the command. */
export function cliActor(env: NodeJS.ProcessEnv): { name: string; protocol: string } {
  return { name: `cli:${env.SUDO_USER || env.USER || env.LOGNAME || 'unknown'}`, protocol: 'cli' };
}

/** Prints rows as aligned columns, or as JSON. */
export function printTable(io: Io, json: boolean, rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (json) {
    io.stdout(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  if (rows.length === 0) return;
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? '-' : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (xs: string[]) => xs.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  io.stdout(line(columns.map((c) => c.toUpperCase())));
  for (const row of cells) io.stdout(line(row));
}

/** Parses sizes like "10G", "500M", "1024", "0" into bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([KMGT]i?B?|B)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`invalid size ${JSON.stringify(text)}: use a number of bytes or a suffix K, M, G, T`);
  const unit = (m[2] ?? '').toUpperCase()[0] ?? '';
  const mult = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[unit] ?? 1;
  const v = Number(m[1]) * mult;
  if (!Number.isSafeInteger(v)) throw new UsageError(`size ${text} is too large`);
  return v;
}
