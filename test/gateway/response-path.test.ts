import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/store/index.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { startHostileUpstream, type HostileUpstream } from '../adversarial/hostile-upstream.js';

/**
 * The response path after the hot-path work: the request id is written with the answer's own headers (never set
 * early), and a streamed answer's first event reaches the client while the upstream is still holding the second.
 */
let h: Harness;
let upstream: HostileUpstream;
let key: string;
let keyId: string;

beforeAll(async () => {
  upstream = await startHostileUpstream();
  h = await startHarness({ withUpstream: false });
  const added = await h.admin('POST', '/upstreams', { name: 'hostile', provider: 'openai-compatible', base_url: upstream.url, keys: [h.upstreamKey] });
  expect(added.status).toBe(201);
  ({ key, id: keyId } = await h.createKey());
});

afterAll(async () => {
  await h.close();
  await upstream.close();
});

const REQUEST_ID = 'x-keywarden-request-id';
const messages = [{ role: 'user' as const, content: 'hi' }];

function completion(content: string): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  });
}

async function records(): Promise<UsageRecord[]> {
  await h.server.gateway.usage.flush();
  return (await h.admin<{ data: UsageRecord[] }>('GET', `/usage/records?key_id=${keyId}&limit=500`)).body.data;
}

describe('x-keywarden-request-id', () => {
  it('names the usage record on a JSON answer, and an upstream cannot forge it', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', [REQUEST_ID]: 'forged-by-upstream', 'x-request-id': 'req_up' });
      res.end(completion('hello'));
    });
    const { data, response } = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(data.choices[0]?.message.content).toBe('hello');
    const id = response.headers.get(REQUEST_ID);
    expect(id).not.toBe('forged-by-upstream');
    expect(id).not.toContain('forged');
    // The upstream's other headers still arrive.
    expect(response.headers.get('x-request-id')).toBe('req_up');
    const record = (await records()).find((r) => r.id === id);
    expect(record?.status).toBe(200);
    expect(record?.completionTokens).toBe(2);
  });

  it('is sent exactly once (no duplicate header lines) on JSON, streamed, relayed-error and gateway-error answers', async () => {
    const seen: string[] = [];
    // JSON
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion('a'));
    });
    const json = await fetch(`${h.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages }),
    });
    await json.arrayBuffer();
    // A relayed upstream error (the body is scrubbed; the id still names the record).
    upstream.handle((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', [REQUEST_ID]: 'forged' });
      res.end('{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}');
    });
    const relayed = await apiErrorOf(h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages }));
    expect(relayed.status).toBe(503);
    // A gateway-side refusal (model not JSON-valid) and an unknown key.
    const refused = await fetch(`${h.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{"model": 5}',
    });
    expect(refused.status).toBe(400);
    const unknown = await apiErrorOf(h.client('kw_notarealkeyatallnotarealkeyatall1234').models.list());
    expect(unknown.status).toBe(401);
    for (const response of [json, refused]) {
      const value = response.headers.get(REQUEST_ID);
      // fetch joins repeated header lines with ", ": a single uuid means a single line.
      expect(value).toMatch(/^[0-9a-f-]{36}$/);
      seen.push(value as string);
    }
    for (const err of [relayed, unknown]) {
      const value = err.headers?.get(REQUEST_ID) ?? null;
      expect(value).toMatch(/^[0-9a-f-]{36}$/);
      seen.push(value as string);
    }
    expect(new Set(seen).size).toBe(4);
    const stored = new Map((await records()).map((r) => [r.id, r]));
    expect(stored.get(seen[0] as string)?.status).toBe(200);
    expect(stored.get(seen[1] as string)?.status).toBe(400);
    expect(stored.get(seen[2] as string)?.status).toBe(503);
  });
});

describe('a JSON answer relayed as its bytes', () => {
  async function raw(): Promise<{ status: number; bytes: Buffer; length: string | null }> {
    const res = await fetch(`${h.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages }),
    });
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), length: res.headers.get('content-length') };
  }

  it('arrives byte for byte (multibyte text included) with a right Content-Length, and is metered', async () => {
    const body = Buffer.from(completion('héllo ☃ 𝄞 — ok'), 'utf8');
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body);
    });
    const got = await raw();
    expect(got.status).toBe(200);
    expect(got.bytes.equals(body)).toBe(true);
    expect(got.length).toBe(String(body.length));
    const { data } = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(data.choices[0]?.message.content).toBe('héllo ☃ 𝄞 — ok');
    expect((await records()).filter((r) => r.completionTokens === 2 && r.status === 200).length).toBeGreaterThanOrEqual(2);
  });

  it('never relays broken or overlong UTF-8 as is: the client gets what decoding makes of it, as before', async () => {
    // 0xc1 0xb3 is an overlong "s": a lenient decoder could read "sk-…" out of it.
    const head = Buffer.from('{"id":"c","choices":[{"message":{"content":"');
    const tail = Buffer.from('k-abc"}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}');
    const body = Buffer.concat([head, Buffer.from([0xc1, 0xb3, 0xff]), tail]);
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    const got = await raw();
    expect(got.bytes.includes(Buffer.from([0xc1, 0xb3]))).toBe(false);
    expect(got.bytes.toString('utf8')).toBe(body.toString('utf8'));
    expect(got.length).toBe(String(got.bytes.length));
  });

  it('drops a byte-order mark, as before', async () => {
    const body = Buffer.from(completion('bom'), 'utf8');
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]));
    });
    const got = await raw();
    expect(got.bytes.equals(body)).toBe(true);
  });

  it('still scrubs an echoed upstream key, exact or escaped, out of a successful JSON answer', async () => {
    const escaped = `\u0073${h.upstreamKey.slice(1)}`;
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion(`key ${h.upstreamKey} and ${escaped}`));
    });
    const got = await raw();
    const text = got.bytes.toString('utf8');
    expect(text).not.toContain(h.upstreamKey);
    expect(text).not.toContain(h.upstreamKey.slice(1));
    expect(got.length).toBe(String(got.bytes.length));
  });
});

describe('the first streamed event', () => {
  it('reaches the client while the upstream still holds the second, and the whole stream is then metered', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let secondSent = false;
    const chunk = (content: string): string =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content }, finish_reason: null }], usage: null })}\n\n`;
    upstream.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', [REQUEST_ID]: 'forged' });
      res.write(chunk('first'));
      await released;
      secondSent = true;
      res.write(chunk(' second'));
      res.write(
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
    });
    const { data: stream, response } = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }).withResponse();
    const id = response.headers.get(REQUEST_ID);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const events = stream[Symbol.asyncIterator]();
    try {
      const first = await Promise.race([
        events.next(),
        new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('the first event was held back')), 5_000)),
      ]);
      expect(secondSent).toBe(false);
      expect(first.done).toBe(false);
      if (first.done === true) return;
      expect(first.value.choices[0]?.delta.content).toBe('first');
    } finally {
      release();
    }
    const rest: string[] = [];
    for (;;) {
      const next: IteratorResult<OpenAI.Chat.Completions.ChatCompletionChunk> = await events.next();
      if (next.done === true) break;
      rest.push(next.value.choices[0]?.delta.content ?? '');
    }
    // The usage chunk the gateway asked for is hidden again; the second delta arrives.
    expect(rest).toEqual([' second']);
    const record = (await records()).find((r) => r.id === id);
    expect(record).toMatchObject({ stream: true, status: 200, promptTokens: 3, completionTokens: 2 });
  });

  it('sends the headers at once when the upstream is slow to send the first event', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    upstream.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      await released;
      res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'late' }, finish_reason: null }] })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
    try {
      // create() resolves once the response headers are in: before the upstream sent any event.
      const stream = await Promise.race([
        h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }),
        new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('headers held back')), 5_000)),
      ]);
      release();
      const contents: string[] = [];
      for await (const event of stream) contents.push(event.choices[0]?.delta.content ?? '');
      expect(contents).toEqual(['late']);
    } finally {
      release();
    }
  });

  it('is not delayed by a slow client on another request (no shared buffer holds it)', async () => {
    // Two streams at once: the first is left unread after its first event; the second still gets its first event.
    let releaseAll: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      releaseAll = resolve;
    });
    upstream.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] })}\n\n`);
      await released;
      res.end('data: [DONE]\n\n');
    });
    const client = h.client(key);
    try {
      const a = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
      const b = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
      const firstOf = async (s: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<string | undefined> => {
        for await (const event of s) return event.choices[0]?.delta.content ?? undefined;
        return undefined;
      };
      const timeout = new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('held back')), 5_000));
      expect(await Promise.race([firstOf(b), timeout])).toBe('x');
      expect(await Promise.race([firstOf(a), timeout])).toBe('x');
    } finally {
      releaseAll();
    }
  });
});
