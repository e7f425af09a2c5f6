import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('does not depend on key insertion order, at any depth', () => {
    const a = canonicalJson({ b: 1, a: { y: [1, { q: true, p: null }], x: 'é' } });
    const b = canonicalJson({ a: { x: 'é', y: [1, { p: null, q: true }] }, b: 1 });
    expect(a).toBe(b);
    expect(a).toBe('{"a":{"x":"é","y":[1,{"p":null,"q":true}]},"b":1}');
  });

  it('keeps array order and refuses non-finite numbers', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
  });
});
