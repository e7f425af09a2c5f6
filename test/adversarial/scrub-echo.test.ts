import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { ServerResponse } from 'node:http';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { decodedForms, startHostileUpstream, type HostileUpstream } from './hostile-upstream.js';

/**
 * The upstream echoes the vaulted key every way it can: headers, escaped JSON, percent-encoding, text and binary
 * bodies, compressed bodies, SSE frames and plain streams split at every offset. The client (the official SDK)
 * must never be able to recover the key from the full response: headers and body, raw and decoded.
 */
let h: Harness;
let upstream: HostileUpstream;
let key: string;
/** Every response the SDK received, as `headers \n\n body` text. */
const captured: string[] = [];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const jsonEscaped = (text: string): string => [...text].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
const percentEncoded = (text: string): string => [...text].map((ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`).join('');
/** Every other character escaped: parsers and scrubbers that look for one form only miss mixed ones. */
const mixedEscaped = (text: string): string => [...text].map((ch, i) => (i % 2 === 0 ? jsonEscaped(ch) : ch)).join('');

const capturingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const res = await fetch(input, init);
  const body = Buffer.from(await res.arrayBuffer());
  const headers = [...res.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
  captured.push(`${headers}\n\n${body.toString('latin1')}`);
  return new Response(body.length > 0 ? body : null, { status: res.status, statusText: res.statusText, headers: res.headers });
};

function client(apiKey: string): OpenAI {
  return h.client(apiKey, { fetch: capturingFetch });
}

function chatCompletion(content: string): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  }).replace('__RAW__', content);
}

/** Asserts no captured response, in any decoded form, holds the key; returns how many responses were checked. */
function expectNoKeyCaptured(): number {
  expect(captured.length).toBeGreaterThan(0);
  for (const response of captured) {
    for (const form of decodedForms(response)) expect(form.includes(key), 'the upstream key reached the client').toBe(false);
  }
  const count = captured.length;
  captured.length = 0;
  return count;
}

beforeAll(async () => {
  upstream = await startHostileUpstream();
  h = await startHarness({ withUpstream: false, config: { upstream: { maxBufferedResponseBytes: 4 << 20 } } });
  key = h.upstreamKey;
  const added = await h.admin('POST', '/upstreams', { name: 'hostile', provider: 'openai-compatible', base_url: upstream.url, keys: [key] });
  expect(added.status).toBe(201);
});

afterAll(async () => {
  await h.close();
  await upstream.close();
});

describe('the upstream key never reaches the client', () => {
  it('is removed from response headers, plain and percent-encoded', async () => {
    upstream.handle((_req, res) => {
      res.setHeader('x-debug-key', key);
      res.setHeader('www-authenticate', `Bearer realm="api", error="invalid_token", key="${key}"`);
      res.setHeader('location', `https://example.invalid/retry?api_key=${percentEncoded(key)}`);
      res.setHeader('x-multi', [`a ${key}`, 'b']);
      res.writeHead(200, { 'content-type': 'application/json' }).end(chatCompletion('hi'));
    });
    const { data, response } = await client((await h.createKey()).key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('hi');
    expect(response.headers.get('x-debug-key')).toBe('[upstream key redacted]');
    expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${key}`); // the upstream did get it
    expectNoKeyCaptured();
  });

  it('is removed from JSON bodies where it is \\u-escaped, mixed-escaped, percent-encoded or next to other text', async () => {
    const forms = [jsonEscaped(key), mixedEscaped(key), percentEncoded(key), `xx${key}yy`, jsonEscaped(key).toUpperCase().replaceAll('\\U', '\\u')];
    const sdk = client((await h.createKey()).key);
    for (const form of forms) {
      upstream.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(chatCompletion('__RAW__').replace('__RAW__', `echo: ${form}`));
      });
      const completion = await sdk.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.choices[0]?.message.content).toContain('echo: ');
      expect(completion.choices[0]?.message.content).toContain('[upstream key redacted]');
    }
    expect(expectNoKeyCaptured()).toBe(forms.length);
  });

  it('is removed from text/plain transcriptions, HTML pages and binary audio', async () => {
    const sdk = client((await h.createKey()).key);
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`the key is ${key} and escaped ${jsonEscaped(key)}`);
    });
    const text = await sdk.audio.transcriptions.create({ model: 'whisper-1', response_format: 'text', file: await toFile(Buffer.from('RIFF'), 'a.wav') });
    expect(String(text)).toContain('the key is [upstream key redacted]');

    upstream.handle((_req, res) => {
      const entities = [...key].map((ch) => `&#${ch.charCodeAt(0)};`).join('');
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><a href="/x?k=${percentEncoded(key)}">${key}</a><p title="${entities}"></p></body></html>`);
    });
    await sdk.get('/models/gpt-4o-mini').catch(() => undefined);

    const audio = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x00]), Buffer.from(key), Buffer.alloc(4096, 0xaa)]);
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      // The key straddles two writes, so it spans two chunks at the gateway.
      res.write(audio.subarray(0, 20));
      setTimeout(() => res.end(audio.subarray(20)), 20);
    });
    const speech = await sdk.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hi' });
    const bytes = Buffer.from(await speech.arrayBuffer());
    expect(bytes.subarray(0, 4).equals(audio.subarray(0, 4))).toBe(true); // binary outside the key is untouched
    expect(bytes.subarray(-4096).equals(Buffer.alloc(4096, 0xaa))).toBe(true);
    expectNoKeyCaptured();
  });

  it('is removed from gzip and brotli bodies (decompressed), and a compressed stream is refused', async () => {
    const sdk = client((await h.createKey()).key);
    for (const [encoding, compress] of [
      ['gzip', gzipSync],
      ['br', brotliCompressSync],
    ] as const) {
      upstream.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding }).end(compress(Buffer.from(chatCompletion(`k=${key}`))));
      });
      const { data, response } = await sdk.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      expect(data.choices[0]?.message.content).toBe('k=[upstream key redacted]');
      expect(response.headers.get('content-encoding')).toBeNull();
      expect(data.usage?.total_tokens).toBe(5);
    }
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(gzipSync(Buffer.from(key)));
    });
    const refused = await sdk.audio.transcriptions
      .create({ model: 'whisper-1', response_format: 'text', file: await toFile(Buffer.from('RIFF'), 'a.wav') })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(upstream.requests.at(-1)?.headers['accept-encoding']).toBe('identity');
    expectNoKeyCaptured();
  });

  it('refuses a gzip bomb instead of inflating it past the buffer cap', async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20, 0x20)); // 64 MB of spaces in ~64 KB; the cap here is 4 MB
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(bomb);
    });
    const before = process.memoryUsage().rss;
    const err = await client((await h.createKey()).key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(process.memoryUsage().rss - before).toBeLessThan(48 << 20);
    captured.length = 0;
  });

  it('is removed from SSE streams when the key is split across chunks at every offset, plain and escaped', async () => {
    const variants = [key, jsonEscaped(key)];
    upstream.handle(async (_req, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const variant of variants) {
        const frame = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: '@@' } }] }).replace('@@', variant)}\n\n`;
        const at = frame.indexOf(variant);
        for (let offset = 0; offset <= variant.length; offset += variant === key ? 1 : 5) {
          res.write(frame.slice(0, at + offset));
          await sleep(2); // separate TCP segments, so the gateway sees separate chunks
          res.write(frame.slice(at + offset));
        }
      }
      res.end('data: [DONE]\n\n');
    });
    const stream = await client((await h.createKey()).key).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      chunks++;
    }
    expect(chunks).toBe(key.length + 1 + Math.floor(jsonEscaped(key).length / 5) + 1);
    expect(text).not.toContain(key);
    expect(text.split('[upstream key redacted]').length - 1).toBe(chunks);
    expectNoKeyCaptured();
  });

  it('is removed from a plain streamed text body split at every offset', async () => {
    upstream.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (const variant of [key, percentEncoded(key)]) {
        for (let offset = 0; offset <= variant.length; offset += 3) {
          res.write(`<${variant.slice(0, offset)}`);
          await sleep(1);
          res.write(`${variant.slice(offset)}>`);
        }
      }
      res.end();
    });
    const text = await client((await h.createKey()).key).audio.transcriptions.create({
      model: 'whisper-1',
      response_format: 'text',
      file: await toFile(Buffer.from('RIFF'), 'a.wav'),
    });
    expect(String(text).split('<[upstream key redacted]>').length - 1).toBe(Math.floor(key.length / 3) + 1 + Math.floor((key.length * 3) / 3) + 1);
    expectNoKeyCaptured();
  });

  it('removes partial and escaped partial echoes from error bodies', async () => {
    const masked = `${key.slice(0, 8)}****${key.slice(-4)}`;
    upstream.handle((_req, res) => {
      res
        .writeHead(401, { 'content-type': 'application/json', 'x-echo': key })
        .end(JSON.stringify({ error: { message: `Incorrect API key provided: @@. Full: ##`, type: 'invalid_request_error', code: 'invalid_api_key', param: null } }).replace('@@', jsonEscaped(masked)).replace('##', mixedEscaped(key)));
    });
    const err = await client((await h.createKey()).key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
    for (const response of captured) for (const form of decodedForms(response)) expect(form).not.toContain(key.slice(-4) + '.');
    expectNoKeyCaptured();
  });
});
