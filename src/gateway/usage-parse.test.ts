import { describe, expect, it } from 'vitest';
import { normalizeUsage, usageFromJsonBody, usageFromJsonBuffer } from './usage-parse.js';

describe('usage parsing', () => {
  it('normalizes chat and responses usage shapes', () => {
    expect(
      normalizeUsage({
        prompt_tokens: 10,
        completion_tokens: 20,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 8 },
      }),
    ).toEqual({ promptTokens: 10, cachedTokens: 4, completionTokens: 20, reasoningTokens: 8 });
    expect(normalizeUsage({ input_tokens: 3, output_tokens: 5, input_tokens_details: { cached_tokens: 1 } })).toEqual({
      promptTokens: 3,
      cachedTokens: 1,
      completionTokens: 5,
      reasoningTokens: 0,
    });
    expect(normalizeUsage({ prompt_tokens: 7, total_tokens: 7 })?.promptTokens).toBe(7);
    expect(normalizeUsage({ type: 'duration', seconds: 3 })).toBeNull();
    expect(normalizeUsage(null)).toBeNull();
  });

  it('finds top-level usage without being fooled by usage-like text in content', () => {
    const body = JSON.stringify({
      choices: [{ message: { content: 'the "usage": {"prompt_tokens": 999} trick' } }],
      usage: { prompt_tokens: 1, completion_tokens: 2 },
    });
    expect(usageFromJsonBody(body)).toEqual({ promptTokens: 1, cachedTokens: 0, completionTokens: 2, reasoningTokens: 0 });
  });

  it('uses the full parse when usage is not last, and returns null for non-JSON', () => {
    const body = JSON.stringify({ usage: { prompt_tokens: 4, completion_tokens: 1 }, data: [{ embedding: 'AAAA' }] });
    expect(usageFromJsonBody(body)?.promptTokens).toBe(4);
    expect(usageFromJsonBody('not json')).toBeNull();
    expect(usageFromJsonBody('{"object":"list","data":[]}')).toBeNull();
  });

  it('reads usage that is the last member, with nested details and trailing blanks, from text and from bytes', () => {
    const usage = { prompt_tokens: 9, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 2 }, completion_tokens_details: { reasoning_tokens: 1 } };
    const expected = { promptTokens: 9, cachedTokens: 2, completionTokens: 3, reasoningTokens: 1 };
    for (const tail of ['', '\n', ' \r\n\t ']) {
      const body = `${JSON.stringify({ id: 'x', choices: [{ message: { content: 'a } b {' } }], usage }, null, tail === '' ? undefined : 2)}${tail}`;
      expect(usageFromJsonBody(body)).toEqual(expected);
      expect(usageFromJsonBuffer(Buffer.from(body))).toEqual(expected);
    }
    // A brace inside a string of the usage object itself does not cut it short.
    expect(usageFromJsonBuffer(Buffer.from('{"usage":{"prompt_tokens":3,"note":"}}"}}'))?.promptTokens).toBe(3);
  });

  it('delimits usage when another member closes the body, and agrees with the full parse whatever the members\' order', () => {
    // The body ends in `}}`, but the inner brace closes another member, not the usage object.
    expect(usageFromJsonBuffer(Buffer.from('{"usage":{"prompt_tokens":4},"x":{"y":1}}'))?.promptTokens).toBe(4);
    expect(usageFromJsonBuffer(Buffer.from('{"usage":{"prompt_tokens":5},"x":{"y":{}}}'))?.promptTokens).toBe(5);
    const members: Array<[string, unknown]> = [
      ['id', 'chatcmpl-1'],
      ['choices', [{ message: { content: '"usage": {"prompt_tokens": 999} }}' } }]],
      ['usage', { prompt_tokens: 7, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 1 } }],
      ['meta', { nested: { deeper: {} } }],
    ];
    for (let rotation = 0; rotation < members.length; rotation++) {
      const ordered = [...members.slice(rotation), ...members.slice(0, rotation)];
      for (const indent of [undefined, 1]) {
        const body = JSON.stringify(Object.fromEntries(ordered), null, indent);
        const expected = normalizeUsage((JSON.parse(body) as { usage: unknown }).usage);
        expect(usageFromJsonBuffer(Buffer.from(body))).toEqual(expected);
        expect(usageFromJsonBody(body)).toEqual(expected);
      }
    }
  });
});
