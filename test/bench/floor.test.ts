// The benchmark's floor proxy must be an honest baseline: a real proxy that forwards, swaps the key and streams,
// not a shortcut that answers by itself or buffers (which would make keywarden's ratios meaningless).
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFloorProxy, type FloorProxy } from '../../bench/gateway/floor.js';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';

const UPSTREAM_KEY = 'sk-floor-upstream-0123456789abcdefghijklmnop';
const CLIENT_KEY = 'kw_client_key_the_upstream_must_never_see_0000';

let fake: FakeOpenAI;
let floor: FloorProxy;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKeys: [UPSTREAM_KEY] });
  floor = await startFloorProxy({ upstream: fake.url, key: UPSTREAM_KEY });
  client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${floor.origin}/v1`, maxRetries: 0 });
});
afterEach(() => fake.reset());
afterAll(async () => {
  await floor.close();
  await fake.close();
});

describe('bench floor proxy', () => {
  it('forwards a chat request upstream with the upstream key in place of the client key', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello floor' }] });
    expect(completion.object).toBe('chat.completion');
    expect(fake.requests).toHaveLength(1);
    const seen = fake.lastRequest();
    expect(seen?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(JSON.stringify(seen?.rawHeaders)).not.toContain(CLIENT_KEY);
    expect(seen?.path).toBe('/v1/chat/completions');
    // The body arrives byte for byte (streamed through, not re-serialized).
    expect(JSON.parse(seen?.body.toString('utf8') ?? '{}')).toMatchObject({ messages: [{ role: 'user', content: 'hello floor' }] });
  });

  it('relays upstream errors as they are (it has no logic of its own)', async () => {
    fake.setBehavior({ type: 'error', status: 429, code: 'rate_limit_exceeded', message: 'slow down' });
    const before = fake.requestCount;
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect(fake.requestCount).toBe(before + 1);
  });

  it('streams a response chunk by chunk instead of buffering it', async () => {
    // 40 ms between upstream chunks: a buffering proxy would deliver the first chunk only after all of them.
    fake.setBehavior({ type: 'ok', chunkDelayMs: 40 });
    const started = Date.now();
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream please' }] });
    const arrivals: number[] = [];
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      arrivals.push(Date.now() - started);
    }
    expect(arrivals.length).toBeGreaterThanOrEqual(3);
    const first = arrivals[0] as number;
    const last = arrivals.at(-1) as number;
    expect(last - first).toBeGreaterThanOrEqual(40 * (arrivals.length - 2));
  });

  it('streams the request body upstream byte-identical, including a large one', async () => {
    const content = 'x'.repeat(3 * 1024 * 1024);
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
    const seen = fake.lastRequest();
    expect(seen?.body.length).toBeGreaterThan(content.length);
    expect(seen?.body.toString('utf8')).toContain(content);
  });
});

describe('bench floor proxy against a hostile upstream', () => {
  let hostile: Server;
  let hostileFloor: FloorProxy;
  let sockets = 0;

  beforeAll(async () => {
    // Answers with headers and then drops the connection mid-body.
    hostile = createServer((_req, res) => {
      sockets++;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 10);
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', () => resolve()));
    const { port } = hostile.address() as AddressInfo;
    hostileFloor = await startFloorProxy({ upstream: `http://127.0.0.1:${port}`, key: UPSTREAM_KEY });
  });
  afterAll(async () => {
    await hostileFloor.close();
    hostile.closeAllConnections();
    await new Promise<void>((resolve) => hostile.close(() => resolve()));
  });

  it('cuts the client when the upstream cuts, and keeps serving', async () => {
    const { port } = new URL(hostileFloor.origin);
    for (let i = 0; i < 2; i++) {
      const outcome = await new Promise<string>((resolve) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' } }, (res) => {
          res.on('data', () => undefined);
          res.on('end', () => resolve('complete'));
          res.on('error', () => resolve('cut'));
          res.on('aborted', () => resolve('cut'));
        });
        req.on('error', () => resolve('cut'));
        req.end('{}');
      });
      expect(outcome).toBe('cut');
    }
    expect(sockets).toBe(2);
  });
});
