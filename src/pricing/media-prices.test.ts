import { describe, expect, it } from 'vitest';
import { mediaCostOf } from './media-prices.js';

describe('mediaCostOf', () => {
  it('prices DALL·E images by quality and size, with the model defaults when the request names none', () => {
    expect(mediaCostOf('dall-e-3', { images: 1, size: '1792x1024', quality: 'hd' })).toBeCloseTo(0.12, 12);
    expect(mediaCostOf('dall-e-3', { images: 1 })).toBeCloseTo(0.04, 12);
    expect(mediaCostOf('dall-e-3', { images: 2, quality: 'standard', size: '1024x1792' })).toBeCloseTo(0.16, 12);
    expect(mediaCostOf('dall-e-2', { images: 3, size: '512x512' })).toBeCloseTo(0.054, 12);
    expect(mediaCostOf('dall-e-2', { images: 0 })).toBe(0);
  });

  it('prices a size or quality it does not know at the model highest, never lower', () => {
    expect(mediaCostOf('dall-e-2', { images: 1, size: '4096x4096' })).toBeCloseTo(0.02, 12);
    expect(mediaCostOf('dall-e-3', { images: 1, quality: 'ultra' })).toBeCloseTo(0.12, 12);
    expect(mediaCostOf('dall-e-3', { images: 1, quality: 'hd', size: '__proto__' })).toBeCloseTo(0.12, 12);
  });

  it('prices speech per character, whisper-1 per second and Sora per second by size', () => {
    expect(mediaCostOf('tts-1', { characters: 1000 })).toBeCloseTo(0.015, 12);
    expect(mediaCostOf('tts-1-hd-2024-11-01', { characters: 1_000_000 })).toBeCloseTo(30, 9);
    expect(mediaCostOf('whisper-1', { audioSeconds: 90 })).toBeCloseTo(0.009, 12);
    expect(mediaCostOf('sora-2', { videoSeconds: 4, size: '1280x720' })).toBeCloseTo(0.4, 12);
    expect(mediaCostOf('sora-2-pro', { videoSeconds: 8, size: '720x1280' })).toBeCloseTo(2.4, 12);
    expect(mediaCostOf('sora-2-pro', { videoSeconds: 8, size: '1024x1792' })).toBeCloseTo(4, 12);
    expect(mediaCostOf('sora-2-pro', { videoSeconds: 8 })).toBeCloseTo(4, 12);
  });

  it('answers null for a model or a usage it cannot price', () => {
    expect(mediaCostOf('gpt-4o-mini-tts', { characters: 10 })).toBeNull();
    expect(mediaCostOf('dall-e-9', { images: 1 })).toBeNull();
    expect(mediaCostOf('toString', { images: 1 })).toBeNull();
    expect(mediaCostOf('whisper-1', {})).toBeNull();
  });
});
