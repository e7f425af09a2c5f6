import { describe, expect, it } from 'vitest';
import { PriceTable } from './price-table.js';

describe('PriceTable', () => {
  const table = new PriceTable({ 'my-model': { input: 1, output: 2 }, 'gpt-4o-mini': { input: 1, output: 1 } });

  it('prices input, cached input and output separately', () => {
    // gpt-4.1: 2.00 in, 0.50 cached, 8.00 out per 1M
    const cost = table.costOf('gpt-4.1', { promptTokens: 1_000_000, cachedTokens: 400_000, completionTokens: 500_000 });
    expect(cost).toBeCloseTo(0.6 * 2 + 0.4 * 0.5 + 0.5 * 8, 10);
  });

  it('bills cached tokens at the input price when no cached price exists', () => {
    expect(table.costOf('gpt-4-turbo', { promptTokens: 100, cachedTokens: 100, completionTokens: 0 })).toBeCloseTo(
      (100 * 10) / 1e6,
      12,
    );
  });

  it('falls back from a dated snapshot to its base model, but prefers an exact entry', () => {
    expect(table.priceOf('gpt-4.1-2025-04-14')).toEqual(table.priceOf('gpt-4.1'));
    expect(table.priceOf('gpt-4o-2024-05-13')).toEqual({ input: 5, output: 15 });
  });

  it('applies config overrides over the built-in table', () => {
    expect(table.priceOf('gpt-4o-mini')).toEqual({ input: 1, output: 1 });
    expect(table.costOf('my-model', { promptTokens: 1e6, cachedTokens: 0, completionTokens: 1e6 })).toBe(3);
  });

  it('returns null for unknown models and for no model', () => {
    expect(table.costOf('ft:gpt-4o-mini:acme::abc', { promptTokens: 1, cachedTokens: 0, completionTokens: 1 })).toBe(
      null,
    );
    expect(table.costOf(null, { promptTokens: 1, cachedTokens: 0, completionTokens: 1 })).toBe(null);
  });
  it('bills audio and image tokens at their own rates, inside the input and output counts', () => {
    // gpt-4o-audio-preview: text 2.50 in, 10 out; audio 40 in, 80 out per 1M.
    const audio = table.costOf('gpt-4o-audio-preview', { promptTokens: 1000, cachedTokens: 0, completionTokens: 500, audioPromptTokens: 800, audioCompletionTokens: 400 });
    expect(audio).toBeCloseTo((200 * 2.5 + 800 * 40 + 100 * 10 + 400 * 80) / 1e6, 12);
    // gpt-image-1: text 5 in, image 10 in, 40 out.
    expect(table.costOf('gpt-image-1', { promptTokens: 1000, cachedTokens: 0, completionTokens: 4160, imagePromptTokens: 600 })).toBeCloseTo(
      (400 * 5 + 600 * 10 + 4160 * 40) / 1e6,
      12,
    );
    // Cached tokens come out of the text first: cached audio is never billed below the audio rate.
    expect(table.costOf('gpt-4o-audio-preview', { promptTokens: 100, cachedTokens: 100, completionTokens: 0, audioPromptTokens: 100 })).toBeCloseTo(
      (100 * 40) / 1e6,
      12,
    );
    // A model without audio rates bills its audio tokens as text; counts above the totals are clamped.
    expect(table.costOf('gpt-4o', { promptTokens: 100, cachedTokens: 0, completionTokens: 10, audioPromptTokens: 500, audioCompletionTokens: 50 })).toBeCloseTo(
      (100 * 2.5 + 10 * 10) / 1e6,
      12,
    );
  });

  it('bills Realtime cached audio at its own rate where the usage says how much of the cache was audio', () => {
    // gpt-realtime: text 4 in, 0.40 cached, 16 out; audio 32 in, 0.40 cached, 64 out.
    const usage = { promptTokens: 1100, cachedTokens: 600, completionTokens: 300, audioPromptTokens: 1000, cachedAudioPromptTokens: 500, audioCompletionTokens: 200 };
    expect(table.costOf('gpt-realtime', usage)).toBeCloseTo((0 * 4 + 100 * 0.4 + 500 * 32 + 500 * 0.4 + 100 * 16 + 200 * 64) / 1e6, 12);
    // Without the split, the cache comes out of the text first, as before: audio at the full audio rate.
    const { cachedAudioPromptTokens: _split, ...unsplit } = usage;
    expect(table.costOf('gpt-realtime', unsplit)).toBeCloseTo((100 * 0.4 + 1000 * 32 + 100 * 16 + 200 * 64) / 1e6, 12);
    // A cached-audio count larger than the audio or the cache is clamped: never billed below the audio in the input.
    expect(table.costOf('gpt-realtime', { ...usage, cachedAudioPromptTokens: 5000 })).toBeCloseTo(table.costOf('gpt-realtime', { ...usage, cachedAudioPromptTokens: 600 }) ?? NaN, 12);
  });

  it('reserves at the highest rates of a model that prices audio or images apart', () => {
    expect(table.boundingPriceOf('gpt-4o-audio-preview')).toEqual({ input: 40, output: 80 });
    expect(table.boundingPriceOf('gpt-image-1')).toEqual({ input: 10, output: 40 });
    expect(table.boundingPriceOf('gpt-4.1')).toBe(table.priceOf('gpt-4.1'));
    expect(table.boundingPriceOf('no-such-model')).toBeNull();
  });
});
