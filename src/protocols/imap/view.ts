/**
 * A session's view of its selected mailbox (RFC 9051 §2.3.1.2 message sequence numbers):
 * the UIDs in sequence order, the modseq it is synchronised to, and expunges waiting for a
 * moment when they may be announced (RFC 9051 §7.5.1: never during FETCH, STORE or SEARCH).
 *
 * Memory: the UID array is an immutable Uint32Array interned per mailbox and modseq in the
 * server's SnapshotCache, so sessions that agree share one array instead of copying it.
 */
import type { SeqRange, SequenceSet } from './wire/grammar.js';

/**
 * Shared UID arrays, one per mailbox (the newest seen), so idle sessions share memory. Arrays
 * are held weakly: once no session's view uses one, it is collected and its entry dropped.
 */
export class SnapshotCache {
  private readonly latest = new Map<string, { modseq: number; uids: WeakRef<Uint32Array> }>();
  private readonly cleanup = new FinalizationRegistry<string>((mailboxId) => {
    const cur = this.latest.get(mailboxId);
    if (cur && cur.uids.deref() === undefined) this.latest.delete(mailboxId);
  });

  /** Returns an equal array already held for this mailbox and modseq, or keeps this one. */
  intern(mailboxId: string, modseq: number, uids: Uint32Array): Uint32Array {
    const cur = this.latest.get(mailboxId);
    const held = cur?.uids.deref();
    if (cur && held && cur.modseq === modseq && (held === uids || (held.length === uids.length && equal(held, uids)))) return held;
    if (!cur || !held || cur.modseq <= modseq) {
      this.latest.set(mailboxId, { modseq, uids: new WeakRef(uids) });
      this.cleanup.register(uids, mailboxId);
    }
    return uids;
  }

  /** Number of mailboxes with a live shared array (for tests and metrics). */
  get size(): number {
    return this.latest.size;
  }
}

function equal(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The selected mailbox as one session sees it. */
export class MailboxView {
  /** UIDs in sequence order; index i is sequence number i + 1. Never mutated in place. */
  uids: Uint32Array;
  /** UIDs expunged in the store but not yet announced to this client. */
  readonly pendingExpunge = new Set<number>();
  /** UIDs whose flag change this session already reported (skip them once in the next sync). */
  readonly selfReported = new Map<number, number>();
  /** The SEARCHRES saved result (RFC 5182), as UIDs. */
  savedSearch: number[] = [];

  constructor(
    readonly mailboxId: string,
    readonly name: string,
    readonly isReadOnly: boolean,
    readonly uidValidity: number,
    uids: Uint32Array,
    /** The modseq the view is synchronised to. */
    public modseq: number,
    public uidNext: number,
  ) {
    this.uids = uids;
  }

  /** Number of messages the client knows of (EXISTS). */
  get exists(): number {
    return this.uids.length;
  }

  /** Sequence number of a UID, or 0. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.uids[mid]!;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** UIDs named by a sequence set (RFC 9051 §9 sequence-set), ascending; "$" is the saved result. */
  resolve(set: SequenceSet, isUid: boolean): { uids: number[]; invalid: boolean } {
    if (set.kind === 'saved') return { uids: [...this.savedSearch].filter((u) => this.seqOf(u) > 0), invalid: false };
    const n = this.uids.length;
    const out = new Set<number>();
    let invalid = false;
    if (isUid) {
      const max = n > 0 ? this.uids[n - 1]! : 0;
      for (const [a, b] of set.ranges) {
        // RFC 9051 §6.4.9: "*" is the largest UID in use; a range is inclusive either way round.
        const x = a ?? max;
        const y = b ?? max;
        const lo = Math.min(x, y);
        const hi = Math.max(x, y);
        const start = lowerBound(this.uids, lo);
        for (let i = start; i < n && this.uids[i]! <= hi; i++) out.add(this.uids[i]!);
      }
    } else {
      for (const [a, b] of set.ranges) {
        const x = a ?? n;
        const y = b ?? n;
        const lo = Math.min(x, y);
        const hi = Math.max(x, y);
        // RFC 9051 §9 seq-number: a number above EXISTS is invalid.
        if (hi > n || lo < 1) {
          invalid = true;
          continue;
        }
        for (let s = lo; s <= hi; s++) out.add(this.uids[s - 1]!);
      }
    }
    return { uids: [...out].sort((p, q) => p - q), invalid };
  }

  /** Turns a sequence set into UID ranges for core search (seq-set keys). */
  seqRangesToUidRanges(ranges: readonly SeqRange[]): Array<[number, number]> {
    const n = this.uids.length;
    const out: Array<[number, number]> = [];
    for (const [a, b] of ranges) {
      const x = a ?? n;
      const y = b ?? n;
      const lo = Math.max(1, Math.min(x, y));
      const hi = Math.min(n, Math.max(x, y));
      if (lo > hi) continue;
      out.push([this.uids[lo - 1]!, this.uids[hi - 1]!]);
    }
    return out;
  }
}

function lowerBound(a: Uint32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Whether a UID lies in a UID set as written by the client, "*" taken as unbounded (used for
 * UIDs that are no longer in the view: QRESYNC known-uids and VANISHED (EARLIER), RFC 7162 §3.2.5-3.2.6).
 */
export function uidInSet(uid: number, set: SequenceSet): boolean {
  if (set.kind === 'saved') return false;
  return set.ranges.some(([a, b]) => {
    const x = a ?? Infinity;
    const y = b ?? Infinity;
    return uid >= Math.min(x, y) && uid <= Math.max(x, y);
  });
}
