/**
 * Commands on messages of the selected mailbox: FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY,
 * RFC 7162 CHANGEDSINCE/VANISHED, RFC 8474 EMAILID/THREADID), STORE (RFC 9051 §6.4.6,
 * RFC 7162 UNCHANGEDSINCE), COPY/MOVE (RFC 9051 §6.4.7, RFC 6851, RFC 4315 COPYUID),
 * EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315 §2.1), SEARCH (RFC 9051 §6.4.4,
 * RFC 4731 ESEARCH, RFC 5182 SEARCHRES), SORT and THREAD (RFC 5256).
 */
import { decodeTransferEncoding, findPart } from '../../../mime/index.js';
import { copyMessages } from '../../../core/mail/copy.js';
import { findMailbox } from '../../../core/mail/mailboxes.js';
import { expunge, setFlags } from '../../../core/mail/messages.js';
import { fetchRows, expungedSince, uidsChangedSince, uidsWithFlag, type FetchRow } from '../../../core/mail/snapshot.js';
import { searchMessages, sortMessages, threadMessages } from '../../../core/mail/search.js';
import type { SearchKey, SortCriterion, ThreadNode } from '../../../core/mail/search-types.js';
import { canonicalFlag } from '../../../core/mail/flags.js';
import { CODE } from '../errors.js';
import { compressUids, type ImapSession, type Reply } from '../session.js';
import { uidInSet, type MailboxView } from '../view.js';
import type { Command, CommandOf } from '../wire/command.js';
import type { FetchItem } from '../wire/commands/fetch.js';
import type { WireSearchKey } from '../wire/commands/search.js';
import { atom, formatValues, nstr, type WireValue } from '../wire/responses.js';
import { bodyStructure, envelope, filterHeaderFields, sectionSource } from './fetch-data.js';

type C<N extends Command['name']> = CommandOf<N>;

function selected(s: ImapSession): { accountId: string; view: MailboxView } {
  if (s.state.kind !== 'selected') throw new Error('not selected');
  return { accountId: s.state.account.accountId, view: s.state.view };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 9051 §9 date-time in UTC. */
export function imapDateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

const badSeq: Reply = { status: 'BAD', text: 'Invalid message sequence number' };

/** RFC 9051 §6.4.5 FETCH and §6.4.9 UID FETCH. */
export async function fetch(s: ImapSession, cmd: C<'FETCH'>): Promise<Reply> {
  const { accountId, view } = selected(s);
  const resolved = view.resolve(cmd.set, cmd.uid);
  if (resolved.invalid && !cmd.uid) return badSeq;
  let uids = resolved.uids;
  if (cmd.vanished && (!cmd.uid || cmd.changedSince === null || !s.qresync)) return { status: 'BAD', text: 'VANISHED needs UID FETCH with CHANGEDSINCE and QRESYNC' };
  const items = [...cmd.items];
  // RFC 9051 §6.4.9: UID FETCH always returns UID.
  if (cmd.uid && !items.some((i) => i.kind === 'simple' && i.name === 'UID')) items.unshift({ kind: 'simple', name: 'UID' });
  if (cmd.changedSince !== null) {
    s.condstore = true;
    // Only messages changed since: an index lookup instead of reading every row of the set.
    const changed = new Set(await uidsChangedSince(s.ctx, accountId, view.mailboxId, cmd.changedSince));
    uids = uids.filter((u) => changed.has(u));
    if (!items.some((i) => i.kind === 'simple' && i.name === 'MODSEQ')) items.push({ kind: 'simple', name: 'MODSEQ' });
  }
  if (cmd.vanished && cmd.changedSince !== null) {
    // RFC 7162 §3.2.6: VANISHED (EARLIER) for UIDs in the set expunged since CHANGEDSINCE.
    const gone = (await expungedSince(s.ctx, accountId, view.mailboxId, cmd.changedSince)).filter((u) => view.seqOf(u) === 0 && uidInSet(u, cmd.set));
    if (gone.length > 0) await s.untaggedText(`VANISHED (EARLIER) ${compressUids(gone)}`);
  }
  const needsStructure = items.some((i) => i.kind !== 'simple' || ['ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT'].includes(i.name));
  const setsSeen = !view.isReadOnly && items.some((i) => (i.kind === 'body' || i.kind === 'binary') && !i.peek || (i.kind === 'simple' && (i.name === 'RFC822' || i.name === 'RFC822.TEXT')));
  const smallItems = items.every((i) => i.kind === 'simple' ? !['RFC822', 'RFC822.TEXT'].includes(i.name) : i.kind === 'binary.size' || (i.kind === 'body' && (i.section.text === 'HEADER' || i.section.text === 'HEADER.FIELDS' || i.section.text === 'HEADER.FIELDS.NOT' || i.section.text === 'MIME' || (i.partial !== null && i.partial.length <= 64 * 1024))));
  for (let i = 0; i < uids.length; i += 200) {
    const batch = uids.slice(i, i + 200);
    const rows = await fetchRows(s.ctx, accountId, view.mailboxId, batch, needsStructure);
    if (setsSeen) {
      const unseen = rows.filter((r) => !r.flags.includes('\\Seen')).map((r) => r.uid);
      if (unseen.length > 0) {
        // RFC 9051 §6.4.5: BODY[...] (not PEEK) sets \Seen; the new flags are returned.
        const res = await setFlags(s.ctx, accountId, view.mailboxId, unseen, 'add', ['\\Seen']);
        const byUid = new Map(res.changed.map((c) => [c.uid, c.flags]));
        for (const r of rows) {
          const f = byUid.get(r.uid);
          if (f) {
            r.flags = f;
            r.modseq = res.modseq;
            view.selfReported.set(r.uid, res.modseq);
          }
        }
        if (!items.some((x) => x.kind === 'simple' && x.name === 'FLAGS')) items.push({ kind: 'simple', name: 'FLAGS' });
      }
    }
    const live = rows.filter((r) => view.seqOf(r.uid) > 0);
    if (smallItems) {
      // Header-sized reads: fetch the batch's blob ranges in parallel, write in order.
      const out = await Promise.all(live.map((r) => fetchResponse(s, view.seqOf(r.uid), r, items)));
      for (const b of out) await s.write(b);
    } else {
      // Whole bodies: one message in memory at a time.
      for (const r of live) await s.write(await fetchResponse(s, view.seqOf(r.uid), r, items));
    }
  }
  return { status: 'OK', text: `${cmd.uid ? 'UID ' : ''}FETCH completed` };
}

async function fetchResponse(s: ImapSession, seq: number, r: FetchRow, items: FetchItem[]): Promise<Buffer> {
  const msg = r.message;
  const out: WireValue[] = [];
  const read = async (start: number, end: number): Promise<Buffer> => {
    if (end <= start) return Buffer.alloc(0);
    const b = await s.ctx.blobs.getRange(r.blobId, start, end);
    return b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.alloc(0);
  };
  for (const it of items) {
    if (it.kind === 'simple') {
      switch (it.name) {
        case 'UID':
          out.push(atom('UID'), atom(r.uid));
          break;
        case 'FLAGS':
          out.push(atom('FLAGS'), r.flags.map((f) => atom(f)));
          break;
        case 'INTERNALDATE':
          out.push(atom('INTERNALDATE'), { str: imapDateTime(r.receivedAt) });
          break;
        case 'SAVEDATE':
          out.push(atom('SAVEDATE'), { str: imapDateTime(r.savedAt) });
          break;
        case 'RFC822.SIZE':
          out.push(atom('RFC822.SIZE'), atom(r.size));
          break;
        case 'MODSEQ':
          out.push(atom('MODSEQ'), [atom(r.modseq)]);
          break;
        case 'EMAILID':
          out.push(atom('EMAILID'), [atom(r.emailId)]);
          break;
        case 'THREADID':
          out.push(atom('THREADID'), [atom(r.threadId)]);
          break;
        case 'ENVELOPE':
          out.push(atom('ENVELOPE'), envelope(msg!.envelope, s.utf8));
          break;
        case 'BODY':
          out.push(atom('BODY'), bodyStructure(msg!.root, false, s.utf8));
          break;
        case 'BODYSTRUCTURE':
          out.push(atom('BODYSTRUCTURE'), bodyStructure(msg!.root, true, s.utf8));
          break;
        case 'RFC822':
          out.push(atom('RFC822'), { lit: await read(0, r.size) });
          break;
        case 'RFC822.HEADER':
          out.push(atom('RFC822.HEADER'), { lit: await read(msg!.root.headerStart, msg!.root.headerEnd) });
          break;
        case 'RFC822.TEXT':
          out.push(atom('RFC822.TEXT'), { lit: await read(msg!.root.bodyStart, r.size) });
          break;
      }
    } else if (it.kind === 'body') {
      const src = sectionSource(msg!, it.section);
      let data: Buffer;
      if (src.kind === 'empty') data = Buffer.alloc(0);
      else if (src.kind === 'range') data = await read(src.start, src.end);
      else data = filterHeaderFields(await read(src.start, src.end), src.fields, src.not);
      let label = it.label;
      if (it.partial) {
        // RFC 9051 §6.4.5: the response names only the origin octet.
        data = data.subarray(Math.min(it.partial.origin, data.length), Math.min(it.partial.origin + it.partial.length, data.length));
        label += `<${it.partial.origin}>`;
      }
      out.push(atom(label), { lit: data });
    } else {
      // RFC 3516 §4.2: BINARY decodes the part's transfer encoding.
      const part = it.part.length === 0 ? msg!.root : findPart(msg!.root, it.part);
      if (!part || part.type === 'multipart') {
        return Buffer.concat([Buffer.from(`* ${seq} FETCH (`), formatValues(out, { utf8: s.utf8 }), Buffer.from(')\r\n')]);
      }
      const raw = it.part.length === 0 ? await read(part.bodyStart, r.size) : await read(part.bodyStart, part.bodyEnd);
      const decoded = Buffer.from(decodeTransferEncoding(raw, part.encoding));
      if (it.kind === 'binary.size') out.push(atom(it.label), atom(decoded.length));
      else {
        let data = decoded;
        let label = it.label;
        if (it.partial) {
          data = data.subarray(Math.min(it.partial.origin, data.length), Math.min(it.partial.origin + it.partial.length, data.length));
          label += `<${it.partial.origin}>`;
        }
        out.push(atom(label), { lit: data, binary: data.includes(0) });
      }
    }
  }
  return Buffer.concat([Buffer.from(`* ${seq} FETCH (`), formatValues(out, { utf8: s.utf8 }), Buffer.from(')\r\n')]);
}

/** RFC 9051 §6.4.6 STORE; RFC 7162 §3.1.3 UNCHANGEDSINCE with [MODIFIED]. */
export async function store(s: ImapSession, cmd: C<'STORE'>): Promise<Reply> {
  const { accountId, view } = selected(s);
  if (view.isReadOnly) return { status: 'NO', code: CODE.READONLY, text: 'Mailbox is read-only' };
  const { uids, invalid } = view.resolve(cmd.set, cmd.uid);
  if (invalid && !cmd.uid) return badSeq;
  let flags: string[];
  try {
    flags = cmd.flags.filter((f) => f.toLowerCase() !== '\\recent').map(canonicalFlag);
  } catch {
    return { status: 'BAD', text: 'Invalid flag' };
  }
  if (cmd.unchangedSince !== null) s.condstore = true;
  const live = uids.filter((u) => !view.pendingExpunge.has(u));
  const res = await setFlags(s.ctx, accountId, view.mailboxId, live, cmd.mode, flags, cmd.unchangedSince ?? undefined);
  const changed = new Map(res.changed.map((c) => [c.uid, c.flags]));
  for (const u of changed.keys()) view.selfReported.set(u, res.modseq);
  // Report the flags of every named message (changed or not) unless .SILENT; under
  // CONDSTORE, changes are always reported with MODSEQ (RFC 7162 §3.1.3).
  const report = cmd.silent ? (s.condstore ? [...changed.keys()] : []) : live.filter((u) => !res.modified.includes(u));
  // The flags and modseq as the change left them (one transaction, no second read).
  const rows = [...new Set(report)].sort((a, b) => a - b).flatMap((uid) => {
    const st = res.state.get(uid);
    return st ? [{ uid, ...st }] : [];
  });
  for (const r of rows) {
    const seq = view.seqOf(r.uid);
    const items: WireValue[] = [];
    if (cmd.uid) items.push(atom('UID'), atom(r.uid));
    items.push(atom('FLAGS'), r.flags.map((f) => atom(f)));
    if (s.condstore) items.push(atom('MODSEQ'), [atom(r.modseq)]);
    await s.untagged([atom(seq), atom('FETCH'), items]);
  }
  if (res.modified.length > 0) {
    const ids = cmd.uid ? res.modified : res.modified.map((u) => view.seqOf(u));
    return { status: 'OK', code: `MODIFIED ${compressUids(ids)}`, text: 'Conditional STORE failed for some messages' };
  }
  return { status: 'OK', text: `${cmd.uid ? 'UID ' : ''}STORE completed` };
}

/** RFC 9051 §6.4.7 COPY and RFC 6851 MOVE, with RFC 4315 COPYUID. */
export async function copy(s: ImapSession, cmd: C<'COPY' | 'MOVE'>): Promise<Reply> {
  const { accountId, view } = selected(s);
  const { uids, invalid } = view.resolve(cmd.set, cmd.uid);
  if (invalid && !cmd.uid) return badSeq;
  const name = s.mailboxIn(cmd.mailbox);
  const target = name === null ? undefined : await findMailbox(s.ctx, accountId, name);
  if (!target) return { status: 'NO', code: CODE.TRYCREATE, text: 'No such mailbox' };
  const move = cmd.name === 'MOVE';
  if (move && view.isReadOnly) return { status: 'NO', code: CODE.READONLY, text: 'Mailbox is read-only' };
  const res = await copyMessages(s.ctx, accountId, view.mailboxId, uids, target.id, move);
  if (res.pairs.length === 0) return { status: 'OK', text: `${cmd.name} completed` };
  const code = `COPYUID ${res.uidValidity} ${compressUids(res.pairs.map((p) => p[0]))} ${compressUids(res.pairs.map((p) => p[1]))}`;
  if (move) {
    // RFC 6851 §4.3: COPYUID comes in an untagged OK before the expunges.
    await s.untaggedText(`OK [${code}] Moved`);
    for (const [u] of res.pairs) view.pendingExpunge.add(u);
    await s.flushExpunges(view);
    return { status: 'OK', text: 'MOVE completed' };
  }
  return { status: 'OK', code, text: 'COPY completed' };
}

/** RFC 9051 §6.4.3 EXPUNGE and RFC 4315 §2.1 UID EXPUNGE. */
export async function expungeCommand(s: ImapSession, cmd: C<'EXPUNGE' | 'UID EXPUNGE'>): Promise<Reply> {
  const { accountId, view } = selected(s);
  if (view.isReadOnly) return { status: 'NO', code: CODE.READONLY, text: 'Mailbox is read-only' };
  // Only messages this session knows of (not ones arrived since its last sync), and for
  // UID EXPUNGE only those in the set (RFC 4315 §2.1).
  const inScope = cmd.name === 'UID EXPUNGE' ? new Set(view.resolve(cmd.set, true).uids) : null;
  const flagged = await uidsWithFlag(s.ctx, accountId, view.mailboxId, '\\Deleted');
  const del = flagged.filter((u) => (inScope ? inScope.has(u) : view.seqOf(u) > 0));
  if (del.length > 0) {
    await expunge(s.ctx, accountId, view.mailboxId, del);
    for (const u of del) view.pendingExpunge.add(u);
  }
  return { status: 'OK', text: `${cmd.name} completed` };
}

/** Turns a wire search key into core's, mapping sequence numbers through the view. */
function toCoreKey(k: WireSearchKey, view: MailboxView): SearchKey {
  switch (k.op) {
    case 'and':
      return { op: 'and', keys: k.keys.map((x) => toCoreKey(x, view)) };
    case 'or':
      return { op: 'or', a: toCoreKey(k.a, view), b: toCoreKey(k.b, view) };
    case 'not':
      return { op: 'not', key: toCoreKey(k.key, view) };
    case 'recent':
      // \Recent is not kept (RFC 9051 dropped it): no message is recent.
      return k.set ? { op: 'not', key: { op: 'all' } } : { op: 'all' };
    case 'seq':
      if (k.set.kind === 'saved') return { op: 'uid', ranges: view.savedSearch.map((u) => [u, u] as [number, number]) };
      return { op: 'uid', ranges: view.seqRangesToUidRanges(k.set.ranges) };
    case 'uid': {
      if (k.set.kind === 'saved') return { op: 'uid', ranges: view.savedSearch.map((u) => [u, u] as [number, number]) };
      const max = view.uids[view.uids.length - 1] ?? 0;
      return { op: 'uid', ranges: k.set.ranges.map(([a, b]) => [Math.min(a ?? max, b ?? max), Math.max(a ?? max, b ?? max)] as [number, number]) };
    }
    default:
      return k;
  }
}

function checkCharset(charset: string | null): Reply | null {
  // RFC 9051 §6.4.4: US-ASCII and UTF-8 only; anything else is NO [BADCHARSET].
  if (charset !== null && charset !== 'UTF-8' && charset !== 'US-ASCII') return { status: 'NO', code: CODE.BADCHARSET, text: 'Unsupported charset' };
  return null;
}

/** Limits a core result to messages this session knows of (not new, not pending expunge). */
function known(view: MailboxView, uids: number[]): number[] {
  return uids.filter((u) => view.seqOf(u) > 0);
}

/** RFC 9051 §6.4.4 SEARCH, RFC 4731 ESEARCH, RFC 5182 SEARCHRES. */
export async function search(s: ImapSession, cmd: C<'SEARCH'>): Promise<Reply> {
  const { accountId, view } = selected(s);
  const bad = checkCharset(cmd.charset);
  if (bad) return bad;
  if (hasModseq(cmd.key)) s.condstore = true;
  const uids = known(view, await searchMessages(s.ctx, accountId, view.mailboxId, toCoreKey(cmd.key, view)));
  const ids = cmd.uid ? uids : uids.map((u) => view.seqOf(u)).sort((a, b) => a - b);
  const ret = cmd.returns;
  if (ret?.save) view.savedSearch = uids;
  if (ret || s.rev2) {
    // RFC 4731 §3.1 / RFC 9051 §7.3.4 ESEARCH.
    const r = ret ?? { min: false, max: false, all: true, count: false, save: false };
    if (ret?.save && !ret.min && !ret.max && !ret.all && !ret.count) return { status: 'OK', text: 'SEARCH completed, result saved' };
    let line = `ESEARCH (TAG "${cmd.tag}")${cmd.uid ? ' UID' : ''}`;
    if (r.min && ids.length) line += ` MIN ${ids[0]}`;
    if (r.max && ids.length) line += ` MAX ${ids[ids.length - 1]}`;
    if (r.all && ids.length) line += ` ALL ${compressUids(ids)}`;
    if (r.count) line += ` COUNT ${ids.length}`;
    await s.untaggedText(line);
  } else {
    let line = `SEARCH${ids.map((i) => ' ' + i).join('')}`;
    // RFC 7162 §3.1.5: MODSEQ searches report the highest modseq of the result.
    if (hasModseq(cmd.key) && uids.length > 0) {
      const rows = await fetchRows(s.ctx, accountId, view.mailboxId, uids, false);
      line += ` (MODSEQ ${Math.max(...rows.map((r) => r.modseq))})`;
    }
    await s.untaggedText(line);
  }
  return { status: 'OK', text: `${cmd.uid ? 'UID ' : ''}SEARCH completed` };
}

function hasModseq(k: WireSearchKey): boolean {
  if (k.op === 'modseq') return true;
  if (k.op === 'and') return k.keys.some(hasModseq);
  if (k.op === 'or') return hasModseq(k.a) || hasModseq(k.b);
  if (k.op === 'not') return hasModseq(k.key);
  return false;
}

/** RFC 5256 §3 SORT. */
export async function sort(s: ImapSession, cmd: C<'SORT'>): Promise<Reply> {
  const { accountId, view } = selected(s);
  const bad = checkCharset(cmd.charset);
  if (bad) return bad;
  const uids = known(view, await searchMessages(s.ctx, accountId, view.mailboxId, toCoreKey(cmd.key, view)));
  const sorted = await sortMessages(s.ctx, accountId, view.mailboxId, uids, cmd.criteria as SortCriterion[]);
  const ids = cmd.uid ? sorted : sorted.map((u) => view.seqOf(u));
  await s.untaggedText(`SORT${ids.map((i) => ' ' + i).join('')}`);
  return { status: 'OK', text: `${cmd.uid ? 'UID ' : ''}SORT completed` };
}

/** RFC 5256 §3 THREAD. */
export async function thread(s: ImapSession, cmd: C<'THREAD'>): Promise<Reply> {
  const { accountId, view } = selected(s);
  const bad = checkCharset(cmd.charset);
  if (bad) return bad;
  const algorithm = cmd.algorithm.toLowerCase();
  if (algorithm !== 'references' && algorithm !== 'orderedsubject') return { status: 'BAD', text: 'Unsupported threading algorithm' };
  const uids = known(view, await searchMessages(s.ctx, accountId, view.mailboxId, toCoreKey(cmd.key, view)));
  const nodes = await threadMessages(s.ctx, accountId, view.mailboxId, uids, algorithm);
  const id = (u: number) => (cmd.uid ? u : view.seqOf(u));
  // RFC 5256 §4: thread-list = "(" (thread-members / thread-nested) ")".
  const fmt = (n: ThreadNode): string => {
    const head = n.uid === null ? '' : String(id(n.uid));
    if (n.children.length === 0) return head;
    if (n.children.length === 1) return head ? `${head} ${fmt(n.children[0]!)}` : fmt(n.children[0]!);
    const kids = n.children.map((c) => `(${fmt(c)})`).join('');
    return head ? `${head} ${kids}` : kids;
  };
  await s.untaggedText(`THREAD ${nodes.map((n) => `(${fmt(n)})`).join('')}`.trimEnd());
  return { status: 'OK', text: `${cmd.uid ? 'UID ' : ''}THREAD completed` };
}

export { nstr };
