import { describe, expect, it } from 'vitest';
import { MailboxView, SnapshotCache, uidInSet } from './view.js';

const view = (uids: number[]) => new MailboxView('m1', 'INBOX', false, 1, Uint32Array.from(uids), 10, 100);

describe('MailboxView', () => {
  it('maps sequence sets and UID sets (RFC 9051 §9 sequence-set)', () => {
    const v = view([3, 5, 9, 12]);
    expect(v.resolve({ kind: 'set', ranges: [[2, null]] }, false)).toEqual({ uids: [5, 9, 12], invalid: false });
    expect(v.resolve({ kind: 'set', ranges: [[5, 1]] }, false).invalid).toBe(true);
    expect(v.resolve({ kind: 'set', ranges: [[4, 10]] }, true).uids).toEqual([5, 9]);
    // "*" in a UID set is the largest UID, and a reversed range is the same range.
    expect(v.resolve({ kind: 'set', ranges: [[null, 10]] }, true).uids).toEqual([12]);
    expect(v.seqOf(9)).toBe(3);
    expect(v.seqOf(4)).toBe(0);
    expect(v.seqRangesToUidRanges([[2, 3]])).toEqual([[5, 9]]);
  });

  it('shares one UID array between sessions at the same modseq', () => {
    const cache = new SnapshotCache();
    const a = cache.intern('m1', 7, Uint32Array.from([1, 2, 3]));
    const b = cache.intern('m1', 7, Uint32Array.from([1, 2, 3]));
    expect(b).toBe(a);
    const c = cache.intern('m1', 7, Uint32Array.from([1, 2]));
    expect(c).not.toBe(a);
  });

  it('tests UIDs against a client set with "*" unbounded', () => {
    expect(uidInSet(50, { kind: 'set', ranges: [[10, null]] })).toBe(true);
    expect(uidInSet(5, { kind: 'set', ranges: [[10, null]] })).toBe(false);
  });
});
