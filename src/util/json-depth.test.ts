import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth } from './json-depth.js';

describe('exceedsJsonDepth', () => {
  it('measures object and array nesting', () => {
    expect(exceedsJsonDepth('{"a":[{"b":1}]}', 3)).toBe(false);
    expect(exceedsJsonDepth('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(exceedsJsonDepth('1', 0)).toBe(false);
    expect(exceedsJsonDepth('[]', 0)).toBe(true);
  });

  it('ignores brackets inside strings, including after escaped quotes and backslashes', () => {
    expect(exceedsJsonDepth(JSON.stringify({ a: '[[[[[[{{{{' }), 1)).toBe(false);
    expect(exceedsJsonDepth(JSON.stringify({ a: 'x\\"[[[[' }), 1)).toBe(false);
    expect(exceedsJsonDepth(JSON.stringify({ a: 'x\\' , b: [[1]] }), 2)).toBe(true);
  });

  it('counts depth, not the number of containers (siblings do not add up)', () => {
    const wide = JSON.stringify(Array.from({ length: 10_000 }, () => ({ a: [1] })));
    expect(exceedsJsonDepth(wide, 3)).toBe(false);
  });

  it('finds 100,000-deep nesting in linear time without recursion', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const started = performance.now();
    expect(exceedsJsonDepth(deep, 64)).toBe(true);
    expect(exceedsJsonDepth(`{"a":${'{"b":'.repeat(100_000)}1${'}'.repeat(100_001)}`, 64)).toBe(true);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
