import { describe, expect, it } from 'vitest';
import { frozenNumberField, prependJsonFields } from './body-patch.js';

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

  it('writes exactly the head, the members and the rest, however much whitespace comes before the brace', () => {
    for (const lead of ['', ' ', '\n\t ', ' '.repeat(5), ' '.repeat(6), ' '.repeat(7), ' '.repeat(40)]) {
      for (const rest of ['}', '"a":1}', ' "model":"m","n":2}']) {
        const patched = prependJsonFields(Buffer.from(`${lead}{${rest}`), { max_tokens: 64 });
        const members = rest.trimStart() === '}' ? '"max_tokens":64' : '"max_tokens":64,';
        expect(patched.toString()).toBe(`${lead}{${members}${rest}`);
      }
    }
  });

  it('handles leading whitespace and empty objects', () => {
    expect(JSON.parse(prependJsonFields(Buffer.from('  \n{ }'), { a: 1 }).toString())).toEqual({ a: 1 });
    expect(JSON.parse(prependJsonFields(Buffer.from('\t{\n "b": 2\n}'), { a: 'x"y' }).toString())).toEqual({ a: 'x"y', b: 2 });
  });

  it('serializes a deeply frozen field set once and still reads a mutable one every time', () => {
    const frozen = Object.freeze({ stream_options: Object.freeze({ include_usage: true }) });
    const body = Buffer.from('{"model":"m"}');
    expect(JSON.parse(prependJsonFields(body, frozen).toString())).toEqual({ stream_options: { include_usage: true }, model: 'm' });
    expect(JSON.parse(prependJsonFields(Buffer.from('{}'), frozen).toString())).toEqual({ stream_options: { include_usage: true } });
    // Shallowly frozen: its inner object can still change, so it is never remembered.
    const inner = { include_usage: true };
    const shallow = Object.freeze({ stream_options: inner });
    expect((JSON.parse(prependJsonFields(body, shallow).toString()) as { stream_options: unknown }).stream_options).toEqual({ include_usage: true });
    inner.include_usage = false;
    expect((JSON.parse(prependJsonFields(body, shallow).toString()) as { stream_options: unknown }).stream_options).toEqual({ include_usage: false });
  });

  it('writes multi-byte values whole, leaves out undefined ones, and returns the body unchanged when nothing is left', () => {
    const body = Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"日本語 🙂"}]}');
    const patched = prependJsonFields(body, { user: 'é€😀\u2028"\\', max_tokens: 7, skipped: undefined });
    expect(JSON.parse(patched.toString())).toEqual({ user: 'é€😀\u2028"\\', max_tokens: 7, ...(JSON.parse(body.toString()) as object) });
    expect(patched.toString()).not.toContain('skipped');
    expect(prependJsonFields(body, { skipped: undefined })).toBe(body);
    expect(JSON.parse(prependJsonFields(Buffer.from('{}'), { max_tokens: 1 }).toString())).toEqual({ max_tokens: 1 });
  });

  it('copies the body: the patched buffer never shares memory with the original', () => {
    const body = Buffer.from('{"a":1}');
    const patched = prependJsonFields(body, { b: 2 });
    body.fill(0x20);
    expect(JSON.parse(patched.toString())).toEqual({ b: 2, a: 1 });
  });

  it('shares one frozen set per injected cap, whose serialized bytes are reused, and keeps values apart', () => {
    const a = frozenNumberField('max_completion_tokens', 4096);
    expect(frozenNumberField('max_completion_tokens', 4096)).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => Object.assign(a, { max_completion_tokens: 1 })).toThrow();
    expect(frozenNumberField('max_completion_tokens', 17)).toEqual({ max_completion_tokens: 17 });
    expect(frozenNumberField('max_tokens', 4096)).toEqual({ max_tokens: 4096 });
    const body = Buffer.from('{"model":"m"}');
    expect(JSON.parse(prependJsonFields(body, a).toString())).toEqual({ max_completion_tokens: 4096, model: 'm' });
    expect(JSON.parse(prependJsonFields(body, frozenNumberField('max_completion_tokens', 17)).toString())).toEqual({ max_completion_tokens: 17, model: 'm' });
    // Many distinct values (a budget running low) stay bounded and still correct.
    for (let v = 0; v < 3000; v++) expect(JSON.parse(prependJsonFields(body, frozenNumberField('max_tokens', v)).toString())).toEqual({ max_tokens: v, model: 'm' });
  });

  it('refuses a body that is not an object', () => {
    expect(() => prependJsonFields(Buffer.from('[1]'), { a: 1 })).toThrow();
  });
});
