// Budgets on requests billed by the unit: DALL·E images (per image, by size and quality), classic speech (per
// character) and Sora videos (per second, by size). The reservation is the request's list price, so a request that
// would not fit is refused before it reaches the upstream, and a count a lenient upstream would coerce is refused
// outright. What cannot be priced beforehand (a transcription's length, a remix's) stays refused. The judge is the
// fake upstream's bill at list prices.
import { toFile } from 'openai';
import { describe, expect, it } from 'vitest';
import { FAKE_PNG } from '../support/fake-openai.js';
import { outcomeOf, useBudgetBench } from './budget-harness.js';

const bench = useBudgetBench();

/** A key with a budget of `usd` a day that may use the media endpoints. */
const mediaKey = (usd: number) => bench().budgetKey({ budgets: [{ usd, period: 'day' }] }, { endpoints: ['images', 'audio', 'videos'] });

/** Sends the same request until it is refused (at most `tries` times); the outcomes in order. */
async function untilRefused(send: () => Promise<unknown>, tries = 10): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < tries; i++) {
    outcomes.push(await outcomeOf(send()));
    if (outcomes.at(-1) !== 'ok') break;
  }
  return outcomes;
}

describe('adversarial budgets: requests billed by the unit', () => {
  it('reserves DALL·E images at list price and stops at the one that would not fit', async () => {
    const { client, id } = await mediaKey(0.1);
    // Two 512×512 DALL·E 2 images: $0.036 a request, so two fit in $0.10 and the third does not.
    const outcomes = await untilRefused(() => client.images.generate({ model: 'dall-e-2', prompt: 'a fox', size: '512x512', n: 2 }));
    expect(outcomes).toEqual(['ok', 'ok', '429:budget_exceeded']);
    bench().expectBilledWithinBudget(0.1);
    expect(await bench().spentOf(id)).toBeCloseTo(bench().ledger.totalUsd(), 9);
    // A multipart edit reads its count and size from the form: one 256×256 image ($0.016) still fits.
    const edit = await client.images.edit({ model: 'dall-e-2', prompt: 'a hat', n: 1, size: '256x256', image: await toFile(Buffer.from(FAKE_PNG), 'fox.png', { type: 'image/png' }) });
    expect(edit.data).toHaveLength(1);
    expect(await outcomeOf(client.images.edit({ model: 'dall-e-2', prompt: 'a hat', n: 2, size: '256x256', image: await toFile(Buffer.from(FAKE_PNG), 'fox.png', { type: 'image/png' }) }))).toBe('429:budget_exceeded');
    bench().expectBilledWithinBudget(0.1);
  });

  it('refuses an image over the budget before the upstream sees it, and prices an unlisted size at the highest', async () => {
    const { client } = await mediaKey(0.1);
    // One HD 1792×1024 DALL·E 3 image is $0.12.
    expect(await outcomeOf(client.images.generate({ model: 'dall-e-3', prompt: 'a fox', size: '1792x1024', quality: 'hd' }))).toBe('429:budget_exceeded');
    expect(bench().h.fake.requests).toHaveLength(0);
    // A size OpenAI does not list: reserved (and billed by the lenient fake) as the largest, $0.02 an image, so
    // two requests of two images fit in $0.10 and the third does not.
    const outcomes = await untilRefused(() => client.images.generate({ model: 'dall-e-2', prompt: 'a fox', n: 2, size: '4096x4096' }));
    expect(outcomes).toEqual(['ok', 'ok', '429:budget_exceeded']);
    bench().expectBilledWithinBudget(0.1);
  });

  it('refuses a count a lenient upstream would coerce, naming it, before anything is forwarded', async () => {
    const { key } = await mediaKey(10);
    for (const n of ['3', 2.5, 0, -1, true, '1e3']) {
      const res = await bench().rawPost('/v1/images/generations', key, JSON.stringify({ model: 'dall-e-2', prompt: 'a fox', n }));
      expect(res.status, `n = ${JSON.stringify(n)}`).toBe(400);
      expect(res.json.error?.param).toBe('n');
    }
    for (const seconds of ['eight', 8.5, '08', ' 8']) {
      const res = await bench().rawPost('/v1/videos', key, JSON.stringify({ model: 'sora-2', prompt: 'waves', seconds }));
      expect(res.status, `seconds = ${JSON.stringify(seconds)}`).toBe(400);
      expect(res.json.error?.param).toBe('seconds');
    }
    // A form field the same way.
    const form = new FormData();
    form.set('model', 'dall-e-2');
    form.set('prompt', 'a hat');
    form.set('n', '2 ');
    form.set('image', new Blob([Buffer.from(FAKE_PNG)], { type: 'image/png' }), 'fox.png');
    const res = await fetch(`${bench().h.server.url}/v1/images/edits`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('n');
    expect(bench().h.fake.requests).toHaveLength(0);
  });

  it('reserves speech per character of its input', async () => {
    const { client, id } = await mediaKey(0.1);
    // 1,000 characters of tts-1-hd: $0.03 a request, three fit in $0.10.
    const input = 'é'.repeat(1000);
    const outcomes = await untilRefused(async () => (await client.audio.speech.create({ model: 'tts-1-hd', voice: 'alloy', input })).arrayBuffer());
    expect(outcomes).toEqual(['ok', 'ok', 'ok', '429:budget_exceeded']);
    bench().expectBilledWithinBudget(0.1);
    expect(await bench().spentOf(id)).toBeCloseTo(bench().ledger.totalUsd(), 9);
    // The record is the characters' price, with no token estimate made up from the body's bytes.
    await bench().h.server.gateway.usage.flush();
    const records = (await bench().h.admin<{ data: Array<{ promptTokens: number; costUsd: number | null }> }>('GET', `/usage/records?key_id=${id}`)).body.data;
    const charged = records.filter((r) => r.costUsd !== 0);
    expect(charged).toHaveLength(3);
    for (const record of charged) {
      expect(record.promptTokens).toBe(0);
      expect(record.costUsd).toBeCloseTo(0.03, 12);
    }
  });

  it('reserves a video by its seconds and size, and refuses what it cannot price beforehand', async () => {
    const { client } = await mediaKey(1);
    // Sora 2 at its default 4 seconds: $0.40, so two fit in $1.
    const outcomes = await untilRefused(() => client.videos.create({ model: 'sora-2', prompt: 'waves' }));
    expect(outcomes).toEqual(['ok', 'ok', '429:budget_exceeded']);
    bench().expectBilledWithinBudget(1);
    const { client: fresh } = await mediaKey(1);
    expect(await outcomeOf(fresh.videos.create({ model: 'sora-2-pro', prompt: 'waves', seconds: '4', size: '1792x1024' }))).toBe('429:budget_exceeded');
    const video = await fresh.videos.create({ model: 'sora-2', prompt: 'waves', seconds: '4' });
    // A remix bills its original's length, which its request does not say; a transcription's length is unknown
    // until the audio is decoded. Neither can be reserved.
    const before = bench().h.fake.requests.length;
    expect(await outcomeOf(fresh.videos.remix(video.id, { prompt: 'at night' }))).toBe('403:cost_not_bounded');
    expect(await outcomeOf(fresh.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(Buffer.alloc(16_000), 'a.wav', { type: 'audio/wav' }) }))).toBe('403:cost_not_bounded');
    expect(bench().h.fake.requests).toHaveLength(before);
    bench().expectBilledWithinBudget(2);
  });
});
