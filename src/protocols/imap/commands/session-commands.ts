/**
 * Connection and authentication commands: CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN,
 * AUTHENTICATE PLAIN (RFC 4616, SASL-IR RFC 4959), ENABLE (RFC 5161), ID (RFC 2971),
 * NAMESPACE (RFC 2342), IDLE (RFC 2177), quota (RFC 9208).
 */
import { AuthFailed } from '../../../core/errors.js';
import { accountQuota } from '../../../core/mail/snapshot.js';
import { findMailbox } from '../../../core/mail/mailboxes.js';
import { CODE } from '../errors.js';
import type { ImapSession, Reply } from '../session.js';
import type { Command, CommandOf } from '../wire/command.js';
import { atom, nstr } from '../wire/responses.js';

type C<N extends Command['name']> = CommandOf<N>;

/** RFC 9051 §6.1.1. */
export async function capability(s: ImapSession): Promise<Reply> {
  await s.untaggedText(`CAPABILITY ${s.capabilities().join(' ')}`);
  return { status: 'OK', text: 'CAPABILITY completed' };
}

/** RFC 9051 §6.1.2: the sync after the command reports changes. */
export async function noop(): Promise<Reply> {
  return { status: 'OK', text: 'NOOP completed' };
}

/** RFC 9051 §6.1.3. */
export async function logout(s: ImapSession): Promise<Reply> {
  await s.untaggedText('BYE Logging out');
  s.deselect();
  s.state = { kind: 'logout' };
  return { status: 'OK', text: 'LOGOUT completed' };
}

/** RFC 9051 §6.2.1. */
export async function starttls(s: ImapSession): Promise<Reply> {
  if (s.isTls) return { status: 'BAD', text: 'TLS is already active' };
  return { status: 'OK', text: 'Begin TLS negotiation now' };
}

async function login(s: ImapSession, username: string, password: string, mechanism: string): Promise<Reply> {
  try {
    const account = await s.shared.deps.auth.authenticate({ username, password, protocol: 'imap', remoteAddress: s.info.clientAddress, mechanism });
    s.state = { kind: 'authenticated', account };
    s.log.info({ event: 'imap.login', accountId: account.accountId }, 'logged in');
    return { status: 'OK', code: `CAPABILITY ${s.capabilities().join(' ')}`, text: 'Logged in' };
  } catch (e) {
    if (e instanceof AuthFailed) {
      // The Authenticator already waited its throttle delay; delayMs is extra from a refusal.
      if (e.delayMs > 0) await new Promise((r) => setTimeout(r, Math.min(e.delayMs, 30_000)));
      return { status: 'NO', code: CODE.AUTHENTICATIONFAILED, text: 'Authentication failed' };
    }
    throw e;
  }
}

/** RFC 9051 §6.2.3; refused before TLS (LOGINDISABLED, RFC 9051 §6.2.3). */
export async function loginCommand(s: ImapSession, cmd: C<'LOGIN'>): Promise<Reply> {
  if (!s.isSecure) return { status: 'NO', code: CODE.PRIVACYREQUIRED, text: 'Use STARTTLS first' };
  return login(s, cmd.username, cmd.password, 'login');
}

/** RFC 9051 §6.2.2 with RFC 4616 PLAIN and RFC 4959 SASL-IR. */
export async function authenticate(s: ImapSession, cmd: C<'AUTHENTICATE'>): Promise<Reply> {
  if (cmd.mechanism !== 'PLAIN') return { status: 'NO', code: CODE.CANNOT, text: 'Unsupported mechanism' };
  if (!s.isSecure) return { status: 'NO', code: CODE.PRIVACYREQUIRED, text: 'Use STARTTLS first' };
  let response = cmd.initialResponse;
  if (response === null) {
    await s.write(Buffer.from('+ \r\n'));
    const line = (await s.nextLine()).toString('latin1').trim();
    // RFC 9051 §6.2.2: "*" cancels the exchange.
    if (line === '*') return { status: 'BAD', text: 'Authentication cancelled' };
    response = line;
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(response)) return { status: 'BAD', text: 'Invalid base64' };
  const parts = Buffer.from(response, 'base64').toString('utf8').split('\0');
  if (parts.length !== 3) return { status: 'BAD', text: 'Malformed PLAIN response' };
  const [authzid, authcid, password] = parts as [string, string, string];
  if (authzid !== '' && authzid.toLowerCase() !== authcid.toLowerCase()) return { status: 'NO', code: CODE.NOPERM, text: 'Proxy authorization is not allowed' };
  return login(s, authcid, password, 'plain');
}

/** RFC 5161 §3.1 ENABLE; RFC 9051 §6.3.1 IMAP4rev2; RFC 6855 UTF8=ACCEPT; RFC 7162 §3.2.3. */
export async function enable(s: ImapSession, cmd: C<'ENABLE'>): Promise<Reply> {
  const enabled: string[] = [];
  for (const c of cmd.capabilities) {
    if (c === 'IMAP4REV2' && !s.rev2) {
      s.rev2 = true;
      enabled.push('IMAP4rev2');
    } else if (c === 'UTF8=ACCEPT' && !s.utf8Accept) {
      s.utf8Accept = true;
      enabled.push('UTF8=ACCEPT');
    } else if (c === 'CONDSTORE' && !s.condstore) {
      s.condstore = true;
      enabled.push('CONDSTORE');
    } else if (c === 'QRESYNC' && !s.qresync) {
      s.qresync = true;
      s.condstore = true;
      enabled.push('QRESYNC');
    }
  }
  await s.untaggedText(`ENABLED${enabled.map((e) => ' ' + e).join('')}`);
  return { status: 'OK', text: 'ENABLE completed' };
}

/** RFC 2971 §3.1. */
export async function id(s: ImapSession, cmd: C<'ID'>): Promise<Reply> {
  if (cmd.params) s.log.info({ event: 'imap.id', client: Object.fromEntries(cmd.params.slice(0, 10)) }, 'client id');
  await s.untagged([atom('ID'), [nstr('name'), nstr('Bulwark'), nstr('vendor'), nstr('Bulwark')]]);
  return { status: 'OK', text: 'ID completed' };
}

/** RFC 2342 §5: one personal namespace, "" with "/". */
export async function namespace(s: ImapSession): Promise<Reply> {
  await s.untaggedText('NAMESPACE (("" "/")) NIL NIL');
  return { status: 'OK', text: 'NAMESPACE completed' };
}

/** RFC 2177 §3 IDLE; RFC 9051 §6.3.13. Updates are pushed until the client sends DONE. */
export async function idle(s: ImapSession): Promise<Reply> {
  await s.write(Buffer.from('+ idling\r\n'));
  const done = s.nextLine();
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished && !s.isClosed) {
    await s.waitForChange(60_000, done);
    if (finished || s.isClosed) break;
    await s.sync(true);
  }
  const line = (await done).toString('latin1').trim().toUpperCase();
  if (line !== 'DONE') return { status: 'BAD', text: 'Expected DONE' };
  return { status: 'OK', text: 'IDLE terminated' };
}

/** RFC 9208 §4.3 GETQUOTAROOT: one root "" for the account. */
export async function getQuotaRoot(s: ImapSession, cmd: C<'GETQUOTAROOT'>): Promise<Reply> {
  const account = s.account();
  const name = s.mailboxIn(cmd.mailbox);
  if (name === null || !(await findMailbox(s.ctx, account.accountId, name))) return { status: 'NO', code: CODE.NONEXISTENT, text: 'No such mailbox' };
  await s.untagged([atom('QUOTAROOT'), s.mailboxOut(name), nstr('')]);
  await quotaLine(s);
  return { status: 'OK', text: 'GETQUOTAROOT completed' };
}

/** RFC 9208 §4.2 GETQUOTA. */
export async function getQuota(s: ImapSession, cmd: C<'GETQUOTA'>): Promise<Reply> {
  if (cmd.root !== '') return { status: 'NO', code: CODE.NONEXISTENT, text: 'No such quota root' };
  await quotaLine(s);
  return { status: 'OK', text: 'GETQUOTA completed' };
}

async function quotaLine(s: ImapSession): Promise<void> {
  const q = await accountQuota(s.ctx, s.account().accountId);
  // RFC 9208 §5.1: STORAGE in units of 1024 octets. Unlimited quota: no resources listed.
  const res = q.quotaBytes > 0 ? [atom('STORAGE'), atom(Math.ceil(q.usedBytes / 1024)), atom(Math.floor(q.quotaBytes / 1024))] : [];
  await s.untagged([atom('QUOTA'), nstr(''), res]);
}

/** RFC 4978 §3 COMPRESS DEFLATE; the switch happens after the tagged OK. */
export async function compress(s: ImapSession, cmd: C<'COMPRESS'>): Promise<Reply> {
  if (cmd.algorithm !== 'DEFLATE') return { status: 'BAD', text: 'Unknown compression algorithm' };
  // RFC 4978 §3: a second COMPRESS gets NO [COMPRESSIONACTIVE].
  if (s.isCompressed) return { status: 'NO', code: 'COMPRESSIONACTIVE', text: 'Compression is already active' };
  return { status: 'OK', text: 'DEFLATE active' };
}
