import { describe, expect, it } from 'vitest';
import { prependJsonFields } from './body-patch.js';

describe('prependJsonFields', () => {
  it('adds fields to an object body and keeps every original byte after them', () => {
    const original = Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hé {x}"}],"stream":true}');
    const patched = prependJsonFields(original, { max_completion_tokens: 100, stream_options: { include_usage: true } });
    expect(JSON.parse(patched.toString())).toEqual({
      max_completion_tokens: 100,
      stream_options: { include_usage: true },
      ...(JSON.parse(original.toString()) as object),
    });
    expect(patched.subarray(patched.length - original.length + 1).equals(original.subarray(1))).toBe(true);
  });

  it('handles leading whitespace and empty objects', () => {
    expect(JSON.parse(prependJsonFields(Buffer.from('  \n{ }'), { a: 1 }).toString())).toEqual({ a: 1 });
    expect(JSON.parse(prependJsonFields(Buffer.from('\t{\n "b": 2\n}'), { a: 'x"y' }).toString())).toEqual({ a: 'x"y', b: 2 });
  });

  it('refuses a body that is not an object', () => {
    expect(() => prependJsonFields(Buffer.from('[1]'), { a: 1 })).toThrow();
  });
});
