/**
 * Turns the portable `?` placeholders of store SQL into PostgreSQL's numbered `$1..$n`.
 *
 * A `?` counts only outside quoted text and comments: single-quoted strings ('it''s'),
 * escape strings (E'it\'s'), dollar-quoted strings ($tag$…$tag$), quoted identifiers ("a?b"),
 * line comments (-- …) and block comments (nested, as PostgreSQL allows). Unterminated quoted
 * text runs to the end of the statement and is copied as is; the server reports the error.
 */

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** Returns sql with every `?` outside quotes and comments replaced by `$1`, `$2`, … in order. */
export function numberPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let i = 0;
  // Start of the text not yet copied to out.
  let from = 0;
  const len = sql.length;
  while (i < len) {
    const c = sql[i]!;
    if (c === '?') {
      out += sql.slice(from, i) + '$' + String(++n);
      i++;
      from = i;
    } else if (c === "'") {
      const prev = i > 0 ? sql[i - 1]! : '';
      const isEscapeString = (prev === 'E' || prev === 'e') && !(i > 1 && IDENT_CHAR.test(sql[i - 2]!));
      i = isEscapeString ? skipEscapeString(sql, i + 1) : skipQuoted(sql, i + 1, "'");
    } else if (c === '"') {
      i = skipQuoted(sql, i + 1, '"');
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i + 2);
      i = nl < 0 ? len : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      i = skipBlockComment(sql, i + 2);
    } else if (c === '$' && !(i > 0 && IDENT_CHAR.test(sql[i - 1]!))) {
      const m = DOLLAR_TAG.exec(sql.slice(i, i + 128));
      if (m) {
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? len : end + tag.length;
      } else {
        i++;
      }
    } else {
      i++;
    }
  }
  return n === 0 ? sql : out + sql.slice(from);
}

/** Index after the closing quote of a string whose quote is doubled to escape it. */
function skipQuoted(sql: string, i: number, quote: string): number {
  for (;;) {
    const end = sql.indexOf(quote, i);
    if (end < 0) return sql.length;
    if (sql[end + 1] === quote) {
      i = end + 2;
      continue;
    }
    return end + 1;
  }
}

/** Index after the closing quote of an E'…' string, where a backslash escapes any character. */
function skipEscapeString(sql: string, i: number): number {
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '\\') i += 2;
    else if (c === "'") {
      if (sql[i + 1] === "'") i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

/** Index after the end of a block comment, counting nested comments. */
function skipBlockComment(sql: string, i: number): number {
  let depth = 1;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return sql.length;
}
