/**
 * Mailbox commands: SELECT/EXAMINE (RFC 9051 §6.3.2-6.3.3, CONDSTORE/QRESYNC RFC 7162
 * §3.1.2, §3.2.5), CREATE (RFC 6154 §3 USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST
 * (RFC 5258, RFC 5819, RFC 6154), LSUB (RFC 3501 §6.3.9), STATUS (RFC 8438 SIZE), CLOSE,
 * UNSELECT (RFC 3691) and APPEND (RFC 4315 APPENDUID, RFC 7889).
 */
import { createMailbox, deleteMailbox, findMailbox, listMailboxes, mailboxCounters, renameMailbox, setSubscribed, type Mailbox } from '../../../core/mail/mailboxes.js';
import { expunge } from '../../../core/mail/messages.js';
import { expungedSince, fetchRows, firstUnseenUid, uidsChangedSince, uidsWithFlag } from '../../../core/mail/snapshot.js';
import { storeMessage } from '../../../core/mail/store.js';
import { canonicalFlag } from '../../../core/mail/flags.js';
import { AlreadyExists } from '../../../core/errors.js';
import { CODE, toNo } from '../errors.js';
import { compressUids, type ImapSession, type Reply } from '../session.js';
import { uidInSet } from '../view.js';
import type { Command, CommandOf, StatusItem } from '../wire/command.js';
import { atom, nstr, type WireValue } from '../wire/responses.js';

type C<N extends Command['name']> = CommandOf<N>;

/** RFC 6154 §2 attributes by role. */
const SPECIAL_USE: Record<string, string> = {
  drafts: '\\Drafts',
  sent: '\\Sent',
  junk: '\\Junk',
  trash: '\\Trash',
  archive: '\\Archive',
  all: '\\All',
  flagged: '\\Flagged',
};
const ROLE_OF = Object.fromEntries(Object.entries(SPECIAL_USE).map(([r, a]) => [a.toLowerCase(), r]));

const FLAGS_LIST = '(\\Answered \\Flagged \\Deleted \\Seen \\Draft)';

function nameIn(s: ImapSession, raw: string): string | null {
  const n = s.mailboxIn(raw);
  if (n === null) return null;
  return n.toUpperCase() === 'INBOX' ? 'INBOX' : n.replace(/^inbox\//i, 'INBOX/');
}

const noMailbox: Reply = { status: 'NO', code: CODE.NONEXISTENT, text: 'No such mailbox' };

/** RFC 9051 §6.3.2 SELECT and §6.3.3 EXAMINE. */
export async function select(s: ImapSession, cmd: C<'SELECT' | 'EXAMINE'>): Promise<Reply> {
  const account = s.account();
  // RFC 7162 §3.2.11: under QRESYNC, closing a mailbox by selecting another is announced.
  if (s.state.kind === 'selected' && s.qresync) await s.untaggedText('OK [CLOSED] Previous mailbox closed');
  s.deselect();
  const name = nameIn(s, cmd.mailbox);
  const mb = name === null ? undefined : await findMailbox(s.ctx, account.accountId, name);
  // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
  if (!mb) return noMailbox;
  if (cmd.qresync && !s.qresync) return { status: 'BAD', text: 'QRESYNC is not enabled' };
  if (cmd.condstore) s.condstore = true;
  const readOnly = cmd.name === 'EXAMINE';
  const view = await s.select(account, mb.id, mb.name, readOnly);
  await s.untaggedText(`${view.exists} EXISTS`);
  if (!s.rev2) await s.untaggedText('0 RECENT');
  await s.untaggedText(`FLAGS ${FLAGS_LIST}`);
  await s.untaggedText(`OK [PERMANENTFLAGS ${readOnly ? '()' : '(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)'}] Flags permitted`);
  await s.untaggedText(`OK [UIDVALIDITY ${view.uidValidity}] UIDs valid`);
  await s.untaggedText(`OK [UIDNEXT ${view.uidNext}] Predicted next UID`);
  if (!s.rev2) {
    // One early-stopping read: null when no message is unseen (no counting of the mailbox).
    const first = await firstUnseenUid(s.ctx, account.accountId, mb.id);
    if (first !== null && view.seqOf(first) > 0) await s.untaggedText(`OK [UNSEEN ${view.seqOf(first)}] First unseen`);
  }
  // RFC 7162 §3.1.2.1: HIGHESTMODSEQ is always sent once CONDSTORE is in use.
  if (s.condstore) await s.untaggedText(`OK [HIGHESTMODSEQ ${view.modseq}] Highest`);
  await s.untaggedText(`OK [MAILBOXID (${mb.id})] Ok`);
  if (cmd.qresync && cmd.qresync.uidValidity === view.uidValidity) {
    // RFC 7162 §3.2.5.1: VANISHED (EARLIER) then FETCH for changes since the client's modseq.
    const gone = await expungedSince(s.ctx, account.accountId, mb.id, cmd.qresync.modseq);
    const knownUids = cmd.qresync.knownUids;
    // TODO(RFC 7162 §3.2.5.2): seq-match-data is parsed but not used; the change log answers exactly.
    const vanished = gone.filter((u) => view.seqOf(u) === 0 && (knownUids === null || uidInSet(u, knownUids)));
    if (vanished.length > 0) await s.untaggedText(`VANISHED (EARLIER) ${compressUids(vanished)}`);
    const changed = (await uidsChangedSince(s.ctx, account.accountId, mb.id, cmd.qresync.modseq)).filter((u) => view.seqOf(u) > 0);
    const rows = await fetchRows(s.ctx, account.accountId, mb.id, changed, false);
    for (const r of rows) {
      await s.untagged([atom(view.seqOf(r.uid)), atom('FETCH'), [atom('UID'), atom(r.uid), atom('FLAGS'), r.flags.map((f) => atom(f)), atom('MODSEQ'), [atom(r.modseq)]]]);
    }
  }
  return { status: 'OK', code: readOnly ? CODE.READONLY : CODE.READWRITE, text: `${cmd.name} completed` };
}

/** RFC 9051 §6.4.1 CLOSE: expunges \Deleted messages silently (unless read-only), then deselects. */
export async function close(s: ImapSession): Promise<Reply> {
  if (s.state.kind !== 'selected') return { status: 'BAD', text: 'No mailbox selected' };
  const { account, view } = s.state;
  if (!view.isReadOnly) {
    // Only messages this session knows of, as EXPUNGE (RFC 9051 §6.4.3).
    const del = (await uidsWithFlag(s.ctx, account.accountId, view.mailboxId, '\\Deleted')).filter((u) => view.seqOf(u) > 0);
    if (del.length > 0) await expunge(s.ctx, account.accountId, view.mailboxId, del);
  }
  s.deselect();
  return { status: 'OK', text: 'CLOSE completed' };
}

/** RFC 3691 UNSELECT. */
export async function unselect(s: ImapSession): Promise<Reply> {
  s.deselect();
  return { status: 'OK', text: 'UNSELECT completed' };
}

/** RFC 9051 §6.3.4 CREATE, RFC 6154 §3 CREATE-SPECIAL-USE. */
export async function create(s: ImapSession, cmd: C<'CREATE'>): Promise<Reply> {
  const account = s.account();
  let name = nameIn(s, cmd.mailbox);
  if (name === null) return { status: 'NO', code: CODE.CANNOT, text: 'Invalid mailbox name' };
  // RFC 9051 §6.3.4: a trailing separator only says the client means to create children.
  name = name.replace(/\/+$/, '');
  if (name === 'INBOX') return { status: 'NO', code: CODE.ALREADYEXISTS, text: 'INBOX exists' };
  if (cmd.specialUse.length > 1) return { status: 'NO', code: 'USEATTR', text: 'One special use per mailbox' };
  let role: string | null = null;
  if (cmd.specialUse.length === 1) {
    role = ROLE_OF[cmd.specialUse[0]!.toLowerCase()] ?? null;
    // RFC 6154 §3: USEATTR for an attribute we do not support.
    if (!role) return { status: 'NO', code: 'USEATTR', text: 'Unsupported special use' };
  }
  // RFC 9051 §6.3.4: superior hierarchical names are created as needed.
  const levels = name.split('/');
  for (let i = 1; i < levels.length; i++) {
    const parent = levels.slice(0, i).join('/');
    if (!(await findMailbox(s.ctx, account.accountId, parent))) {
      try {
        await createMailbox(s.ctx, account.accountId, parent);
      } catch (e) {
        // A concurrent CREATE of the same parent is fine; anything else is reported.
        if (!(e instanceof AlreadyExists)) throw e;
      }
    }
  }
  await createMailbox(s.ctx, account.accountId, name, role);
  return { status: 'OK', text: 'CREATE completed' };
}

/** RFC 9051 §6.3.5 DELETE. */
export async function del(s: ImapSession, cmd: C<'DELETE'>): Promise<Reply> {
  const account = s.account();
  const name = nameIn(s, cmd.mailbox);
  const mb = name === null ? undefined : await findMailbox(s.ctx, account.accountId, name);
  if (!mb) return noMailbox;
  if (s.state.kind === 'selected' && s.state.view.mailboxId === mb.id) s.deselect();
  await deleteMailbox(s.ctx, account.accountId, mb.id);
  return { status: 'OK', text: 'DELETE completed' };
}

/** RFC 9051 §6.3.6 RENAME. */
export async function rename(s: ImapSession, cmd: C<'RENAME'>): Promise<Reply> {
  const account = s.account();
  const from = nameIn(s, cmd.from);
  const to = nameIn(s, cmd.to);
  if (from === null || to === null) return { status: 'NO', code: CODE.CANNOT, text: 'Invalid mailbox name' };
  await renameMailbox(s.ctx, account.accountId, from, to);
  return { status: 'OK', text: 'RENAME completed' };
}

/** RFC 9051 §6.3.7 SUBSCRIBE / §6.3.8 UNSUBSCRIBE. */
export async function subscribe(s: ImapSession, cmd: C<'SUBSCRIBE' | 'UNSUBSCRIBE'>): Promise<Reply> {
  const account = s.account();
  const name = nameIn(s, cmd.mailbox);
  const mb = name === null ? undefined : await findMailbox(s.ctx, account.accountId, name);
  if (!mb) return noMailbox;
  await setSubscribed(s.ctx, account.accountId, mb.id, cmd.name === 'SUBSCRIBE');
  return { status: 'OK', text: `${cmd.name} completed` };
}

/** Converts a LIST pattern (RFC 9051 §6.3.9: "*" any, "%" any but "/") to a RegExp. */
function patternRegex(reference: string, pattern: string): RegExp {
  const full = reference + pattern;
  let re = '';
  for (const ch of full) {
    if (ch === '*') re += '.*';
    else if (ch === '%') re += '[^/]*';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  // INBOX matches case-insensitively.
  re = re.replace(/^INBOX/i, '(?:INBOX|[Ii][Nn][Bb][Oo][Xx])');
  return new RegExp(`^${re}$`, 's');
}

/** RFC 9051 §6.3.9 LIST with RFC 5258 / RFC 5819 / RFC 6154 extensions. */
export async function list(s: ImapSession, cmd: C<'LIST'>): Promise<Reply> {
  const account = s.account();
  // RFC 9051 §6.3.9: empty pattern asks for the delimiter.
  if (cmd.patterns.length === 1 && cmd.patterns[0] === '' && !cmd.extended) {
    await s.untaggedText('LIST (\\Noselect) "/" ""');
    return { status: 'OK', text: 'LIST completed' };
  }
  const boxes = await listMailboxes(s.ctx, account.accountId);
  await emitList(s, boxes, cmd.reference, cmd.patterns, {
    verb: 'LIST',
    onlySubscribed: cmd.selection.subscribed,
    recursiveMatch: cmd.selection.recursiveMatch,
    onlySpecial: cmd.selection.specialUse,
    showSubscribed: cmd.returns.subscribed || cmd.selection.subscribed,
    showSpecial: true,
    status: cmd.returns.status,
  });
  return { status: 'OK', text: 'LIST completed' };
}

/** RFC 3501 §6.3.9 LSUB. */
export async function lsub(s: ImapSession, cmd: C<'LSUB'>): Promise<Reply> {
  const boxes = await listMailboxes(s.ctx, s.account().accountId);
  await emitList(s, boxes, cmd.reference, [cmd.pattern], { verb: 'LSUB', onlySubscribed: true, recursiveMatch: false, onlySpecial: false, showSubscribed: false, showSpecial: false, status: null });
  return { status: 'OK', text: 'LSUB completed' };
}

async function emitList(
  s: ImapSession,
  boxes: Mailbox[],
  reference: string,
  patterns: string[],
  o: { verb: 'LIST' | 'LSUB'; onlySubscribed: boolean; recursiveMatch: boolean; onlySpecial: boolean; showSubscribed: boolean; showSpecial: boolean; status: StatusItem[] | null },
): Promise<void> {
  const res = patterns.map((p) => patternRegex(s.mailboxIn(reference) ?? reference, s.mailboxIn(p) ?? p));
  const matches = (name: string) => res.some((r) => r.test(name));
  const names = new Set(boxes.map((b) => b.name));
  const meets = (b: Mailbox) => (!o.onlySubscribed || b.subscribed) && (!o.onlySpecial || Boolean(b.role && SPECIAL_USE[b.role]));
  // (CREATE makes superior names, so every parent exists: no \NonExistent parents here.)
  for (const b of boxes) {
    if (!matches(b.name)) continue;
    // RFC 5258 §3.5: under RECURSIVEMATCH, a mailbox with a descendant that meets the selection
    // criteria gets CHILDINFO, unless every such descendant is listed anyway (SHOULD suppress).
    const childInfo = o.recursiveMatch && boxes.some((d) => d.name.startsWith(`${b.name}/`) && meets(d) && !matches(d.name));
    if (!meets(b) && !childInfo) continue;
    const attrs: string[] = [];
    const hasChildren = [...names].some((n) => n.startsWith(b.name + '/'));
    // RFC 3348 / RFC 5258 §4: CHILDREN attributes.
    attrs.push(hasChildren ? '\\HasChildren' : '\\HasNoChildren');
    if (o.showSubscribed && b.subscribed) attrs.push('\\Subscribed');
    if (o.showSpecial && b.role && SPECIAL_USE[b.role]) attrs.push(SPECIAL_USE[b.role]!);
    // RFC 5258 §3.5 mbox-list-extended: ("CHILDINFO" ("SUBSCRIBED")); RECURSIVEMATCH comes only with SUBSCRIBED.
    const extended: WireValue[] = childInfo ? [[nstr('CHILDINFO'), [nstr('SUBSCRIBED')]]] : [];
    await s.untagged([atom(o.verb), attrs.map((a) => atom(a)), nstr('/'), s.mailboxOut(b.name), ...extended]);
    if (o.status) await statusLine(s, b, o.status);
  }
}

async function statusLine(s: ImapSession, b: { id: string; name: string }, items: StatusItem[]): Promise<void> {
  const account = s.account();
  const c = await mailboxCounters(s.ctx, account.accountId, b.id);
  const out: WireValue[] = [];
  for (const it of items) {
    const v: Record<StatusItem, number | string> = {
      MESSAGES: c.messages,
      UIDNEXT: c.uidNext,
      UIDVALIDITY: c.uidValidity,
      UNSEEN: c.unseen,
      DELETED: c.deleted,
      SIZE: c.sizeBytes,
      RECENT: 0,
      HIGHESTMODSEQ: c.highestModseq,
      APPENDLIMIT: s.shared.appendLimit,
      MAILBOXID: `(${b.id})`,
    };
    out.push(atom(it), atom(v[it]));
  }
  await s.untagged([atom('STATUS'), s.mailboxOut(b.name), out]);
}

/** RFC 9051 §6.3.11 STATUS. */
export async function status(s: ImapSession, cmd: C<'STATUS'>): Promise<Reply> {
  const account = s.account();
  const name = nameIn(s, cmd.mailbox);
  const mb = name === null ? undefined : await findMailbox(s.ctx, account.accountId, name);
  if (!mb) return noMailbox;
  await statusLine(s, mb, cmd.items);
  return { status: 'OK', text: 'STATUS completed' };
}

/**
 * RFC 9051 §6.3.12 APPEND; RFC 4315 §3 APPENDUID; quota answered with [OVERQUOTA].
 * TODO(RFC 3502): MULTIAPPEND; TODO(RFC 6855 §4): APPEND with UTF8 (~{n}) data items.
 */
export async function append(s: ImapSession, cmd: C<'APPEND'>): Promise<Reply> {
  const account = s.account();
  const name = nameIn(s, cmd.mailbox);
  const mb = name === null ? undefined : await findMailbox(s.ctx, account.accountId, name);
  // RFC 9051 §6.3.12: TRYCREATE when the target does not exist.
  if (!mb) return { status: 'NO', code: CODE.TRYCREATE, text: 'No such mailbox' };
  if (cmd.message.length === 0) return { status: 'NO', code: CODE.CANNOT, text: 'Empty message' };
  let flags: string[];
  try {
    flags = cmd.flags.filter((f) => f.toLowerCase() !== '\\recent').map(canonicalFlag);
  } catch {
    return { status: 'BAD', text: 'Invalid flag' };
  }
  const [out] = await storeMessage(s.ctx, cmd.message, [{ accountId: account.accountId, mailboxId: mb.id, flags }], cmd.date !== null ? { receivedAt: cmd.date } : {});
  if (!out!.ok) {
    const no = toNo(out!.error, CODE.TRYCREATE);
    return { status: 'NO', code: no.code, text: no.text };
  }
  return { status: 'OK', code: `APPENDUID ${out!.uidValidity} ${out!.uid}`, text: 'APPEND completed' };
}
