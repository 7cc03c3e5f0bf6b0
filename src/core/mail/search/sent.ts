/**
 * SENTBEFORE / SENTON / SENTSINCE (RFC 9051 §6.4.4): the day of the Date header "disregarding
 * time and timezone", i.e. the calendar day as written in the header, not its UTC day. The
 * stored sent_at is an instant, so SQL settles every message whose instant is far enough from
 * the day's edges for no zone offset to matter, and the few within reach of an edge are
 * decided here from the header text. A message without a usable Date header matches none of
 * the three (and so every NOT of them).
 */
import type { SqlValue } from '../../../store/port.js';
import { dayStartMs } from './compile.js';
import type { TextScope } from './text.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
// RFC 5322 §3.3 zone = ("+" / "-") 4DIGIT: up to 99:59 away from UTC.
const MAX_ZONE_MS = 100 * HOUR_MS;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * The day (00:00 UTC of the same calendar date) written in a Date header value, or null.
 * RFC 5322 §3.3 date = day month year; §4.3 obsolete two- and three-digit years.
 */
export function writtenDayMs(date: string | null | undefined): number | null {
  if (!date) return null;
  const m = /(\d{1,2})\s+([a-z]{3})[a-z]*\.?\s+(\d{2,4})\b/i.exec(date);
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!.toLowerCase());
  if (month < 0) return null;
  let year = Number(m[3]);
  if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3]!.length === 3) year += 1900;
  const day = Number(m[1]);
  const ms = Date.UTC(year, month, day);
  const back = new Date(ms);
  if (back.getUTCDate() !== day || back.getUTCMonth() !== month) return null;
  return ms;
}

/** The calendar day of a message's Date header for SEARCH, or null when it has none. */
export function sentDayMs(sentAt: number | null, date: string | null | undefined): number | null {
  if (sentAt === null) return null;
  return writtenDayMs(date) ?? Math.floor(sentAt / DAY_MS) * DAY_MS;
}

/** Whether a day satisfies before/on/since a target day. */
export function dayMatches(dayMs: number, cmp: 'before' | 'on' | 'since', targetMs: number): boolean {
  return cmp === 'before' ? dayMs < targetMs : cmp === 'on' ? dayMs === targetMs : dayMs >= targetMs;
}

/** UIDs (ascending) of the scope's mailbox whose sent day satisfies the key. */
export async function sentUids(scope: TextScope, key: { cmp: 'before' | 'on' | 'since'; day: string }): Promise<number[]> {
  const target = dayStartMs(key.day);
  const lo = target - MAX_ZONE_MS;
  const hi = target + DAY_MS + MAX_ZONE_MS;
  const base = 'FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id WHERE mm.mailbox_id = ? AND m.sent_at IS NOT NULL';
  const restrict = scope.restrict ? ` AND (${scope.restrict.sql})` : '';
  const rParams = scope.restrict?.params ?? [];
  const out: number[] = [];
  // Certain without looking at the header: instants more than a zone offset from the edges.
  const certain =
    key.cmp === 'before' ? { sql: 'm.sent_at < ?', params: [lo] } : key.cmp === 'since' ? { sql: 'm.sent_at >= ?', params: [hi] } : null;
  if (certain) {
    const rows = await scope.q.all<{ uid: number }>(`SELECT mm.uid AS uid ${base} AND ${certain.sql}${restrict}`, [scope.mailboxId, ...certain.params, ...rParams]);
    for (const r of rows) out.push(Number(r.uid));
  }
  const dateExpr = scope.dialect === 'sqlite' ? "json_extract(m.structure, '$.envelope.date')" : "(CAST(m.structure AS jsonb) #>> '{envelope,date}')";
  const params: SqlValue[] = [scope.mailboxId, lo, hi, ...rParams];
  const rows = await scope.q.all<{ uid: number; sent_at: number; date: string | null }>(
    `SELECT mm.uid AS uid, m.sent_at AS sent_at, ${dateExpr} AS date ${base} AND m.sent_at >= ? AND m.sent_at < ?${restrict}`,
    params,
  );
  for (const r of rows) {
    const day = sentDayMs(Number(r.sent_at), r.date);
    if (day !== null && dayMatches(day, key.cmp, target)) out.push(Number(r.uid));
  }
  return out.sort((a, b) => a - b);
}
