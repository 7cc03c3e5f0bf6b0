/**
 * The end of USER/PASS and AUTH: authenticate through core (DESIGN.md rule 1), lock the
 * maildrop (RFC 1939 §4) and take its snapshot, then enter the TRANSACTION state.
 */
import { randomUUID } from 'node:crypto';
import { AuthFailed, InUse } from '../../../core/errors.js';
import { acquireMaildropLock } from '../../../core/mail/maildrop-lock.js';
import { blobChunks, openMaildrop, type MaildropEntry } from '../../../core/mail/maildrop.js';
import type { Context } from '../../../core/context.js';
import type { Session, SessionMessage } from '../session.js';
import { ok, wireSizeCounter } from '../wire/responses.js';

/** Most cached wire sizes kept per server. */
const WIRE_SIZE_CACHE_ENTRIES = 100_000;

/** Authenticates and opens the maildrop; AuthFailed and InUse propagate to the catch site. */
export async function login(s: Session, username: string, password: string, mechanism: string): Promise<void> {
  const { deps } = s.services;
  let account;
  try {
    account = await deps.auth.authenticate({ username, password, protocol: 'pop3', remoteAddress: s.info.clientAddress, mechanism });
  } catch (e) {
    if (e instanceof AuthFailed) s.noteAuthFailure();
    throw e;
  }
  if (s.state.kind === 'closed') return;
  // Choice (RFC 2449 §8.1.2): one POP3 session per maildrop; a second one is refused with
  // [IN-USE], so two clients never both delete by message number. IMAP may run alongside.
  // The lock lives in the store, so it holds across the nodes of a cluster.
  const holder = randomUUID();
  if (!(await acquireMaildropLock(deps.ctx, account.accountId, holder))) throw new InUse('maildrop already locked by another POP3 session');
  s.holdLock(account.accountId, holder);
  try {
    const drop = await openMaildrop(deps.ctx, account.accountId);
    const messages: SessionMessage[] = [];
    for (const e of drop.entries) messages.push({ uid: e.uid, emailId: e.emailId, size: await wireSize(deps.ctx, e, s.services.wireSizes) });
    s.state = { kind: 'transaction', login: account, maildrop: { mailboxId: drop.mailboxId, messages, deleted: new Set() } };
    const octets = messages.reduce((n, m) => n + m.size, 0);
    s.log = s.log.child({ accountId: account.accountId });
    s.log.info({ event: 'pop3.login', accountId: account.accountId, messages: messages.length }, 'logged in');
    await s.reply(ok(`maildrop locked and ready, ${messages.length} messages (${octets} octets)`));
  } catch (e) {
    if (s.state.kind !== 'transaction') s.releaseLock();
    throw e;
  }
}

/**
 * RFC 1939 §11: sizes count every line end as CRLF, as RETR sends them. Stored messages may
 * hold bare LF, so the size is counted once per blob and cached (blobs never change).
 */
async function wireSize(ctx: Context, e: MaildropEntry, cache: Map<string, number>): Promise<number> {
  const cached = cache.get(e.blobId);
  if (cached !== undefined) return cached;
  const counter = wireSizeCounter();
  for await (const chunk of blobChunks(ctx, e.blobId, e.size)) counter.push(chunk);
  const size = counter.total();
  if (cache.size >= WIRE_SIZE_CACHE_ENTRIES) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(e.blobId, size);
  return size;
}
