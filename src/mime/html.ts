/**
 * HTML to plain text for search and preview. Not a renderer: a linear scan that drops tags,
 * comments, and the content of script, style, head and similar elements, turns block ends into
 * line breaks and decodes character references (a common subset of the HTML named ones).
 */

const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', copy: '©', reg: '®', trade: '™',
  hellip: '…', mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', laquo: '«',
  raquo: '»', bull: '•', middot: '·', euro: '€', pound: '£', yen: '¥', cent: '¢', sect: '§', deg: '°',
  plusmn: '±', times: '×', divide: '÷', para: '¶', shy: '', zwnj: '', zwj: '', thinsp: ' ', ensp: ' ',
  emsp: ' ', iexcl: '¡', iquest: '¿', auml: 'ä', ouml: 'ö', uuml: 'ü', Auml: 'Ä', Ouml: 'Ö', Uuml: 'Ü',
  szlig: 'ß', eacute: 'é', egrave: 'è', ecirc: 'ê', aacute: 'á', agrave: 'à', acirc: 'â', iacute: 'í',
  oacute: 'ó', uacute: 'ú', ntilde: 'ñ', ccedil: 'ç', Eacute: 'É', aring: 'å', Aring: 'Å', oslash: 'ø',
  Oslash: 'Ø', aelig: 'æ', AElig: 'Æ', rarr: '→', larr: '←', hearts: '♥',
};

// Elements whose text is not content a reader sees.
const SKIP = new Set(['script', 'style', 'head', 'title', 'template', 'noscript', 'svg', 'object']);
const BLOCK = new Set([
  'p', 'div', 'br', 'tr', 'li', 'ul', 'ol', 'table', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote',
  'pre', 'hr', 'section', 'article', 'header', 'footer', 'td', 'th', 'dd', 'dt', 'center',
]);

/** Decodes HTML character references (numeric, and the named ones listed above). */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') === -1) return s;
  return s.replace(/&(#[xX][0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});?/g, (all, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
      return String.fromCodePoint(cp);
    }
    const v = NAMED[ref];
    return v === undefined ? all : v;
  });
}

/** Reduces HTML to readable text; stops once `maxChars` characters of text have been produced. */
export function htmlToText(html: string, maxChars = Infinity): string {
  let out = '';
  let i = 0;
  const n = html.length;
  while (i < n && out.length < maxChars) {
    const lt = html.indexOf('<', i);
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i) out += decodeEntities(html.slice(i, textEnd));
    if (lt === -1) break;
    i = lt;
    if (html.startsWith('<!--', i)) {
      const close = html.indexOf('-->', i + 4);
      i = close === -1 ? n : close + 3;
      continue;
    }
    const m = /^<\/?([a-zA-Z][a-zA-Z0-9:-]*)/.exec(html.slice(i, i + 64));
    if (!m && html[i + 1] !== '!' && html[i + 1] !== '?') {
      out += '<'; // a lone "<" in text
      i++;
      continue;
    }
    const gt = findTagEnd(html, i + 1);
    const name = (m?.[1] ?? '').toLowerCase();
    const isClosing = html[i + 1] === '/';
    i = gt;
    if (!isClosing && SKIP.has(name) && html[gt - 2] !== '/') {
      const closeTag = new RegExp(`</${name}`, 'ig');
      closeTag.lastIndex = i;
      const close = closeTag.exec(html);
      i = close ? findTagEnd(html, close.index + 1) : n;
      continue;
    }
    // Block elements break lines; inline ones (b, span, a, ...) join their text as written.
    if (BLOCK.has(name)) out += name === 'td' || name === 'th' ? ' ' : '\n';
  }
  return out
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/ *\n[ \n]*/g, '\n')
    .trim()
    .slice(0, maxChars);
}

function findTagEnd(html: string, from: number): number {
  // Quoted attribute values may contain ">".
  let quote = '';
  for (let k = from; k < html.length; k++) {
    const c = html[k];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return k + 1;
  }
  return html.length;
}
