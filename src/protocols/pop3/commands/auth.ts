/** AUTH (RFC 5034 §4) with the PLAIN mechanism (RFC 4616). */
import type { Handler } from '../session.js';
import { decodeSaslResponse, parsePlain } from '../wire/sasl.js';
import { err, RESP_CODE } from '../wire/responses.js';
import { login } from './login.js';

/** Mechanisms offered; PLAIN only, so only where plaintext is allowed. */
const MECHANISMS = ['PLAIN'] as const;

/** RFC 5034 §4 AUTH; without a mechanism it lists them (RFC 1734 §2, as clients still probe). */
export const auth: Handler<'AUTH', 'authorization'> = async (s, state, cmd) => {
  state.userName = null;
  if (!s.isPlaintextAuthAllowed) return s.reply(err('plaintext authentication disallowed without TLS; use STLS', RESP_CODE.auth));
  if (cmd.mechanism === undefined) return s.replyLines('SASL mechanisms follow', [...MECHANISMS]);
  if (cmd.mechanism !== 'PLAIN') return s.reply(err('unsupported authentication mechanism'));
  let response = cmd.initialResponse;
  if (response === undefined) {
    // RFC 5034 §4: PLAIN needs an initial response; ask with an empty challenge "+ ".
    await s.write(Buffer.from('+ \r\n'));
    const ev = await s.nextSaslLine();
    if (!ev) return;
    if (ev.kind !== 'line') return s.reply(err('bad SASL response'));
    response = new TextDecoder().decode(ev.line);
  }
  const decoded = decodeSaslResponse(response);
  // RFC 5034 §4: "*" cancels; undecodable base64 MUST be rejected.
  if (decoded.kind === 'cancel') return s.reply(err('authentication cancelled'));
  if (decoded.kind === 'bad') return s.reply(err('bad base64 in SASL response'));
  const creds = parsePlain(decoded.bytes);
  if (!creds) return s.reply(err('malformed PLAIN response'));
  // RFC 4616 §2: an authzid other than the authcid would be acting as someone else.
  if (creds.authzid !== '' && creds.authzid.toLowerCase() !== creds.authcid.toLowerCase()) {
    return s.reply(err('authorization identity not allowed', RESP_CODE.auth));
  }
  await login(s, creds.authcid, creds.password, 'PLAIN');
};
