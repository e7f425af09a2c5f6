import { describe, expect, it } from 'vitest';
import { normalizeUsage, usageFromJsonBody } from './usage-parse.js';

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
});
