/** NOOP (RFC 1939 §5). */
import type { Handler } from '../session.js';
import { ok } from '../wire/responses.js';

/** RFC 1939 §5 NOOP: "+OK". */
export const noop: Handler<'NOOP', 'transaction'> = async (s) => {
  await s.reply(ok());
};
