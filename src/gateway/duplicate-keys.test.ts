import { describe, expect, it } from 'vitest';
import { findDuplicateKey } from './duplicate-keys.js';

describe('findDuplicateKey', () => {
  it('accepts ordinary bodies, including equal keys in different objects', () => {
    expect(findDuplicateKey('{"model":"a","messages":[{"role":"user","content":"x"},{"role":"user","content":"y"}]}')).toBeNull();
    expect(findDuplicateKey('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}')).toBeNull();
    expect(findDuplicateKey('[]')).toBeNull();
    expect(findDuplicateKey('{}')).toBeNull();
  });

  it('finds duplicates at the top level and at any depth', () => {
    expect(findDuplicateKey('{"model":"a","model":"b"}')).toBe('model');
    expect(findDuplicateKey('{"x":[{"y":{"max_tokens":1, "max_tokens" : 2}}]}')).toBe('max_tokens');
  });

  it('decodes escaped keys before comparing them', () => {
    expect(findDuplicateKey('{"model":"a","mod\\u0065l":"b"}')).toBe('model');
    expect(findDuplicateKey('{"a\\"b":1,"a\\u0022b":2}')).toBe('a"b');
  });

  it('is not fooled by quotes, braces and commas inside strings', () => {
    expect(findDuplicateKey('{"a":"\\",\\"a\\":1","b":"{\\"b\\":1,\\"b\\":2}"}')).toBeNull();
    expect(findDuplicateKey('{"a":"x\\\\","a":1}')).toBe('a');
    expect(findDuplicateKey('{"k":["a","k"],"k2":1}')).toBeNull();
  });

  it('stays linear on a 100k-key object and 100k-deep nesting', () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `"k${i}":${i}`);
    const wide = `{${keys.join(',')}}`;
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const started = performance.now();
    expect(findDuplicateKey(wide)).toBeNull();
    expect(findDuplicateKey(`{${keys.join(',')},"k99999":0}`)).toBe('k99999');
    expect(findDuplicateKey(deep)).toBeNull();
    expect(findDuplicateKey(`${'{"a":'.repeat(100_000)}{"z":1,"z":2}${'}'.repeat(100_000)}`)).toBe('z');
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
