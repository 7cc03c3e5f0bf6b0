/**
 * Date header parsing (RFC 5322 §3.3 date-time, with the obsolete forms of §4.3: two- and
 * three-digit years, alphabetic zones, comments and missing seconds) plus common breakage.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

// RFC 5322 §4.3 obs-zone; hours east of UTC.
const ZONES: Record<string, number> = {
  ut: 0, gmt: 0, utc: 0, z: 0,
  est: -5, edt: -4, cst: -6, cdt: -5, mst: -7, mdt: -6, pst: -8, pdt: -7,
};

/**
 * Parses a Date header to milliseconds since the epoch, or null. Day of week is ignored; the
 * zone defaults to UTC when absent or unknown (RFC 5322 §4.3: military zones "SHOULD all be
 * considered equivalent to -0000"). Years: 2 digits → 00–49 is 20xx, 50–99 is 19xx; 3 digits
 * → add 1900 (§4.3).
 */
export function parseDate(value: string | null | undefined): number | null {
  if (!value) return null;
  // Drop comments such as "(PDT)" and split on whitespace and commas.
  const s = value.slice(0, 200).replace(/\([^)]*\)/g, ' ').trim().toLowerCase();
  const toks = s.split(/[\s,]+/).filter((t) => t !== '');
  let day = -1;
  let month = -1;
  let year = -1;
  let h = -1;
  let mi = -1;
  let sec = 0;
  let zoneMin = 0;
  for (const t of toks) {
    let m: RegExpExecArray | null;
    if ((m = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?([+-]\d{4})?$/.exec(t)) && h < 0) {
      h = Number(m[1]);
      mi = Number(m[2]);
      sec = m[3] ? Number(m[3]) : 0;
      if (m[4]) zoneMin = zoneOffset(m[4]);
    } else if ((m = /^([+-])(\d{2})(\d{2})$/.exec(t))) {
      zoneMin = zoneOffset(t);
    } else if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
      // ISO 8601 from broken mailers: 2020-01-02[T03:04:05Z]
      const iso = Date.parse(value.trim());
      return Number.isFinite(iso) ? iso : null;
    } else if (/^\d+$/.test(t)) {
      const n = Number(t);
      if (day < 0 && t.length <= 2 && n >= 1 && n <= 31 && year < 0) day = n;
      else if (year < 0 && (month >= 0 || day >= 0)) year = t.length === 2 ? (n < 50 ? 2000 + n : 1900 + n) : t.length === 3 ? 1900 + n : n;
      else if (day < 0 && n >= 1 && n <= 31) day = n;
    } else if (/^[a-z]{3}/.test(t) && MONTHS.includes(t.slice(0, 3)) && month < 0 && !(t in ZONES)) {
      month = MONTHS.indexOf(t.slice(0, 3));
    } else if (t in ZONES) {
      zoneMin = (ZONES[t] as number) * 60;
    }
  }
  if (day < 1 || month < 0 || year < 0 || year > 9999 || h < 0) {
    if (day >= 1 && month >= 0 && year >= 0 && h < 0) h = mi = 0; // a date without a time
    else return null;
  }
  if (h > 23 || mi > 59 || sec > 60) return null;
  const d = new Date(0);
  d.setUTCFullYear(year, month, day); // unlike Date.UTC, keeps years 0–99 as written
  d.setUTCHours(h, mi, Math.min(sec, 59), 0);
  // Reject day overflow such as 31 Feb, which Date would silently roll over.
  if (d.getUTCDate() !== day) return null;
  const ms = d.getTime() - zoneMin * 60_000;
  return Number.isFinite(ms) ? ms : null;
}

function zoneOffset(z: string): number {
  const sign = z.startsWith('-') ? -1 : 1;
  const hh = Number(z.slice(1, 3));
  const mm = Number(z.slice(3, 5));
  if (hh > 23 || mm > 59) return 0;
  return sign * (hh * 60 + mm);
}
