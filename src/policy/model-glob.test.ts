import { describe, expect, it } from 'vitest';
import { compileModelGlobs, matchesModelGlob } from './model-glob.js';

/** The semantics the old regex compilation had, as a reference for small cases. */
function reference(pattern: string, model: string): boolean {
  const body = [...pattern].map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 's').test(model);
}

describe('linear model globs', () => {
  it('agrees with the regex reference on every small pattern/model pair over a tiny alphabet', () => {
    const alphabet = ['a', 'b', '*', '?'];
    const patterns: string[] = [''];
    for (let len = 1; len <= 4; len++) for (const p of patterns.filter((x) => x.length === len - 1)) for (const c of alphabet) patterns.push(p + c);
    const models: string[] = [''];
    for (let len = 1; len <= 5; len++) for (const m of models.filter((x) => x.length === len - 1)) for (const c of ['a', 'b']) models.push(m + c);
    let checked = 0;
    for (const pattern of patterns) {
      for (const model of models) {
        expect(matchesModelGlob(pattern, model), `${pattern} vs ${model}`).toBe(reference(pattern, model));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });

  it('matches real model names', () => {
    const m = compileModelGlobs(['gpt-4o-mini', 'gpt-4.1*', 'o?-mini', '*-realtime-*']);
    expect(m.allows('gpt-4o-mini')).toBe(true);
    expect(m.allows('gpt-4.1-nano')).toBe(true);
    expect(m.allows('o3-mini')).toBe(true);
    expect(m.allows('gpt-4o-realtime-preview')).toBe(true);
    expect(m.allows('gpt-4o')).toBe(false);
    expect(m.allows('gpt-4x1')).toBe(false); // `.` is literal
    expect(m.allows('o3-mini-high')).toBe(false);
  });

  it('keeps prefix and suffix from overlapping', () => {
    expect(matchesModelGlob('ab*ba', 'aba')).toBe(false);
    expect(matchesModelGlob('ab*ba', 'abba')).toBe(true);
    expect(matchesModelGlob('a*b*c', 'abc')).toBe(true);
    expect(matchesModelGlob('a*b*b', 'ab')).toBe(false);
  });

  it('matches a worst-case pattern/model pair in linear time (a backtracking regex takes seconds)', () => {
    // Many `*` separated single letters against a long run that almost matches: catastrophic for `^a.*a.*…b$`.
    const pattern = `${'a*'.repeat(100)}b`;
    const model = 'a'.repeat(200_000);
    const started = performance.now();
    expect(matchesModelGlob(pattern, model)).toBe(false);
    expect(matchesModelGlob(`${'*?'.repeat(99)}*b`, model)).toBe(false);
    expect(matchesModelGlob(`*${'a'.repeat(99)}b*`, model)).toBe(false);
    const elapsed = performance.now() - started;
    // Linear work here is ~200 K × 100 character compares at most; a backtracking matcher never finishes.
    expect(elapsed).toBeLessThan(2_000);
  });
});
