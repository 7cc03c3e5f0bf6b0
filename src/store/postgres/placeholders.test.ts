import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { numberPlaceholders } from './placeholders.js';

describe('numberPlaceholders', () => {
  it('numbers placeholders in order', () => {
    expect(numberPlaceholders('SELECT * FROM t WHERE a = ? AND b IN (?, ?)')).toBe('SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)');
  });

  it('leaves statements without placeholders unchanged', () => {
    expect(numberPlaceholders('SELECT 1')).toBe('SELECT 1');
  });

  it('skips question marks in strings, identifiers and comments', () => {
    expect(numberPlaceholders("SELECT 'a?''?' , \"c?\"\"?\" , ? -- x?\n, ? /* y? /* z? */ ? */ , ?")).toBe(
      "SELECT 'a?''?' , \"c?\"\"?\" , $1 -- x?\n, $2 /* y? /* z? */ ? */ , $3",
    );
  });

  it('skips escape strings and dollar-quoted strings', () => {
    expect(numberPlaceholders("SELECT E'\\'?', $$?$$, $tag$ ? $$ ? $tag$, ?")).toBe("SELECT E'\\'?', $$?$$, $tag$ ? $$ ? $tag$, $1");
  });

  it('does not take a word ending in e before a quote for an escape string', () => {
    expect(numberPlaceholders("SELECT some'\\', ?")).toBe("SELECT some'\\', $1");
  });

  it('does not take numbered parameters or $ inside identifiers for dollar quotes', () => {
    expect(numberPlaceholders('SELECT a$b$, ?, $1')).toBe('SELECT a$b$, $1, $1');
  });

  it('copies unterminated quoted text as is', () => {
    expect(numberPlaceholders("SELECT ?, 'open ?")).toBe("SELECT $1, 'open ?");
  });

  // A model: SQL built from tokens, where only bare `?` tokens are placeholders. Tokens are
  // joined by spaces, as two quoted strings that touch ('a''b') are one string to the server.
  const plain = fc.stringMatching(/^[A-Za-z0-9 ,=()*<>+.\n]{0,12}$/).map((s) => ` ${s} `);
  const inner = fc.string({ maxLength: 10, unit: fc.constantFrom('?', 'a', ' ', "'", '"', '-', '*', '/', '$', '\\', '\n') });
  const quoted = fc.oneof(
    inner.map((s) => `'${s.replace(/'/g, "''")}'`),
    inner.map((s) => ` E'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`),
    inner.map((s) => `"${s.replace(/"/g, '""')}"`),
    inner.map((s) => `-- ${s.replace(/\n/g, ' ')}\n`),
    inner.map((s) => `/* ${s.replace(/\*\//g, '* /').replace(/\/\*/g, '/ *')} */`),
    inner.map((s) => ` $q$${s.replace(/\$q\$/g, '')}$q$`),
  );
  const token = fc.oneof(
    { arbitrary: fc.constant({ text: '?', isParam: true }), weight: 2 },
    { arbitrary: plain.map((text) => ({ text, isParam: false })), weight: 2 },
    { arbitrary: quoted.map((text) => ({ text, isParam: false })), weight: 3 },
  );

  it('replaces exactly the bare question marks, in order, and nothing else', () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 25 }), (tokens) => {
        let n = 0;
        const expected = tokens.map((t) => (t.isParam ? `$${++n}` : t.text)).join(' ');
        expect(numberPlaceholders(tokens.map((t) => t.text).join(' '))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('never changes the text when there is no question mark at all', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const text = s.replace(/\?/g, '');
        expect(numberPlaceholders(text)).toBe(text);
      }),
    );
  });
});
