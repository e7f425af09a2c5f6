import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { startHostileUpstream, writeRepeated, type HostileUpstream } from './hostile-upstream.js';

/**
 * An SSE event with no end: the relay must not rescan what it already scanned (the old relay took 21 s for 40 MB
 * and stalled /healthz for seconds), and must stop holding an event past its size cap.
 */
let h: Harness | null = null;
let upstream: HostileUpstream | null = null;

afterEach(async () => {
  await h?.close();
  await upstream?.close();
  h = null;
  upstream = null;
});

async function setUp(config: Record<string, unknown> = {}): Promise<{ h: Harness; upstream: HostileUpstream; key: string }> {
  upstream = await startHostileUpstream();
  h = await startHarness({ withUpstream: false, config: { upstream: config } });
  const added = await h.admin('POST', '/upstreams', { name: 'hostile', provider: 'openai-compatible', base_url: upstream.url, keys: [h.upstreamKey] });
  expect(added.status).toBe(201);
  return { h, upstream, key: (await h.createKey()).key };
}

/** Polls /healthz while `work` runs; returns the slowest answer (ms). */
async function slowestHealthzDuring(url: string, work: Promise<unknown>): Promise<number> {
  let done = false;
  let slowest = 0;
  const poller = (async () => {
    while (!done) {
      const started = performance.now();
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      slowest = Math.max(slowest, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  try {
    await work;
  } finally {
    done = true;
    await poller;
  }
  return slowest;
}

const MB = 1 << 20;

describe('SSE relay on a boundary-less event', () => {
  it('cuts a 40 MB event at the size cap, stops reading upstream, and keeps /healthz answering', async () => {
    const env = await setUp({ maxSseEventBytes: 4 * MB });
    let upstreamWrote = 0;
    env.upstream.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"choices":[{"index":0,"delta":{"content":"hello"}}]}\n\n');
      res.write('data: "');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const total = 40 * MB;
      await writeRepeated(res, chunk, total, false);
      upstreamWrote = res.destroyed ? -1 : total;
      res.end('"\n\n');
    });
    const client = env.h.client(env.key);
    const baseline = await slowestHealthzDuring(env.h.server.url, new Promise((resolve) => setTimeout(resolve, 200)));
    const started = performance.now();
    let received = '';
    const work = (async () => {
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true });
      try {
        for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
        return 'completed';
      } catch {
        return 'cut';
      }
    })();
    const slowest = await slowestHealthzDuring(env.h.server.url, work);
    expect(await work).toBe('cut');
    expect(received).toBe('hello'); // events before the oversized one were relayed
    expect(upstreamWrote).toBe(-1); // the gateway hung up on the upstream instead of reading 40 MB
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(slowest).toBeLessThan(Math.max(250, baseline * 10));
    await env.h.server.close().catch(() => undefined); // flushes usage and the request log
    expect(env.h.logs()).toContain('upstream_event_too_large');
    h = null;
    await env.h.close().catch(() => undefined);
  });

  it('relays one 40 MB event under a raised cap about as fast as 40 MB of small events', async () => {
    const env = await setUp({ maxSseEventBytes: 64 * MB });
    let oneEvent = true;
    env.upstream.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      if (oneEvent) {
        res.write('data: "');
        await writeRepeated(res, chunk, 40 * MB, false);
        res.write('"\n\n');
      } else {
        const event = Buffer.from(`data: "${'a'.repeat(64 * 1024 - 11)}"\n\n`);
        await writeRepeated(res, event, 40 * MB, false);
      }
      res.end('data: [DONE]\n\n');
    });
    // Raw fetch: this measures the gateway, so the client only counts bytes (the SDK would parse a 40 MB line).
    const relay = async (): Promise<{ ms: number; bytes: number }> => {
      const started = performance.now();
      const res = await fetch(`${env.h.server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }),
      });
      let bytes = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
      return { ms: performance.now() - started, bytes };
    };
    oneEvent = false;
    const small = await relay();
    oneEvent = true;
    let big = { ms: 0, bytes: 0 };
    const slowest = await slowestHealthzDuring(
      env.h.server.url,
      relay().then((r) => (big = r)),
    );
    expect(big.bytes).toBeGreaterThan(40 * MB);
    expect(small.bytes).toBeGreaterThan(39 * MB);
    expect(big.ms).toBeLessThan(small.ms * 5 + 500);
    expect(slowest).toBeLessThan(1_000);
  }, 60_000);
});
