/**
 * THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §3), over message metadata. Pure:
 * input is the searched messages in sequence (ascending UID) order; output is the tree the
 * IMAP layer formats, a dummy (missing) message having uid null.
 */
import { baseSubject } from '../../../mime/index.js';
import type { ThreadNode } from '../search-types.js';
import { compareAsciiCasemap, sentDate, type MessageMeta } from './order.js';

/** RFC 5256 §3 ORDEREDSUBJECT. */
export function orderedSubject(metas: readonly MessageMeta[]): ThreadNode[] {
  // Sorted by base subject, then sent date (§2.2), then sequence order.
  const sorted = [...metas].sort((a, b) => compareAsciiCasemap(a.baseSubject, b.baseSubject) || sentDate(a) - sentDate(b) || a.uid - b.uid);
  const threads: MessageMeta[][] = [];
  for (const m of sorted) {
    const last = threads[threads.length - 1];
    if (last && compareAsciiCasemap(last[0]!.baseSubject, m.baseSubject) === 0) last.push(m);
    else threads.push([m]);
  }
  // Threads by the sent date of their first message; the rest are its children, no deeper.
  threads.sort((a, b) => sentDate(a[0]!) - sentDate(b[0]!) || a[0]!.uid - b[0]!.uid);
  return threads.map(([first, ...rest]) => ({ uid: first!.uid, children: rest.map((m) => ({ uid: m.uid, children: [] })) }));
}

/**
 * Normalises a msg-id so that quoting does not matter (RFC 5256 §3 REFERENCES: the
 * `<"a"@b>` and `<a@b>` forms MUST be the same Message ID). Comparisons stay case-sensitive.
 */
export function normaliseMessageId(id: string): string {
  return id.replace(/^<"((?:[^"\\]|\\.)*)"@/, (_m, local: string) => `<${local.replace(/\\(.)/g, '$1')}@`);
}

/**
 * Whether the base subject extraction removed a subj-refwd, a "(fwd)" trailer or a
 * [fwd: ...] wrapper, i.e. more than white space and subj-blobs (RFC 5256 §3 REFERENCES).
 */
export function isReplyOrForward(subject: string | null): boolean {
  if (subject === null) return false;
  let s = subject.replace(/[\t\r\n]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  // Leading subj-blobs come off only while something is left (§2.1 step 5).
  for (let b = /^\[[^[\]]*\] */.exec(s); b && b[0].length < s.length && /\S/.test(s.slice(b[0].length)); b = /^\[[^[\]]*\] */.exec(s)) s = s.slice(b[0].length);
  return baseSubject(subject) !== s.trim();
}

interface Container {
  meta: MessageMeta | null;
  parent: Container | null;
  children: Container[];
}

function isAncestor(a: Container, of: Container): boolean {
  for (let p: Container | null = of; p; p = p.parent) if (p === a) return true;
  return false;
}

function unlink(c: Container): void {
  if (!c.parent) return;
  const sibs = c.parent.children;
  sibs.splice(sibs.indexOf(c), 1);
  c.parent = null;
}

function link(parent: Container, child: Container): void {
  child.parent = parent;
  parent.children.push(child);
}

// The date a container sorts by: its message's, or a dummy's first child's (§3 steps 4, 6).
function sortDate(c: Container): [number, number] {
  const m = c.meta ?? c.children[0]?.meta ?? null;
  if (m) return [sentDate(m), m.uid];
  const first = c.children[0];
  return first ? sortDate(first) : [0, 0];
}

function bySentDate(a: Container, b: Container): number {
  const [da, ua] = sortDate(a);
  const [db, ub] = sortDate(b);
  return da - db || ua - ub;
}

/** RFC 5256 §3 REFERENCES, steps 1–6. */
export function referencesThreads(metas: readonly MessageMeta[]): ThreadNode[] {
  const byId = new Map<string, Container>();
  const all: Container[] = [];
  const containerFor = (id: string): Container => {
    let c = byId.get(id);
    if (!c) {
      c = { meta: null, parent: null, children: [] };
      byId.set(id, c);
      all.push(c);
    }
    return c;
  };
  const inOrder = [...metas].sort((a, b) => a.uid - b.uid);
  for (const m of inOrder) {
    // (1A) A message without a valid Message-ID, or whose ID an earlier (lower sequence)
    // message already holds, gets a unique ID of its own.
    let self: Container;
    const id = m.messageId === null ? null : normaliseMessageId(m.messageId);
    const existing = id === null ? undefined : byId.get(id);
    if (id !== null && (!existing || existing.meta === null)) {
      self = containerFor(id);
      self.meta = m;
    } else {
      self = { meta: m, parent: null, children: [] };
      all.push(self);
    }
    // References, else the first In-Reply-To id, else none.
    const refs = (m.references.length > 0 ? m.references : m.inReplyTo.slice(0, 1)).map(normaliseMessageId);
    for (let i = 0; i + 1 < refs.length; i++) {
      const parent = containerFor(refs[i]!);
      const child = containerFor(refs[i + 1]!);
      // Keep an existing link (a truncated References header); never make a loop.
      if (child.parent || parent === child || isAncestor(child, parent)) continue;
      link(parent, child);
    }
    // (1B) The last reference is the parent, replacing any link made earlier; no references
    // means no parent. A link that would make a loop is not made, and then the existing one
    // is not broken either.
    const last = refs[refs.length - 1];
    if (last === undefined) unlink(self);
    else {
      const parent = containerFor(last);
      if (parent !== self && !isAncestor(self, parent)) {
        unlink(self);
        link(parent, self);
      }
    }
  }
  // (2) Every container without a parent is a child of the root.
  let root = all.filter((c) => c.parent === null);
  // (3) Prune dummies.
  const prune = (list: Container[], atRoot: boolean): Container[] => {
    const out: Container[] = [];
    for (const c of list) {
      c.children = prune(c.children, false);
      for (const k of c.children) k.parent = c;
      if (c.meta !== null) out.push(c);
      else if (c.children.length === 0) continue;
      else if (!atRoot || c.children.length === 1) {
        for (const k of c.children) k.parent = c.parent;
        out.push(...c.children);
      } else out.push(c);
    }
    return out;
  };
  root = prune(root, true);
  for (const c of root) c.parent = null;
  // (4) Sort the root's children by sent date (a dummy by its sorted first child).
  for (const c of root) if (c.meta === null) c.children.sort(bySentDate);
  root.sort(bySentDate);
  // (5) Gather threads with the same base subject.
  const threadSubject = (c: Container): string => (c.meta ?? c.children[0]?.meta ?? null)?.baseSubject ?? '';
  const keyOf = (s: string) => s.replace(/[a-z]/g, (ch) => ch.toUpperCase());
  const table = new Map<string, Container>();
  for (const c of root) {
    const subj = threadSubject(c);
    if (subj === '') continue;
    const k = keyOf(subj);
    const held = table.get(k);
    if (!held) table.set(k, c);
    else if (held.meta !== null && (c.meta === null || (isReplyOrForward(held.meta.subject) && !isReplyOrForward(c.meta.subject)))) table.set(k, c);
  }
  const removed = new Set<Container>();
  for (const c of [...root]) {
    if (removed.has(c)) continue;
    const subj = threadSubject(c);
    if (subj === '') continue;
    const k = keyOf(subj);
    const held = table.get(k)!;
    if (held === c) continue;
    if (held.meta === null && c.meta === null) {
      for (const kid of c.children) link(held, kid);
      c.children = [];
      removed.add(c);
    } else if (held.meta === null && c.meta !== null) {
      link(held, c);
      removed.add(c);
    } else if (c.meta !== null && isReplyOrForward(c.meta.subject) && !(held.meta !== null && isReplyOrForward(held.meta.subject))) {
      link(held, c);
      removed.add(c);
    } else {
      const dummy: Container = { meta: null, parent: null, children: [] };
      root[root.indexOf(held)] = dummy;
      link(dummy, held);
      link(dummy, c);
      removed.add(c);
      table.set(k, dummy);
    }
  }
  root = root.filter((c) => !removed.has(c));
  // (6) Sort every set of siblings by sent date, the deepest first.
  const sortDeep = (list: Container[]): void => {
    for (const c of list) sortDeep(c.children);
    list.sort(bySentDate);
  };
  sortDeep(root);
  const toNode = (c: Container): ThreadNode => ({ uid: c.meta?.uid ?? null, children: c.children.map(toNode) });
  return root.map(toNode);
}
