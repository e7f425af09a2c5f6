// End-to-end behaviour of the proxy hot path (server → gateway → undici → fake upstream), pinned down before the
// hot path is optimized: what reaches the upstream, what comes back, what is metered, and how failures end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import type { UsageRecord } from '../../src/store/index.js';
import { SQLITE_FILE_NAME } from '../../src/store/sqlite/sqlite-store.js';
import { closedPortUrl, fakeSpeechAudio, leakKeyBehavior, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { waitFor } from '../support/wait-for.js';

const UPSTREAM_KEY = 'sk-proj-GATEWAYe2eabcdefghijklmnopqrstuvwxyz0123456789';
const CHAT = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] };

let fake: FakeOpenAI;
let server: RunningServer;
let dataDir: string;
let secret: string;
let keyId: string;

async function newKey(input: Parameters<RunningServer['services']['keys']['create']>[0]): Promise<{ secret: string; id: string }> {
  const issued = await server.services.keys.create(input, 'admin:test');
  return { secret: issued.secret, id: issued.record.id };
}

function post(route: string, body: unknown, key: string = secret, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}/v1${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
}

async function usageRecords(): Promise<UsageRecord[]> {
  await server.gateway.usage.flush();
  return server.services.store.usage.list({});
}

async function lastUsage(): Promise<UsageRecord> {
  const records = await usageRecords();
  const last = records.sort((a, b) => a.ts - b.ts).at(-1);
  if (!last) throw new Error('no usage record');
  return last;
}

/** The `data:` payloads of an SSE body, in order. */
function dataLines(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice(6));
}

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKeys: [UPSTREAM_KEY], keyEcho: 'full' });
  dataDir = mkdtempSync(path.join(tmpdir(), 'kw-proxy-e2e-'));
  const config = parseConfig({
    dataDir,
    server: { port: 0 },
    outbound: { allow: ['127.0.0.1'] },
    upstream: { headersTimeoutMs: 1_000, connectRetries: 0 },
    log: { level: 'silent' },
  });
  server = await startServer({ config, env: {}, logger: createLogger('silent', process.stderr) });
  await server.services.upstreams.add({ name: 'fake', provider: 'openai-compatible', base_url: fake.url, keys: [UPSTREAM_KEY], default: true }, 'admin:test');
  ({ secret, id: keyId } = await newKey({ name: 'e2e' }));
});

afterEach(() => fake.reset());

afterAll(async () => {
  await server.close();
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('gateway proxy', () => {
  it('relays a JSON completion with the upstream key, filtered headers and metered usage', async () => {
    const body = JSON.stringify(CHAT);
    const res = await post('/chat/completions', body);
    expect(res.status).toBe(200);
    expect(res.headers.get('openai-organization')).toBeNull();
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const text = await res.text();
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    const json = JSON.parse(text) as { choices: Array<{ message: { content: string } }>; usage: { prompt_tokens: number } };
    expect(json.choices[0]?.message.content).toContain('Hello');

    const seen = fake.lastRequest();
    expect(seen?.presentedKey).toBe(UPSTREAM_KEY);
    expect(seen?.headers['accept-encoding']).toBe('identity');
    expect(seen?.rawHeaders.join('\n')).not.toContain(secret);
    expect(seen?.body.toString('utf8')).toBe(body);

    const usage = await lastUsage();
    expect(usage).toMatchObject({ keyId, status: 200, stream: false, model: 'gpt-4o-mini', errorCode: null, endpoint: '/v1/chat/completions' });
    expect(usage.promptTokens).toBe(json.usage.prompt_tokens);
    expect(usage.completionTokens).toBeGreaterThan(0);
  });

  it('streams events, asks upstream for usage and hides the injected usage chunk', async () => {
    const res = await post('/chat/completions', { ...CHAT, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = dataLines(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: unknown[]; usage?: unknown });
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
    expect((fake.lastRequest()?.json as { stream_options?: unknown }).stream_options).toEqual({ include_usage: true });

    const usage = await lastUsage();
    expect(usage).toMatchObject({ status: 200, stream: true, errorCode: null });
    expect(usage.completionTokens).toBe(chunks.length - 2); // role chunk and finish chunk carry no token
  });

  it('forwards the usage chunk when the client asked for it', async () => {
    const res = await post('/chat/completions', { ...CHAT, stream: true, stream_options: { include_usage: true } });
    const events = dataLines(await res.text());
    const last = JSON.parse(events.at(-2) ?? '') as { choices: unknown[]; usage: { completion_tokens: number } };
    expect(last.choices).toEqual([]);
    expect(last.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('checks the key on every request: a revoked key fails on the very next request', async () => {
    const key = await newKey({ name: 'to-revoke' });
    expect((await post('/chat/completions', CHAT, key.secret)).status).toBe(200);
    await server.services.keys.revoke(key.id, 'admin:test');
    const res = await post('/chat/completions', CHAT, key.secret);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('key_revoked');
  });

  it('sees a revocation written by another process on the very next request', async () => {
    const key = await newKey({ name: 'revoked-elsewhere' });
    expect((await post('/chat/completions', CHAT, key.secret)).status).toBe(200);
    const other = new Database(path.join(dataDir, SQLITE_FILE_NAME));
    try {
      other.prepare('UPDATE virtual_keys SET revoked_at = ?, updated_at = updated_at + 1 WHERE id = ?').run(Date.now(), key.id);
    } finally {
      other.close();
    }
    const res = await post('/chat/completions', CHAT, key.secret);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('key_revoked');
  });

  it('accepts a rotated key\'s previous secret only while its grace period lasts', async () => {
    const key = await newKey({ name: 'to-rotate' });
    const withGrace = await server.services.keys.rotate(key.id, '1h', 'admin:test');
    expect((await post('/chat/completions', CHAT, withGrace.secret)).status).toBe(200);
    expect((await post('/chat/completions', CHAT, key.secret)).status).toBe(200);
    const noGrace = await server.services.keys.rotate(key.id, undefined, 'admin:test');
    expect((await post('/chat/completions', CHAT, noGrace.secret)).status).toBe(200);
    expect((await post('/chat/completions', CHAT, withGrace.secret)).status).toBe(401);
    expect((await post('/chat/completions', CHAT, key.secret)).status).toBe(401);
  });

  it('refuses missing and made-up keys without calling upstream', async () => {
    const before = fake.requestCount;
    expect((await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect((await post('/chat/completions', CHAT, 'kw_notarealkeynotarealkeynotarealkey0000000')).status).toBe(401);
    expect(fake.requestCount).toBe(before);
  });

  it('scrubs the upstream key from upstream errors', async () => {
    fake.queueBehavior(leakKeyBehavior(401));
    const res = await post('/chat/completions', CHAT);
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).not.toContain(UPSTREAM_KEY);
    expect(text).toContain('[upstream key redacted]');
  });

  it('enforces the key body cap before reading the body upstream', async () => {
    const key = await newKey({ name: 'small', max_body_bytes: 64 });
    const res = await post('/chat/completions', { ...CHAT, padding: 'x'.repeat(200) }, key.secret);
    expect(res.status).toBe(413);
  });

  it('streams binary answers through untouched', async () => {
    const res = await post('/audio/speech', { model: 'tts-1', input: 'hello there', voice: 'alloy' });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(fakeSpeechAudio('hello there'))).toBe(true);
  });

  it('maps an upstream that never answers to a timeout', async () => {
    fake.queueBehavior({ type: 'hang' });
    const res = await post('/chat/completions', CHAT);
    expect(res.status).toBe(504);
    expect((await lastUsage()).errorCode).toBe('upstream_timeout');
  });

  it('maps an unreachable upstream to 502', async () => {
    await server.services.upstreams.add({ name: 'nowhere', provider: 'openai-compatible', base_url: await closedPortUrl(), keys: [UPSTREAM_KEY] }, 'admin:test');
    await server.gateway.upstreams.invalidate();
    const key = await newKey({ name: 'nowhere', upstream: 'nowhere' });
    const res = await post('/chat/completions', CHAT, key.secret);
    expect(res.status).toBe(502);
  });

  it('cuts the client stream when upstream cuts it, and records the cut', async () => {
    fake.queueBehavior({ type: 'ok', cutAfterChunks: 3 });
    const before = (await usageRecords()).length;
    const res = await post('/chat/completions', { ...CHAT, stream: true });
    await expect(res.text()).rejects.toThrow();
    // The record is written when the gateway has finished with the request: wait for it rather than a fixed time.
    await waitFor(async () => (await usageRecords()).length > before, { what: 'the usage record of the cut stream' });
    const usage = await lastUsage();
    expect(usage.status).toBe(200);
    expect(usage.errorCode).not.toBeNull();
  });

  it('stops the upstream request when the client goes away mid-stream', async () => {
    fake.queueBehavior({ type: 'ok', chunkDelayMs: 100 });
    const controller = new AbortController();
    const res = await post('/chat/completions', { ...CHAT, stream: true }, secret, { signal: controller.signal });
    const reader = res.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value as Uint8Array | undefined)).toContain('data: ');
    const before = (await usageRecords()).length;
    controller.abort();
    await waitFor(() => fake.lastRequest()?.outcome === 'aborted', { what: 'the upstream request to be aborted' });
    await waitFor(async () => (await usageRecords()).length > before, { what: 'the usage record of the abandoned stream' });
    expect((await lastUsage()).errorCode).toBe('client_disconnected');
  });

  it('filters the model list to the key allowlist', async () => {
    const key = await newKey({ name: 'mini-only', models: ['gpt-4o-mini*'] });
    const res = await fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${key.secret}` } });
    const ids = ((await res.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => id.startsWith('gpt-4o-mini'))).toBe(true);
  });
});
