/** The process logger: pino, JSON by default, human-readable with format = "pretty". */
import { pino, type Logger as PinoLogger } from 'pino';
import type { Logger } from '../core/context.js';

/** Makes the process logger; logs go to stderr so stdout stays for command output. */
export function makeLogger(level: string, format: 'json' | 'pretty'): Logger & PinoLogger {
  if (format === 'pretty') {
    return pino({ level, base: undefined }, pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: process.stderr.isTTY } }));
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}
