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
    // whisper-1 bills seconds, not tokens: no token counts, the seconds kept for its price.
    expect(normalizeUsage({ type: 'duration', seconds: 3 })).toEqual({ promptTokens: 0, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0, media: { audioSeconds: 3 } });
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
  it('keeps audio and image token counts, and only when there are some', () => {
    const chat = normalizeUsage({
      prompt_tokens: 120,
      completion_tokens: 80,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 60 },
    });
    expect(chat).toEqual({ promptTokens: 120, cachedTokens: 0, completionTokens: 80, reasoningTokens: 0, audioPromptTokens: 100, audioCompletionTokens: 60 });
    // A transcription spells it input_token_details; an image answer reports image_tokens.
    expect(normalizeUsage({ type: 'tokens', input_tokens: 50, input_token_details: { text_tokens: 10, audio_tokens: 40 }, output_tokens: 7 })?.audioPromptTokens).toBe(40);
    expect(normalizeUsage({ input_tokens: 300, input_tokens_details: { text_tokens: 20, image_tokens: 280 }, output_tokens: 1056 })?.imagePromptTokens).toBe(280);
    // An ordinary answer's zero counts add no fields.
    expect(Object.keys(normalizeUsage({ prompt_tokens: 1, completion_tokens: 1, prompt_tokens_details: { audio_tokens: 0 } }) ?? {})).toEqual([
      'promptTokens',
      'cachedTokens',
      'completionTokens',
      'reasoningTokens',
    ]);
  });

  it('reads the Realtime spelling: output_token_details, and the cached audio inside the cache', () => {
    const usage = {
      total_tokens: 253, input_tokens: 132, output_tokens: 121,
      input_token_details: { text_tokens: 119, audio_tokens: 13, image_tokens: 0, cached_tokens: 64, cached_tokens_details: { text_tokens: 60, audio_tokens: 4, image_tokens: 0 } },
      output_token_details: { text_tokens: 30, audio_tokens: 91 },
    };
    expect(normalizeUsage(usage)).toEqual({
      promptTokens: 132, cachedTokens: 64, completionTokens: 121, reasoningTokens: 0, audioPromptTokens: 13, audioCompletionTokens: 91, cachedAudioPromptTokens: 4,
    });
  });

  it('reads whisper-1 seconds, and counts the units of an answer billed by the unit only when asked to', () => {
    expect(normalizeUsage({ type: 'duration', seconds: 12 })?.media).toEqual({ audioSeconds: 12 });
    expect(normalizeUsage({ type: 'duration', seconds: -1 })).toBeNull();
    expect(normalizeUsage({ type: 'seconds', seconds: 12 })).toBeNull();
    const images = JSON.stringify({ created: 1, data: [{ url: 'u' }, { url: 'v' }] });
    expect(usageFromJsonBody(images)).toBeNull();
    expect(usageFromJsonBody(images, 'images')?.media).toEqual({ images: 2 });
    expect(usageFromJsonBuffer(Buffer.from(images), 'images')?.promptTokens).toBe(0);
    const video = JSON.stringify({ id: 'video_1', object: 'video', seconds: '8', size: '1280x720' });
    expect(usageFromJsonBuffer(Buffer.from(video), 'video')?.media).toEqual({ videoSeconds: 8, size: '1280x720', model: undefined });
    expect(usageFromJsonBuffer(Buffer.from(JSON.stringify({ object: 'video', model: 'sora-2', seconds: '4' })), 'video')?.media?.model).toBe('sora-2');
    expect(usageFromJsonBuffer(Buffer.from(JSON.stringify({ object: 'video', seconds: 'many' })), 'video')).toBeNull();
    // Token usage wins over units: a GPT Image answer is priced by its tokens.
    expect(usageFromJsonBody(JSON.stringify({ data: [{}], usage: { input_tokens: 5, output_tokens: 6 } }), 'images')).toMatchObject({ promptTokens: 5, completionTokens: 6 });
  });
});
