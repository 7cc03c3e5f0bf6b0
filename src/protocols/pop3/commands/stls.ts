/** STLS (RFC 2595 §4): upgrade to TLS in the AUTHORIZATION state. */
import type { Handler } from '../session.js';
import { err, ok } from '../wire/responses.js';

/** RFC 2595 §4 STLS. */
export const stls: Handler<'STLS', 'authorization'> = async (s, state) => {
  if (s.isTls) return s.reply(err('TLS is already active'));
  // RFC 2595 §4: USER given before STLS is forgotten; everything starts over under TLS.
  state.userName = null;
  await s.reply(ok('begin TLS negotiation'));
  await s.startTls();
};
