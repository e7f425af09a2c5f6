// The fake's fault injection, checked through the official SDK: each behavior must surface as the error
// class (or timing) a real upstream failure would, or the gateway's failure tests prove nothing.
import { request } from 'node:http';
import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { closedPortUrl, leakKeyBehavior, maskKey, startFakeOpenAI, type FakeOpenAI } from './fake-openai.js';

const KEY = 'sk-proj-FAULTSabcdefghijklmnopqrstuvwxyz0123456789abcd';
const WRONG = 'sk-proj-WRONGKEYzyxwvutsrqponmlkjihgfedcba9876543210wxyz';
let fake: FakeOpenAI;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKeys: [KEY] });
  client = new OpenAI({ apiKey: KEY, baseURL: fake.url, maxRetries: 0 });
});
afterEach(() => fake.reset());
afterAll(() => fake.close());

const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };
const post = (path: string, init: RequestInit = {}) =>
  fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, ...init });

describe('auth', () => {
  it('answers 401 echoing the masked key, like OpenAI', async () => {
    const wrong = new OpenAI({ apiKey: WRONG, baseURL: fake.url, maxRetries: 0 });
    const err = await wrong.chat.completions.create(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const auth = err as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(auth.code).toBe('invalid_api_key');
    expect(auth.message).toContain(`Incorrect API key provided: ${maskKey(WRONG)}.`);
    expect(maskKey(WRONG)).toMatch(/^sk-proj-\*+wxyz$/);
    expect(auth.message).not.toContain(WRONG);
  });

  it('echoes the full key when keyEcho is full, and on a leakKey behavior even for a valid key', async () => {
    fake.configure({ keyEcho: 'full' });
    const wrong = new OpenAI({ apiKey: WRONG, baseURL: fake.url, maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toThrow(WRONG);

    fake.queueBehavior(leakKeyBehavior(400));
    const err = await client.chat.completions.create(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain(KEY);
  });

  it('answers 401 without an Authorization header, and 404 in OpenAI shape for unknown routes', async () => {
    const missing = await post('/chat/completions', { body: JSON.stringify(body) });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { type: 'invalid_request_error', code: null } });
    const unknown = await post('/nope', { headers: { authorization: `Bearer ${KEY}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: { message: 'Invalid URL (POST /v1/nope)', type: 'invalid_request_error', param: null, code: null },
    });
  });
});

describe('error behaviors', () => {
  it('maps statuses to the SDK error classes, one-shot via queueBehavior', async () => {
    fake.queueBehavior({ type: 'error', status: 500 }, { type: 'error', status: 429, headers: { 'retry-after': '7' } });
    await expect(client.chat.completions.create(body)).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    const limited = await client.chat.completions.create(body).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('7');
    // The queue is spent: the next request succeeds.
    expect((await client.chat.completions.create(body)).object).toBe('chat.completion');
  });

  it('keeps a setBehavior error until reset, for streams too', async () => {
    fake.setBehavior({ type: 'error', status: 503 });
    await expect(client.chat.completions.create({ ...body, stream: true })).rejects.toMatchObject({ status: 503 });
    await expect(client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).rejects.toMatchObject({ status: 503 });
    fake.reset();
    await expect(client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).resolves.toBeDefined();
  });

  it('serves an HTML WAF page as a 403', async () => {
    fake.queueBehavior({ type: 'html' });
    const err = await client.chat.completions.create(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).error).toBeUndefined();
    expect((err as Error).message).toContain('Attention Required! | Cloudflare');
  });

  it('rejects stream_options on a non-streamed request and bad JSON, as OpenAI does', async () => {
    await expect(client.chat.completions.create({ ...body, stream_options: { include_usage: true } }))
      .rejects.toMatchObject({ status: 400, param: 'stream_options' });
    const bad = await post('/chat/completions', { headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{"model":' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('could not parse the JSON body');
  });
});

describe('connection faults and timing', () => {
  it('delays headers by delayMs', async () => {
    fake.queueBehavior({ type: 'ok', delayMs: 150 });
    const started = performance.now();
    await client.chat.completions.create(body);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('hangs until the client times out, and records the abort', async () => {
    fake.queueBehavior({ type: 'hang' });
    const impatient = new OpenAI({ apiKey: KEY, baseURL: fake.url, maxRetries: 0, timeout: 200 });
    await expect(impatient.chat.completions.create(body)).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    await vi.waitFor(() => expect(fake.lastRequest()?.outcome).toBe('aborted'));
    expect(fake.lastRequest()?.status).toBeUndefined();
  });

  it('drops the connection, and a closed port refuses it', async () => {
    fake.queueBehavior({ type: 'drop' });
    await expect(client.chat.completions.create(body)).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    const nowhere = new OpenAI({ apiKey: KEY, baseURL: await closedPortUrl(), maxRetries: 0 });
    await expect(nowhere.models.list()).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('cuts a stream after N chunks: iteration throws and no usage chunk arrives', async () => {
    fake.queueBehavior({ type: 'ok', cutAfterChunks: 3 });
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    const received: ChatCompletionChunk[] = [];
    await expect((async () => { for await (const c of stream) received.push(c); })()).rejects.toThrow();
    expect(received).toHaveLength(3);
    expect(received.some((c) => c.usage !== null)).toBe(false);
    await vi.waitFor(() => expect(fake.lastRequest()?.outcome).toBe('aborted'));
  });

  it('omits the usage chunk on request, ending the stream normally', async () => {
    fake.queueBehavior({ type: 'ok', omitUsage: true });
    const chunks: ChatCompletionChunk[] = [];
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    for await (const c of stream) chunks.push(c);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.every((c) => c.usage === undefined)).toBe(true);
  });

  it('paces streams with chunkDelayMs: the first chunk comes early', async () => {
    fake.queueBehavior({ type: 'ok', chunkDelayMs: 30 });
    const started = performance.now();
    const arrivals: number[] = [];
    const stream = await client.chat.completions.create({ ...body, stream: true });
    for await (const _chunk of stream) arrivals.push(performance.now() - started);
    // 11 chunks + [DONE] means 11 gaps of 30 ms after the first frame.
    expect(arrivals).toHaveLength(11);
    expect(arrivals.at(-1)).toBeGreaterThanOrEqual(280);
    expect(arrivals[0]).toBeLessThan((arrivals.at(-1) ?? 0) / 2);
  });
});

describe('recording', () => {
  it('keeps raw headers exactly as sent, including hop-by-hop ones', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${fake.url}/models`, {
        // The array form sends exactly these headers, so Host must be given (Node's server requires it).
        headers: [
          'Host', `127.0.0.1:${fake.port}`, 'Authorization', `Bearer ${KEY}`, 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5',
          'TE', 'trailers', 'Proxy-Authorization', 'Basic Zm9vOmJhcg==', 'X-Dup', 'a', 'X-Dup', 'b',
        ],
      }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    const req = fake.lastRequest();
    expect(req?.method).toBe('GET');
    expect(req?.rawHeaders).toEqual(expect.arrayContaining(['TE', 'trailers', 'Proxy-Authorization', 'Keep-Alive']));
    expect(req?.rawHeaders.filter((h) => h === 'X-Dup')).toHaveLength(2);
    expect(req?.headers['x-dup']).toBe('a, b');
  });

  it('counts but does not record when record is false', async () => {
    const quiet = await startFakeOpenAI({ record: false });
    try {
      const c = new OpenAI({ apiKey: 'anything', baseURL: quiet.url, maxRetries: 0 });
      await c.chat.completions.create(body);
      await c.models.list();
      expect(quiet.requestCount).toBe(2);
      expect(quiet.requests).toHaveLength(0);
    } finally {
      await quiet.close();
    }
  });
});
