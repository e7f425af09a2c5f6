import { describe, expect, it } from 'vitest';
import { createScrubber } from './scrub.js';
import { usageFromJsonBody, usageFromJsonBuffer } from './usage-parse.js';

/**
 * The byte-for-byte relay of a JSON answer relies on two equivalences: usage read from the bytes equals usage read
 * from the decoded text, and a body the scrubber calls clean is one its text scrub would not change.
 */
const SECRET = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';

function bodies(): string[] {
  const usage = '{"prompt_tokens":11,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":2}}';
  return [
    `{"id":"c","choices":[{"message":{"content":"héllo wörld ☃ 𝄞"}}],"usage":${usage}}`,
    `{"id":"c","choices":[{"message":{"content":"é"}}],"usage" :\n {"prompt_tokens":1}}`,
    // Usage-like text inside a string, escaped and not: the top-level object decides.
    `{"choices":[{"message":{"content":"the \\"usage\\": {\\"prompt_tokens\\": 999}"}}],"usage":${usage}}`,
    `{"choices":[{"message":{"content":"x"}}],"note":"\\"usage\\":{\\"prompt_tokens\\":5}"}`,
    // Usage not last, usage not an object, no usage, broken JSON, a multibyte character right before the key.
    `{"usage":{"prompt_tokens":4,"completion_tokens":1},"data":[{"embedding":"AAAA"}]}`,
    `{"usage":null,"x":1}`,
    '{"object":"list","data":[]}',
    'not json "usage": {',
    `{"a":"€","usage":{"input_tokens":3,"output_tokens":5}}`,
    `{"a":"€"\u00e9"usage":{"prompt_tokens":2}}`,
    `{"response":{"usage":{"input_tokens":8,"output_tokens":1}}}`,
    '"usage"',
    '',
  ];
}

describe('usageFromJsonBuffer', () => {
  it('answers exactly as usageFromJsonBody on the decoded text', () => {
    for (const text of bodies()) expect(usageFromJsonBuffer(Buffer.from(text, 'utf8')), text).toEqual(usageFromJsonBody(text));
  });

  it('agrees on random mutations of real bodies (bounded fuzz)', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['"', '{', '}', ':', ' ', '\\', 'usage', '"usage"', 'é', '1', ',', 'prompt_tokens'];
    for (const base of bodies()) {
      for (let round = 0; round < 60; round++) {
        let text = base;
        for (let edits = random(4); edits >= 0; edits--) {
          const at = random(text.length + 1);
          text = text.slice(0, at) + (alphabet[random(alphabet.length)] as string) + text.slice(at + random(2));
        }
        expect(usageFromJsonBuffer(Buffer.from(text, 'utf8')), text).toEqual(usageFromJsonBody(text));
      }
    }
  });
});

describe('Scrubber.clean', () => {
  const scrub = createScrubber([SECRET]);

  it('is false for every body the text scrub would change, and true only where it changes nothing', () => {
    const samples = [
      ...bodies(),
      `{"echo":"${SECRET}"}`,
      `{"echo":"\\u0073k-proj-abcdefghijklmnopqrstuvwxyz0123456789"}`,
      `{"echo":"%73k-proj-abcdefghijklmnopqrstuvwxyz0123456789"}`,
      `{"echo":"&#115;k-proj-abcdefghijklmnopqrstuvwxyz0123456789"}`,
      `{"echo":"sk-proj-abcdefghijklmnopqrstuvwxyz012345678"}`,
      '{"path":"a\\/b"}',
    ];
    for (const text of samples) {
      const body = Buffer.from(text, 'utf8');
      if (scrub.clean(body)) expect(scrub.any(text), text).toBe(text);
      if (scrub.any(text) !== text) expect(scrub.clean(body), text).toBe(false);
    }
    expect(scrub.clean(Buffer.from(`{"echo":"${SECRET}"}`))).toBe(false);
    expect(scrub.clean(Buffer.from('{"ok":"plain"}'))).toBe(true);
  });
});
