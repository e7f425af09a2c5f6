import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { startHostileUpstream, writeRepeated, type HostileUpstream } from './hostile-upstream.js';

/**
 * Upstream bodies are streamed, not buffered without bound: a 1 GB answer (the old gateway reached 2 GB RSS and
 * never gave it back) must leave memory flat, and what must be read whole (errors, filtered lists) is capped.
 */
let h: Harness;
let upstream: HostileUpstream;
let key: string;
const MB = 1 << 20;

beforeAll(async () => {
  upstream = await startHostileUpstream();
  h = await startHarness({ withUpstream: false, config: { upstream: { maxBufferedResponseBytes: 8 * MB } } });
  const added = await h.admin('POST', '/upstreams', { name: 'hostile', provider: 'openai-compatible', base_url: upstream.url, keys: [h.upstreamKey] });
  expect(added.status).toBe(201);
  key = (await h.createKey()).key;
});
afterAll(async () => {
  await h.close();
  await upstream.close();
});

/** Raw fetch that counts bytes: the SDK would hold a 1 GB body in memory, which is the client's problem, not ours. */
async function drain(path: string, init: RequestInit): Promise<{ status: number; bytes: number; headers: Headers }> {
  const res = await fetch(`${h.server.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
  let bytes = 0;
  if (res.body) for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  return { status: res.status, bytes, headers: res.headers };
}

/** Runs `work` while sampling RSS; returns the largest growth over the starting RSS. */
async function peakRssGrowth(work: () => Promise<void>): Promise<number> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - before;
}

const chatBody = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });

describe('large upstream bodies', () => {
  // JSON at 1 GB is the case that used to be buffered whole; binary was already streamed, so a smaller body keeps
  // the suite quick while still checking the scrubbing stream holds nothing back.
  for (const [label, contentType, total] of [
    ['1 GB JSON', 'application/json', 1024 * MB],
    ['256 MB binary audio', 'audio/mpeg', 256 * MB],
  ] as const) {
    it(`streams a ${label} answer with bounded memory`, async () => {
      upstream.handle(async (_req, res) => {
        res.writeHead(200, { 'content-type': contentType });
        res.write('{"object":"chat.completion","choices":[{"message":{"content":"');
        await writeRepeated(res, Buffer.alloc(256 * 1024, 0x61), total, false);
        res.end('"}}]}');
      });
      let result = { status: 0, bytes: 0, headers: new Headers() };
      const growth = await peakRssGrowth(async () => {
        result = await drain('/v1/chat/completions', { method: 'POST', body: chatBody });
      });
      expect(result.status).toBe(200);
      expect(result.bytes).toBeGreaterThan(total); // every byte relayed, nothing truncated
      expect(growth).toBeLessThan(200 * MB);
    }, 180_000);
  }

  it('refuses (502) an error body or a model list larger than the buffer cap, since they must be read whole', async () => {
    upstream.handle(async (_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.write('{"error":{"message":"');
      await writeRepeated(res, Buffer.alloc(64 * 1024, 0x61), 16 * MB, false);
      res.end('"}}');
    });
    const sdk = h.client(key);
    const err = await sdk.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_unavailable');

    upstream.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"object":"list","data":[');
      const entry = Buffer.from('{"id":"gpt-4o","object":"model","created":1,"owned_by":"x"},');
      await writeRepeated(res, entry, 16 * MB - (16 * MB) % entry.length, false);
      res.end('{"id":"o1","object":"model","created":1,"owned_by":"x"}]}');
    });
    const scoped = h.client((await h.createKey({ models: ['gpt-4o-mini'] })).key);
    const list = await scoped.models.list().catch((e: unknown) => e);
    expect((list as InstanceType<typeof OpenAI.APIError>).status).toBe(502); // never the unfiltered list
  });

  it('still meters and filters bodies under the cap', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ object: 'list', data: ['gpt-4o', 'gpt-4o-mini', 'o1'].map((id) => ({ id, object: 'model', created: 1, owned_by: 'x' })) }),
      );
    });
    const scoped = h.client((await h.createKey({ models: ['gpt-4o-mini'] })).key);
    const ids: string[] = [];
    for await (const model of scoped.models.list()) ids.push(model.id);
    expect(ids).toEqual(['gpt-4o-mini']);
  });
});
