import { describe, expect, it } from 'vitest';
import { htmlToText } from './index.js';

describe('htmlToText', () => {
  it('drops tags, scripts, styles and comments; decodes entities', () => {
    const html = '<html><head><title>T</title><style>p{color:red}</style></head><body><p>Caf&eacute; &amp; <b>bar</b>&#33;&#x263A;</p><script>alert(1)</script><!-- hidden --><div>next&nbsp;line</div></body></html>';
    expect(htmlToText(html)).toBe('Café & bar!☺\nnext line');
  });

  it('survives broken markup', () => {
    expect(htmlToText('a < b and <unclosed')).toBe('a < b and');
    expect(htmlToText('<script>never closed')).toBe('');
    expect(htmlToText('x<br/>y<img src="a>b">z')).toBe('x\nyz');
    expect(htmlToText('&bogus; &#0; &#xD800;')).toBe('&bogus; \ufffd \ufffd');
  });

  it('honours the character cap', () => {
    expect(htmlToText(`<p>${'a'.repeat(1000)}</p>`, 10)).toHaveLength(10);
  });
});
