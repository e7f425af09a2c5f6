import type OpenAI from 'openai';
import { toFile } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/store/index.js';
import { FAKE_PNG } from '../support/fake-openai.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

let h: Harness;
let client: OpenAI;
let keyId: string;

type UsageRow = UsageRecord;

async function usageRecords(): Promise<UsageRow[]> {
  await h.server.gateway.usage.flush();
  return (await h.admin<{ data: UsageRow[] }>('GET', `/usage/records?key_id=${keyId}`)).body.data;
}

beforeAll(async () => {
  h = await startHarness();
  const created = await h.createKey({ name: 'proxy' });
  keyId = created.id;
  client = h.client(created.key);
});
afterEach(() => h.fake.reset());
afterAll(() => h.close());

describe('proxying with the official SDK', () => {
  it('relays a chat completion, swaps credentials and records usage with cost', async () => {
    const before = (await usageRecords()).length;
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toBeTruthy();
    const upstreamSaw = h.fake.lastRequest();
    expect(upstreamSaw?.headers.authorization).toBe(`Bearer ${h.upstreamKey}`);
    expect(JSON.stringify(upstreamSaw?.headers)).not.toContain('kw_');
    const records = await usageRecords();
    expect(records).toHaveLength(before + 1);
    const record = records.at(-1) as UsageRow;
    expect(record).toMatchObject({
      endpoint: '/v1/chat/completions',
      model: 'gpt-4o-mini',
      status: 200,
      stream: false,
      promptTokens: completion.usage?.prompt_tokens,
      completionTokens: completion.usage?.completion_tokens,
      priceMissing: false,
      clientIp: '127.0.0.1',
    });
    const expected = ((completion.usage?.prompt_tokens ?? 0) * 0.15 + (completion.usage?.completion_tokens ?? 0) * 0.6) / 1e6;
    expect(record.costUsd).toBeCloseTo(expected, 12);
  });

  it('streams chat chunk by chunk, injecting include_usage upstream and hiding the usage chunk from the client', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
    expect((h.fake.lastRequest()?.json as { stream_options?: unknown } | undefined)?.stream_options).toEqual({ include_usage: true });
    const record = (await usageRecords()).at(-1) as UsageRow;
    expect(record.stream).toBe(true);
    expect(record.completionTokens).toBeGreaterThan(0);
    expect(record.promptTokens).toBeGreaterThan(0);
  });

  it('keeps the usage chunk when the client asked for it', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    const record = (await usageRecords()).at(-1) as UsageRow;
    expect(record.completionTokens).toBe(usage?.completion_tokens);
  });

  it('delivers stream chunks before the upstream has finished (no buffering)', async () => {
    h.fake.setBehavior({ type: 'ok', chunkDelayMs: 150 });
    const started = Date.now();
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let firstAt = 0;
    let count = 0;
    for await (const _chunk of stream) {
      if (count++ === 0) firstAt = Date.now() - started;
    }
    const total = Date.now() - started;
    expect(count).toBeGreaterThan(3);
    // The first chunk arrives while the rest are still being produced, at least three delays before the end.
    expect(total - firstAt).toBeGreaterThanOrEqual(3 * 150 - 50);
  });

  it('relays the Responses API, JSON and streamed, with usage', async () => {
    const response = await client.responses.create({ model: 'gpt-4.1-mini', input: 'hello' });
    expect(response.object).toBe('response');
    let record = (await usageRecords()).at(-1) as UsageRow;
    expect(record).toMatchObject({ endpoint: '/v1/responses', promptTokens: response.usage?.input_tokens, completionTokens: response.usage?.output_tokens });

    const stream = await client.responses.create({ model: 'gpt-4.1-mini', input: 'hello', stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toContain('response.output_text.delta');
    expect(types.at(-1)).toBe('response.completed');
    record = (await usageRecords()).at(-1) as UsageRow;
    expect(record.stream).toBe(true);
    expect(record.completionTokens).toBeGreaterThan(0);
  });

  it('relays legacy completions, embeddings (SDK base64 path) and moderations', async () => {
    const legacy = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'say hi' });
    expect(legacy.object).toBe('text_completion');
    const embedding = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world' });
    expect(embedding.data[0]?.embedding.length).toBeGreaterThan(10);
    expect(embedding.data[0]?.embedding.every((x) => Number.isFinite(x))).toBe(true);
    const moderation = await client.moderations.create({ model: 'omni-moderation-latest', input: 'hello' });
    expect(moderation.results).toHaveLength(1);
    const records = await usageRecords();
    expect(records.some((r) => r.endpoint === '/v1/embeddings' && r.promptTokens > 0 && r.costUsd !== null)).toBe(true);
  });

  it('relays images (JSON and multipart upload) and audio (binary out, multipart in)', async () => {
    const generated = await client.images.generate({ model: 'gpt-image-1', prompt: 'a cat' });
    expect(generated.data?.length).toBeGreaterThan(0);

    const edit = await client.images.edit({ model: 'gpt-image-1', prompt: 'hat', image: await toFile(Buffer.from(FAKE_PNG), 'cat.png', { type: 'image/png' }) });
    expect(edit.data?.length).toBeGreaterThan(0);
    const editSeen = h.fake.lastRequest();
    expect(editSeen?.multipart?.fields.model).toBe('gpt-image-1');
    expect(editSeen?.multipart?.files[0]?.data.equals(Buffer.from(FAKE_PNG))).toBe(true);

    const speech = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hello' });
    const audio = Buffer.from(await speech.arrayBuffer());
    expect(speech.headers.get('content-type')).toBe('audio/mpeg');
    expect(audio.length).toBeGreaterThan(100);

    const wav = Buffer.alloc(4000, 7);
    const transcript = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wav, 'a.wav', { type: 'audio/wav' }) });
    expect(typeof transcript.text).toBe('string');
    expect(h.fake.lastRequest()?.multipart?.files[0]?.data.equals(wav)).toBe(true);
  });

  it('flags a model missing from the price table with cost null but keeps its tokens', async () => {
    await client.chat.completions.create({ model: 'my-custom-model', messages: [{ role: 'user', content: 'x' }] });
    const record = (await usageRecords()).at(-1) as UsageRow;
    expect(record.model).toBe('my-custom-model');
    expect(record.promptTokens).toBeGreaterThan(0);
    expect(record.costUsd).toBeNull();
    expect(record.priceMissing).toBe(true);
    expect(h.logs()).toContain('no price for model');
  });
});
