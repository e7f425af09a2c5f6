// Spend for the endpoints that are not billed by text tokens: DALL·E images (per image, by size and quality),
// classic speech (per character), whisper-1 (per second), Sora videos (per second, by size), and the models that
// bill audio or image tokens at their own rates. Before, these were recorded at $0.00 (no usage in the answer) or
// at text rates, so a stolen key making HD images or speech showed no spend and spend alerts never fired.
//
// The judge is OpenAI's list prices written out here (not the gateway's table) applied to what the fake upstream
// received and answered: the characters it was sent, the seconds of the audio it was sent, the images it returned.
import type OpenAI from 'openai';
import { toFile } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/store/index.js';
import { FAKE_PNG } from '../support/fake-openai.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

let h: Harness;
let client: OpenAI;
let keyId: string;

async function lastRecord(): Promise<UsageRecord> {
  await h.server.gateway.usage.flush();
  const records = (await h.admin<{ data: UsageRecord[] }>('GET', `/usage/records?key_id=${keyId}`)).body.data;
  return records.at(-1) as UsageRecord;
}

/** The seconds the fake bills for an upload of `bytes` (its rule: 16,000 bytes a second, at least one). */
const fakeSeconds = (bytes: number): number => Math.max(1, Math.ceil(bytes / 16000));

beforeAll(async () => {
  h = await startHarness();
  const created = await h.createKey({ name: 'media', endpoints: ['images', 'audio', 'videos'] });
  keyId = created.id;
  client = h.client(created.key);
});
afterEach(() => h.fake.reset());
afterAll(() => h.close());

describe('spend of media requests', () => {
  it('prices DALL·E images per image, by size and quality, from the images the answer holds', async () => {
    const hd = await client.images.generate({ model: 'dall-e-3', prompt: 'a lighthouse', size: '1792x1024', quality: 'hd' });
    expect(hd.data).toHaveLength(1);
    expect(await lastRecord()).toMatchObject({ endpoint: '/v1/images/generations', model: 'dall-e-3', status: 200, costUsd: 0.12, priceMissing: false });

    const standard = await client.images.generate({ model: 'dall-e-3', prompt: 'a lighthouse' });
    expect(standard.data).toHaveLength(1);
    expect((await lastRecord()).costUsd).toBeCloseTo(0.04, 12);

    const small = await client.images.generate({ model: 'dall-e-2', prompt: 'a lighthouse', size: '256x256', n: 3 });
    expect(small.data).toHaveLength(3);
    expect((await lastRecord()).costUsd).toBeCloseTo(3 * 0.016, 12);

    // A multipart edit: size and n are form fields.
    const edit = await client.images.edit({ model: 'dall-e-2', prompt: 'a hat', size: '512x512', n: 2, image: await toFile(Buffer.from(FAKE_PNG), 'cat.png', { type: 'image/png' }) });
    expect(edit.data).toHaveLength(2);
    expect(h.fake.lastRequest()?.multipart?.fields.size).toBe('512x512');
    expect(await lastRecord()).toMatchObject({ endpoint: '/v1/images/edits', priceMissing: false });
    expect((await lastRecord()).costUsd).toBeCloseTo(2 * 0.018, 12);
  });

  it('prices GPT Image tokens: text in at the text rate, image out at the image rate', async () => {
    const image = await client.images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse at dusk' });
    const usage = image.usage as NonNullable<typeof image.usage>;
    expect(usage.input_tokens_details.image_tokens).toBe(0);
    const record = await lastRecord();
    expect(record).toMatchObject({ promptTokens: usage.input_tokens, completionTokens: usage.output_tokens, priceMissing: false });
    expect(record.costUsd).toBeCloseTo((usage.input_tokens * 5 + usage.output_tokens * 40) / 1e6, 12);
  });

  it('prices classic speech per character of input, and flags token-priced speech that reports no usage', async () => {
    const input = 'Héllo, wörld — ünïcode counts characters, not bytes. 👋';
    const speech = await client.audio.speech.create({ model: 'tts-1-hd', voice: 'alloy', input });
    expect((await speech.arrayBuffer()).byteLength).toBeGreaterThan(100);
    const characters = [...input].length;
    expect(characters).toBeLessThan(Buffer.byteLength(input));
    const record = await lastRecord();
    expect(record).toMatchObject({ endpoint: '/v1/audio/speech', model: 'tts-1-hd', priceMissing: false });
    expect(record.costUsd).toBeCloseTo((characters * 30) / 1e6, 12);

    // gpt-4o-mini-tts bills tokens, which a bare audio answer does not report: unpriced, not $0.00.
    await (await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'hello' })).arrayBuffer();
    expect(await lastRecord()).toMatchObject({ model: 'gpt-4o-mini-tts', costUsd: null, priceMissing: true });
  });

  it('prices whisper-1 by the second and the GPT-4o transcribe models by audio and text tokens', async () => {
    const wav = Buffer.alloc(40_000, 7);
    await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wav, 'a.wav', { type: 'audio/wav' }) });
    const whisper = await lastRecord();
    expect(whisper).toMatchObject({ endpoint: '/v1/audio/transcriptions', model: 'whisper-1', priceMissing: false });
    expect(whisper.costUsd).toBeCloseTo((fakeSeconds(wav.length) * 0.006) / 60, 12);

    const transcript = await client.audio.transcriptions.create({ model: 'gpt-4o-transcribe', file: await toFile(wav, 'a.wav', { type: 'audio/wav' }) });
    const usage = transcript.usage;
    if (usage?.type !== 'tokens') throw new Error('expected token usage');
    const audioTokens = usage.input_token_details?.audio_tokens ?? 0;
    expect(audioTokens).toBeGreaterThan(0);
    const record = await lastRecord();
    expect(record).toMatchObject({ promptTokens: usage.input_tokens, completionTokens: usage.output_tokens, priceMissing: false });
    // Audio in at $6, any text in at $2.50, the transcript out at $10 per 1M tokens.
    expect(record.costUsd).toBeCloseTo((audioTokens * 6 + (usage.input_tokens - audioTokens) * 2.5 + usage.output_tokens * 10) / 1e6, 12);
  });

  it('prices a Sora video per second by its size, at creation and at a remix, and nothing for reading it', async () => {
    const video = await client.videos.create({ model: 'sora-2-pro', prompt: 'waves', seconds: '8', size: '1280x720' });
    expect(await lastRecord()).toMatchObject({ endpoint: '/v1/videos', model: 'sora-2-pro', priceMissing: false });
    expect((await lastRecord()).costUsd).toBeCloseTo(8 * 0.3, 12);

    await client.videos.create({ model: 'sora-2-pro', prompt: 'waves', seconds: '4', size: '1792x1024' });
    expect((await lastRecord()).costUsd).toBeCloseTo(4 * 0.5, 12);

    // The remix request names no model: it bills at its original's, which the answer names.
    const remix = await client.videos.remix(video.id, { prompt: 'at night' });
    expect(remix).toMatchObject({ model: 'sora-2-pro', seconds: '8', size: '1280x720' });
    expect(await lastRecord()).toMatchObject({ endpoint: `/v1/videos/${video.id}/remix`, priceMissing: false });
    expect((await lastRecord()).costUsd).toBeCloseTo(8 * 0.3, 12);

    await client.videos.retrieve(video.id);
    expect(await lastRecord()).toMatchObject({ costUsd: 0, priceMissing: false });
  });

  it('bills nothing for a refused media request, and flags one it cannot price', async () => {
    // The fake refuses an image request without a prompt, as OpenAI does.
    await expect(client.images.generate({ model: 'dall-e-3', size: '1024x1024' } as unknown as OpenAI.ImageGenerateParams)).rejects.toMatchObject({ status: 400 });
    expect(await lastRecord()).toMatchObject({ status: 400, costUsd: 0, priceMissing: false });

    // A model the gateway has no price for: recorded as unpriced, never as free.
    await client.images.generate({ model: 'dall-e-9', prompt: 'x' } as unknown as OpenAI.ImageGenerateParams);
    expect(await lastRecord()).toMatchObject({ model: 'dall-e-9', status: 200, costUsd: null, priceMissing: true });
  });
});
