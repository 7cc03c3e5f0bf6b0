import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommand } from './command.js';

const unit = (...parts: string[]) => ({ parts: parts.map((p) => Buffer.from(p, 'utf8')) });

describe('parseCommand', () => {
  it('parses FETCH sections, partials and modifiers', () => {
    const r = parseCommand(unit('a UID FETCH 1:*,7 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.512> BINARY.SIZE[2]) (CHANGEDSINCE 12 VANISHED)'));
    expect(r.ok).toBe(true);
    if (!r.ok || r.command.name !== 'FETCH') return;
    expect(r.command.uid).toBe(true);
    expect(r.command.set).toEqual({ kind: 'set', ranges: [[1, null], [7, 7]] });
    expect(r.command.items[1]).toMatchObject({ kind: 'body', peek: true, section: { part: [1, 2], text: 'HEADER.FIELDS', fields: ['From', 'To'] }, partial: { origin: 0, length: 512 }, label: 'BODY[1.2.HEADER.FIELDS (FROM TO)]' });
    expect(r.command.changedSince).toBe(12);
    expect(r.command.vanished).toBe(true);
  });

  it('parses STORE with UNCHANGEDSINCE', () => {
    const r = parseCommand(unit('a STORE 2 (UNCHANGEDSINCE 5) -FLAGS.SILENT (\\Seen $x)'));
    expect(r).toMatchObject({ ok: true, command: { name: 'STORE', mode: 'remove', silent: true, flags: ['\\Seen', '$x'], unchangedSince: 5 } });
  });

  it('parses a SEARCH program into a tree', () => {
    const r = parseCommand(unit('a SEARCH RETURN (COUNT) CHARSET UTF-8 OR FROM {3}', 'bob', ' NOT (SEEN LARGER 10)'));
    expect(r).toMatchObject({
      ok: true,
      command: { name: 'SEARCH', charset: 'UTF-8', returns: { count: true }, key: { op: 'or', a: { op: 'text', field: 'from', value: 'bob' }, b: { op: 'not', key: { op: 'and' } } } },
    });
  });

  it('parses LIST-EXTENDED and APPEND with a literal', () => {
    expect(parseCommand(unit('a LIST (SPECIAL-USE) "" ("*" INBOX) RETURN (STATUS (MESSAGES))'))).toMatchObject({ ok: true, command: { name: 'LIST', patterns: ['*', 'INBOX'], returns: { status: ['MESSAGES'] } } });
    const r = parseCommand(unit('a APPEND Sent (\\Seen) "01-Feb-2026 10:00:00 +0100" {5}', 'hello', ''));
    expect(r).toMatchObject({ ok: true, command: { name: 'APPEND', mailbox: 'Sent', flags: ['\\Seen'], date: Date.UTC(2026, 1, 1, 9) } });
  });

  it('refuses bad input with a reason and the tag', () => {
    expect(parseCommand(unit('a FETCH 0 FLAGS'))).toMatchObject({ ok: false, tag: 'a' });
    expect(parseCommand(unit('a SEARCH ' + '('.repeat(50) + 'ALL' + ')'.repeat(50)))).toMatchObject({ ok: false, code: 'LIMIT' });
    expect(parseCommand(unit('a LOGIN "x\ny" z'))).toMatchObject({ ok: false });
    expect(parseCommand(unit('a SELECT "Entwürfe"'), false)).toMatchObject({ ok: false });
  });

  it('never throws on any sequence of tokens (property)', () => {
    const token = fc.constantFrom('a', 'UID', 'FETCH', 'SEARCH', 'STORE', 'LIST', '(', ')', '[', ']', '"x"', '{3}', '1:*', '$', '*', 'BODY[', '<0.1>', 'NIL', 'OR', 'NOT', '\\Seen', ' ', 'RETURN', '~{2}');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 30 }), (toks) => {
        const r = parseCommand(unit(toks.join('')));
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});
