/**
 * Golden pairs: test/fixtures/mime/<name>.eml beside <name>.json (the expected ParsedMessage).
 * Regenerate on purpose with `MIME_REGENERATE=1 npx vitest run src/mime/golden.test.ts`, then
 * review the diff by hand before committing.
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { invariantViolations, parseMessage } from './index.js';

const dir = fileURLToPath(new URL('../../test/fixtures/mime/', import.meta.url));
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.eml'))
  .map((f) => f.slice(0, -4))
  .sort();
const regenerate = process.env['MIME_REGENERATE'] === '1';

describe('golden messages', () => {
  it('has fixtures', () => {
    expect(names.length).toBeGreaterThanOrEqual(4);
  });

  it.each(names)('%s.eml parses to %s.json', (name) => {
    const raw = new Uint8Array(readFileSync(`${dir}${name}.eml`));
    const parsed = parseMessage(raw);
    expect(invariantViolations(parsed)).toEqual([]);
    const jsonPath = `${dir}${name}.json`;
    if (regenerate || !existsSync(jsonPath)) {
      writeFileSync(jsonPath, `${JSON.stringify(parsed, null, 2)}\n`);
    }
    expect(parsed).toEqual(JSON.parse(readFileSync(jsonPath, 'utf8')));
  });
});
