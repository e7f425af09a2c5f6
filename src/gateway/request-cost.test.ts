import { describe, expect, it } from 'vitest';
import { PriceTable } from '../pricing/price-table.js';
import { mediaRequestOf } from './media-request.js';
import { priceRequest } from './request-cost.js';
import { ZERO_TOKENS, type MeteredTokens } from './usage-parse.js';

const prices = new PriceTable();
const speech = (input: string) => mediaRequestOf('POST', 'audio', '/v1/audio/speech', { model: 'x', input }, undefined);

describe('priceRequest', () => {
  it('prices speech by characters, or by the tokens a streamed answer reports, and flags neither', () => {
    expect(priceRequest(prices, 'tts-1', 200, null, speech('abcd'), undefined)).toEqual({ costUsd: (4 * 15) / 1e6, priceMissing: false });
    const streamed: MeteredTokens = { ...ZERO_TOKENS, promptTokens: 10, completionTokens: 1000 };
    expect(priceRequest(prices, 'gpt-4o-mini-tts', 200, streamed, speech('abcd'), undefined).costUsd).toBeCloseTo((10 * 0.6 + 1000 * 12) / 1e6, 12);
    expect(priceRequest(prices, 'gpt-4o-mini-tts', 200, null, speech('abcd'), undefined)).toEqual({ costUsd: null, priceMissing: true });
  });

  it('bills nothing for a failed media request, and keeps token pricing for every other request', () => {
    expect(priceRequest(prices, 'tts-1', 400, null, speech('abcd'), 0)).toEqual({ costUsd: 0, priceMissing: false });
    expect(priceRequest(prices, 'gpt-4o-mini', 200, null, null, undefined)).toEqual({ costUsd: 0, priceMissing: false });
    expect(priceRequest(prices, 'unknown', 200, { ...ZERO_TOKENS, promptTokens: 1 }, null, undefined)).toEqual({ costUsd: null, priceMissing: true });
    // What the limiter settled stands for a request without units.
    expect(priceRequest(prices, 'gpt-4o-mini', 200, { ...ZERO_TOKENS, promptTokens: 1 }, null, 0.5)).toEqual({ costUsd: 0.5, priceMissing: false });
  });

  it('overrides a limiter settlement of $0 for units it could not see', () => {
    const images = mediaRequestOf('POST', 'images', '/v1/images/generations', { size: '256x256' }, undefined);
    expect(priceRequest(prices, 'dall-e-2', 200, { ...ZERO_TOKENS, media: { images: 2 } }, images, null).costUsd).toBeCloseTo(0.032, 12);
    expect(priceRequest(prices, 'dall-e-9', 200, { ...ZERO_TOKENS, media: { images: 2 } }, images, null)).toEqual({ costUsd: null, priceMissing: true });
  });
});

describe('mediaRequestOf', () => {
  it('recognises the billed media routes in any letter case, and nothing else', () => {
    expect(mediaRequestOf('POST', 'Images', '/v1/Images/Generations/', { quality: 'hd' }, undefined)).toEqual({
      answer: 'images',
      usage: { images: 1, size: undefined, quality: 'hd' },
      invalidParam: null,
    });
    expect(mediaRequestOf('POST', 'images', '/v1/images/edits', null, new Map([['size', '512x512'], ['n', '3']]))?.usage).toMatchObject({ size: '512x512', images: 3 });
    expect(mediaRequestOf('POST', 'videos', '/v1/videos/video_1/remix', null, undefined)).toEqual({ answer: 'video', usage: {}, invalidParam: null });
    expect(mediaRequestOf('POST', 'videos', '/v1/videos', { seconds: '8', size: '1280x720' }, undefined)?.usage).toEqual({ videoSeconds: 8, size: '1280x720' });
    expect(mediaRequestOf('POST', 'videos', '/v1/videos', {}, undefined)?.usage.videoSeconds).toBe(4);
    expect(mediaRequestOf('GET', 'videos', '/v1/videos', null, undefined)).toBeNull();
    expect(mediaRequestOf('POST', 'videos', '/v1/videos/video_1', null, undefined)).toBeNull();
    expect(mediaRequestOf('POST', 'audio', '/v1/audio/transcriptions', null, undefined)).toEqual({ answer: null, usage: {}, invalidParam: null });
    expect(mediaRequestOf('POST', 'chat', '/v1/chat/completions', { size: '1' }, undefined)).toBeNull();
    // A non-string input is not counted (the upstream refuses it).
    expect(speech(5 as unknown as string)?.usage.characters).toBeUndefined();
  });

  it('names a count that a lenient upstream would coerce: a JSON n that is not a number, a form n or seconds that is not digits', () => {
    const images = (json: Record<string, unknown> | null, form?: Map<string, string>) => mediaRequestOf('POST', 'images', '/v1/images/generations', json, form);
    for (const n of ['2', 1.5, 0, -3, true, [2]]) expect(images({ n })?.invalidParam, JSON.stringify(n)).toBe('n');
    expect(images({ n: 2 })).toMatchObject({ invalidParam: null, usage: { images: 2 } });
    for (const n of ['02', '2 ', '2.0', '', 'x']) expect(images(null, new Map([['n', n]]))?.invalidParam, n).toBe('n');
    for (const seconds of ['08', 'eight', 4.5, 0]) expect(mediaRequestOf('POST', 'videos', '/v1/videos', { seconds }, undefined)?.invalidParam).toBe('seconds');
    expect(mediaRequestOf('POST', 'videos', '/v1/videos', { seconds: 12 }, undefined)).toMatchObject({ invalidParam: null, usage: { videoSeconds: 12 } });
  });
});
