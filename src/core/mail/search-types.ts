/**
 * The protocol-neutral search query over one mailbox, and sort criteria. IMAP SEARCH/SORT
 * (RFC 9051 §6.4.4, RFC 5256) and JMAP Email/query filters both translate into these; core
 * evaluates them once (search.ts). Message sequence numbers are an IMAP session's view and
 * never reach core: the IMAP layer turns them into UID ranges first.
 */

/** Inclusive UID range; `hi` may be Infinity for "*" taken as the largest UID. */
export type UidRange = readonly [lo: number, hi: number];

/** Where a text key looks. IMAP matches substrings, case-insensitively (RFC 9051 §6.4.4). */
export type TextField = 'body' | 'text' | 'subject' | 'from' | 'to' | 'cc' | 'bcc';

/** One search condition; a tree of them is a query. */
export type SearchKey =
  | { op: 'all' }
  | { op: 'and'; keys: readonly SearchKey[] }
  | { op: 'or'; a: SearchKey; b: SearchKey }
  | { op: 'not'; key: SearchKey }
  /** A system flag (\Seen …) or keyword is set (set = true) or not set. */
  | { op: 'flag'; flag: string; set: boolean }
  | { op: 'uid'; ranges: readonly UidRange[] }
  /** Header field contains value (substring, case-insensitive); '' = the field is present. */
  | { op: 'header'; field: string; value: string }
  | { op: 'text'; field: TextField; value: string }
  | { op: 'size'; cmp: 'larger' | 'smaller'; bytes: number }
  /**
   * Dates compare by calendar day (RFC 9051 §6.4.4: "disregarding time and timezone");
   * `internal` is INTERNALDATE, `sent` the Date header, `saved` SAVEDATE (RFC 8514).
   */
  | { op: 'date'; which: 'internal' | 'sent' | 'saved'; cmp: 'before' | 'on' | 'since'; day: string /* YYYY-MM-DD */ }
  /** RFC 5032 OLDER/YOUNGER, in seconds relative to now (INTERNALDATE). */
  | { op: 'age'; cmp: 'older' | 'younger'; seconds: number }
  /** RFC 7162 §3.1.5 MODSEQ: per-message modseq >= min. */
  | { op: 'modseq'; min: number }
  /** RFC 8474 EMAILID / THREADID. */
  | { op: 'emailid'; id: string }
  | { op: 'threadid'; id: string };

/** One SORT criterion (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO). */
export interface SortCriterion {
  key: 'arrival' | 'cc' | 'date' | 'from' | 'size' | 'subject' | 'to' | 'displayfrom' | 'displayto';
  reverse: boolean;
}

/** THREAD algorithms (RFC 5256 §3). */
export type ThreadAlgorithm = 'orderedsubject' | 'references';

/** A thread tree node: a UID (or null for a missing parent) with its children. */
export interface ThreadNode {
  uid: number | null;
  children: ThreadNode[];
}
