/**
 * The case folding of search (src/core/mail/search/fold.ts) and its agreement with the
 * indexes: every case class that fold.ts trusts the index with must be folded to one value by
 * the bundled SQLite's FTS5 trigram tokenizer, or an index lookup could drop a true match.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { caseClasses, foldCase, foldChar, indexSegments, isFtsSafe, isTrustedTarget } from '../src/core/mail/search/fold.js';

describe('search folding', () => {
  it('foldCase equals the per-code-point simple fold, in every context', () => {
    for (let cp = 0; cp <= 0x1ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const slow = (s: string) => [...s].map(foldChar).join('');
      for (const s of [c, `a${c}`, `${c} b`, `Σ${c}Σ`, `x${c}İ`]) {
        if (foldCase(s) !== slow(s)) throw new Error(`foldCase differs for U+${cp.toString(16)} in ${JSON.stringify(s)}`);
      }
    }
  });

  it('folds Unicode case one code point at a time', () => {
    expect(foldCase('ÉTÉ')).toBe('été');
    expect(foldCase('ΚΟΣΜΟΣ')).toBe('κοσμοσ');
    expect(foldCase('İSTANBUL')).toBe('İstanbul');
    expect(foldCase('ПРИВЕТ')).toBe('привет');
    expect(foldCase('STRASSE')).toBe('strasse');
  });

  it('cuts a needle at characters the index is not trusted with', () => {
    expect(indexSegments('abcⴀdef', isFtsSafe)).toEqual(['abc', 'def']);
    expect(indexSegments('a\u0000bc', isFtsSafe)).toEqual(['a', 'bc']);
    expect(indexSegments('привет мир', isFtsSafe)).toEqual(['привет мир']);
    expect(indexSegments('κόσμος', isFtsSafe)).toEqual(['κόσμος']);
    expect(indexSegments('abƛcd', isFtsSafe)).toEqual(['ab', 'cd']);
    expect(indexSegments('日本語', isFtsSafe)).toEqual(['日本語']);
  });

  it('the bundled SQLite FTS5 trigram tokenizer folds every trusted class to one value', () => {
    const db = new Database(':memory:');
    db.exec("CREATE VIRTUAL TABLE f USING fts5(a, tokenize='trigram')");
    db.exec("CREATE VIRTUAL TABLE v USING fts5vocab(f, 'instance')");
    const members: string[] = [];
    const owner: string[] = [];
    for (const [target, cls] of caseClasses()) {
      if (!isTrustedTarget(target)) continue;
      for (const c of cls) {
        members.push(c);
        owner.push(target);
      }
    }
    const ins = db.prepare('INSERT INTO f (rowid, a) VALUES (?, ?)');
    db.transaction(() => members.forEach((c, i) => ins.run(i + 1, c + c + c)))();
    const ftsFold = new Map<number, string>();
    for (const r of db.prepare('SELECT doc, term FROM v').all() as Array<{ doc: number; term: string }>) ftsFold.set(r.doc, [...r.term][0]!);
    const byClass = new Map<string, Set<string>>();
    members.forEach((c, i) => {
      const set = byClass.get(owner[i]!) ?? new Set<string>();
      set.add(ftsFold.get(i + 1) ?? `missing:${c}`);
      byClass.set(owner[i]!, set);
    });
    const split = [...byClass].filter(([, s]) => s.size > 1).map(([t, s]) => `${t}: ${[...s].join(',')}`);
    expect(split).toEqual([]);
    expect(byClass.size).toBeGreaterThan(300);
    db.close();
  });
});
