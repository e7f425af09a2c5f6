// Drives the fake with the official openai SDK: if the SDK parses every shape, the gateway's tests are
// exercising the same bytes production would send.
import OpenAI, { AzureOpenAI, toFile } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultReplyText, FAKE_PNG, fakeEmbedding, fakeSpeechAudio, fakeTranscriptText, startFakeOpenAI, type FakeOpenAI,
} from './fake-openai.js';

const KEY = 'sk-proj-TESTKEYabcdefghijklmnopqrstuvwxyz0123456789wxyz';
let fake: FakeOpenAI;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKeys: [KEY] });
  client = new OpenAI({ apiKey: KEY, baseURL: fake.url, maxRetries: 0 });
});
afterEach(() => fake.reset());
afterAll(() => fake.close());

const REPLY = defaultReplyText('gpt-4o-mini');
const REPLY_DELTAS = REPLY.split(' ').length;
const messages = [{ role: 'user' as const, content: 'Say hello to the test suite' }];

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

describe('chat completions', () => {
  it('answers JSON with a snapshot model and consistent usage', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-4o-mini-2024-07-18');
    expect(completion.choices[0]?.message.content).toBe(REPLY);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const usage = completion.usage;
    expect(usage?.completion_tokens).toBe(REPLY_DELTAS);
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + REPLY_DELTAS);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(0);
  });

  it('streams a usage chunk exactly when include_usage is requested', async () => {
    const withUsage = await collect(
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } }),
    );
    const last = withUsage.at(-1) as ChatCompletionChunk;
    expect(last.choices).toEqual([]);
    const contentChunks = withUsage.filter((c) => typeof c.choices[0]?.delta.content === 'string' && c.choices[0].delta.content !== '');
    expect(last.usage?.completion_tokens).toBe(contentChunks.length);
    expect(contentChunks.map((c) => c.choices[0]?.delta.content).join('')).toBe(REPLY);
    // OpenAI sends "usage": null on every other chunk when usage is on.
    expect(withUsage.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(withUsage[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(withUsage.at(-2)?.choices[0]?.finish_reason).toBe('stop');

    const without = await collect(await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }));
    expect(without).toHaveLength(withUsage.length - 1);
    expect(without.every((c) => c.choices.length === 1 && !('usage' in c))).toBe(true);
  });

  it('works with the SDK stream helper that rebuilds the final completion', async () => {
    const stream = client.chat.completions.stream({ model: 'gpt-4o', messages });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe(defaultReplyText('gpt-4o'));
  });

  it('honours max_completion_tokens, reasoning models and configured cached tokens', async () => {
    const cut = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_completion_tokens: 3 });
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.choices[0]?.message.content).toBe('Hello from the');

    fake.configure({ usage: { cachedTokens: 5 } });
    const reasoning = await client.chat.completions.create({ model: 'o3-mini', messages });
    expect(reasoning.usage?.completion_tokens_details?.reasoning_tokens).toBe(64);
    expect(reasoning.usage?.completion_tokens).toBe(64 + defaultReplyText('o3-mini').split(' ').length);
    expect(reasoning.usage?.prompt_tokens_details?.cached_tokens).toBe(5);
  });

  it('uses a configured reply and records what arrived', async () => {
    fake.configure({ reply: ({ body }) => `model=${String(body.model)} ok` });
    const completion = await client.chat.completions.create({ model: 'gpt-4.1', messages });
    expect(completion.choices[0]?.message.content).toBe('model=gpt-4.1 ok');
    const req = fake.lastRequest();
    expect(req?.method).toBe('POST');
    expect(req?.route).toBe('/chat/completions');
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req?.presentedKey).toBe(KEY);
    expect(req?.json).toMatchObject({ model: 'gpt-4.1', messages });
    expect(JSON.parse(req?.body.toString('utf8') ?? '')).toEqual(req?.json);
    expect(req?.outcome).toBe('completed');
    expect(req?.status).toBe(200);
  });
});

describe('legacy completions and responses', () => {
  it('answers text_completion JSON and SSE', async () => {
    const done = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' });
    expect(done.object).toBe('text_completion');
    expect(done.choices[0]?.text).toBe(defaultReplyText('gpt-3.5-turbo-instruct'));
    const chunks = await collect(
      await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi', stream: true, stream_options: { include_usage: true } }),
    );
    expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe(done.choices[0]?.text);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(done.usage?.completion_tokens);
  });

  it('answers a Response object with usage', async () => {
    const response = await client.responses.create({ model: 'gpt-4o-mini', input: 'Hello there', instructions: 'Be brief' });
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe(REPLY);
    expect(response.instructions).toBe('Be brief');
    expect(response.usage).toMatchObject({
      output_tokens: REPLY_DELTAS,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    });
    expect(response.usage?.total_tokens).toBe((response.usage?.input_tokens ?? 0) + REPLY_DELTAS);
  });

  it('streams the real event sequence ending in response.completed with usage', async () => {
    const events = await collect(await client.responses.create({ model: 'gpt-4o-mini', input: 'Hello', stream: true }));
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
    ]);
    expect(types.slice(-4)).toEqual([
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('');
    expect(text).toBe(REPLY);
    const completed = events.at(-1);
    expect(completed?.type === 'response.completed' ? completed.response.usage?.output_tokens : -1).toBe(REPLY_DELTAS);
    const raw = fake.lastRequest()?.json;
    expect(raw).toMatchObject({ stream: true });

    // The SDK's stream helper rebuilds the response from the events: it fails on malformed sequences.
    const final = await client.responses.stream({ model: 'gpt-4o-mini', input: 'Hello' }).finalResponse();
    expect(final.output_text).toBe(REPLY);
  });
});

describe('embeddings, moderations, models', () => {
  it('decodes the SDK default base64 embeddings to the same floats as the float format', async () => {
    const viaBase64 = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
    expect(fake.lastRequest()?.json).toMatchObject({ encoding_format: 'base64' });
    expect(viaBase64.data).toHaveLength(2);
    expect(viaBase64.data[0]?.embedding).toEqual(fakeEmbedding('alpha', 1536));
    expect(viaBase64.data[1]?.embedding).toEqual(fakeEmbedding('beta', 1536));
    expect(viaBase64.usage.prompt_tokens).toBe(3); // ceil(5/4) + ceil(4/4)

    const viaFloat = await client.embeddings.create({
      model: 'text-embedding-3-small', input: 'alpha', encoding_format: 'float', dimensions: 8,
    });
    expect(viaFloat.data[0]?.embedding).toEqual(fakeEmbedding('alpha', 8));
    expect(viaFloat.data[0]?.embedding).not.toEqual(fakeEmbedding('beta', 8));
  });

  it('flags moderation inputs containing the trigger word only', async () => {
    const result = await client.moderations.create({ model: 'omni-moderation-latest', input: ['have a nice day', 'I will kill it'] });
    expect(result.model).toBe('omni-moderation-2024-09-26');
    expect(result.results.map((r) => r.flagged)).toEqual([false, true]);
    expect(result.results[1]?.categories.violence).toBe(true);
    expect(result.results[1]?.categories.hate).toBe(false);
  });

  it('lists and retrieves models, 404 for unknown ones', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    for (const id of ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1', 'gpt-4.1-mini', 'o3-mini', 'text-embedding-3-small', 'dall-e-3', 'whisper-1', 'tts-1', 'omni-moderation-latest']) {
      expect(ids).toContain(id);
    }
    expect((await client.models.retrieve('gpt-4o')).owned_by).toBe('system');
    await expect(client.models.retrieve('gpt-nope')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('images, audio, files', () => {
  it('generates base64 images (gpt-image-1, with usage) and fetchable urls (dall-e-3)', async () => {
    const b64 = await client.images.generate({ model: 'gpt-image-1', prompt: 'a cat' });
    expect(Buffer.from(b64.data?.[0]?.b64_json ?? '', 'base64')).toEqual(FAKE_PNG);
    expect(b64.usage?.total_tokens).toBeGreaterThan(0);
    const url = await client.images.generate({ model: 'dall-e-3', prompt: 'a cat', n: 1 });
    const image = await fetch(url.data?.[0]?.url ?? '');
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await image.arrayBuffer())).toEqual(FAKE_PNG);
  });

  it('records the fields and file of a multipart image edit', async () => {
    const edited = await client.images.edit({
      model: 'gpt-image-1', prompt: 'add a hat', image: await toFile(FAKE_PNG, 'cat.png', { type: 'image/png' }),
    });
    expect(edited.data?.[0]?.b64_json).toBeDefined();
    const form = fake.lastRequest()?.multipart;
    expect(form?.fields).toMatchObject({ model: 'gpt-image-1', prompt: 'add a hat' });
    expect(form?.files[0]).toMatchObject({ field: 'image', filename: 'cat.png', contentType: 'image/png' });
    expect(form?.files[0]?.data).toEqual(FAKE_PNG);
  });

  it('returns speech as binary audio/mpeg', async () => {
    const speech = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello world' });
    expect(speech.headers.get('content-type')).toBe('audio/mpeg');
    expect(Buffer.from(await speech.arrayBuffer())).toEqual(fakeSpeechAudio('Hello world'));
  });

  it('transcribes a multipart upload and reports usage by model kind', async () => {
    const audio = Buffer.alloc(40_000, 7);
    const whisper = await client.audio.transcriptions.create({
      model: 'whisper-1', file: await toFile(audio, 'clip.wav', { type: 'audio/wav' }),
    });
    expect(whisper.text).toBe(fakeTranscriptText('clip.wav', audio.length));
    expect(whisper.usage).toEqual({ type: 'duration', seconds: 3 });
    expect(fake.lastRequest()?.multipart?.files[0]?.data.length).toBe(audio.length);
    const tokens = await client.audio.transcriptions.create({
      model: 'gpt-4o-transcribe', file: await toFile(audio, 'clip.wav', { type: 'audio/wav' }),
    });
    expect(tokens.usage?.type).toBe('tokens');
  });

  it('answers minimal /files and /fine_tuning/jobs shapes', async () => {
    const file = await client.files.create({ file: await toFile(Buffer.from('{"a":1}\n'), 'train.jsonl'), purpose: 'fine-tune' });
    expect(file).toMatchObject({ object: 'file', purpose: 'fine-tune', filename: 'train.jsonl', bytes: 8 });
    const job = await client.fineTuning.jobs.create({ model: 'gpt-4o-mini', training_file: file.id });
    expect(job).toMatchObject({ object: 'fine_tuning.job', status: 'validating_files', training_file: file.id });
  });
});

describe('azure-style paths', () => {
  it('routes /openai/deployments/{d}/… with the api-key header and records the deployment', async () => {
    const azure = new AzureOpenAI({
      endpoint: fake.origin, apiKey: KEY, apiVersion: '2024-10-21', deployment: 'prod-gpt4o', maxRetries: 0,
    });
    const completion = await azure.chat.completions.create({ model: 'gpt-4o', messages });
    expect(completion.choices[0]?.message.content).toBe(defaultReplyText('gpt-4o'));
    const req = fake.lastRequest();
    expect(req?.path).toBe('/openai/deployments/prod-gpt4o/chat/completions');
    expect(req?.deployment).toBe('prod-gpt4o');
    expect(req?.query.get('api-version')).toBe('2024-10-21');
    expect(req?.headers['api-key']).toBe(KEY);
    expect(req?.headers.authorization).toBeUndefined();

    const wrong = new AzureOpenAI({ endpoint: fake.origin, apiKey: 'wrong-key-000000', apiVersion: '2024-10-21', deployment: 'd', maxRetries: 0 });
    await expect(wrong.chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
