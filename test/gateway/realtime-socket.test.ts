// Realtime sessions over WebSocket (`wss://…/v1/realtime?model=…`), driven by the official SDK's OpenAIRealtimeWS.
// Before, an upgrade was served as a plain GET, so the Realtime API could not be used through the gateway at all.
// The judges: the fake upstream's own record of what it was sent and what usage it reported (priced here at
// OpenAI's list prices, not the gateway's table), the raw frames the app received, and the gateway's logs.
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { UsageRecord } from '../../src/store/index.js';
import { AUDIO_BYTES_PER_TOKEN, type RealtimeUsage } from '../support/fake-openai-realtime.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { openRaw } from '../support/raw-socket.js';
import { filesHoldingSecrets } from '../support/secret-files.js';
import { firstMessage, handshakeRefusal } from '../support/ws-answer.js';
import { waitFor } from '../support/wait-for.js';

/** The largest event the gateway accepts (the server's maximum body, set small here). */
const MAX_FRAME = 1024 * 1024;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ config: { server: { maxBodyBytes: MAX_FRAME } } });
});
afterEach(() => h.fake.reset());
afterAll(() => h.close());

/** The SDK always dials wss:; the test gateway speaks plain TCP on loopback, so the SDK is handed a plain socket. */
function plainSocketTo(url: string): typeof connect {
  const { hostname, port } = new URL(url);
  const dial: typeof connect = () => connect(Number(port), hostname);
  return dial;
}

interface Session {
  rt: OpenAIRealtimeWS;
  /** Every frame the app received, as text. */
  frames: string[];
  events: Array<Record<string, unknown>>;
  closed: Promise<number>;
  next(type: string): Promise<Record<string, unknown>>;
}

async function openSession(apiKey: string, model: string): Promise<Session> {
  const client = new OpenAI({ apiKey, baseURL: `${h.server.url}/v1`, maxRetries: 0 });
  const rt = new OpenAIRealtimeWS({ model, options: { createConnection: plainSocketTo(h.server.url) } }, client);
  const frames: string[] = [];
  const events: Array<Record<string, unknown>> = [];
  rt.socket.on('message', (data: Buffer) => {
    frames.push(data.toString());
    events.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  rt.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => rt.socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    rt.socket.once('open', () => resolve());
    rt.socket.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    rt.socket.once('error', reject);
  });
  const next = async (type: string): Promise<Record<string, unknown>> => {
    let found: Record<string, unknown> | undefined;
    await waitFor(() => (found = events.find((e) => e.type === type)) !== undefined, { timeoutMs: 5000 });
    events.splice(events.indexOf(found as Record<string, unknown>), 1);
    return found as Record<string, unknown>;
  };
  await next('session.created');
  return { rt, frames, events, closed, next };
}

/** What the handshake of a refused session answered: status and OpenAI error JSON. */
async function refusal(apiKey: string, query: string, headers: Record<string, string> = {}, path = '/v1/realtime'): Promise<{ status: number; body: { error: { code: string; message: string } } }> {
  const ws = new WebSocket(`${h.server.url.replace('http', 'ws')}${path}${query}`, { headers: { authorization: `Bearer ${apiKey}`, ...headers } });
  const { status, body } = await handshakeRefusal(ws);
  return { status, body: JSON.parse(body) as { error: { code: string; message: string } } };
}

async function records(keyId: string): Promise<UsageRecord[]> {
  await h.server.gateway.usage.flush();
  return (await h.admin<{ data: UsageRecord[] }>('GET', `/usage/records?key_id=${keyId}`)).body.data;
}

/** OpenAI's list prices for gpt-realtime, USD per 1M tokens, written out here as the judge. */
const GPT_REALTIME = { text: 4, cachedText: 0.4, audio: 32, cachedAudio: 0.4, textOut: 16, audioOut: 64 };

function listPrice(usage: RealtimeUsage): number {
  const input = usage.input_token_details;
  const cached = input.cached_tokens_details;
  const output = usage.output_token_details;
  return (
    ((input.text_tokens - cached.text_tokens) * GPT_REALTIME.text +
      cached.text_tokens * GPT_REALTIME.cachedText +
      (input.audio_tokens - cached.audio_tokens) * GPT_REALTIME.audio +
      cached.audio_tokens * GPT_REALTIME.cachedAudio +
      output.text_tokens * GPT_REALTIME.textOut +
      output.audio_tokens * GPT_REALTIME.audioOut) /
    1e6
  );
}

describe('Realtime over WebSocket', () => {
  it('relays a session with the vaulted key, meters each response at list price, and never shows the key', async () => {
    const { id, key } = await h.createKey({ name: 'voice', endpoints: ['realtime'] });
    const s = await openSession(key, 'gpt-realtime');
    const upstream = h.fake.realtime.last();
    expect(upstream?.presentedKey).toBe(h.upstreamKey);
    expect(upstream?.model).toBe('gpt-realtime');

    const scrape = async (): Promise<string> => (await fetch(`${h.server.url}/metrics`, { headers: { authorization: `Bearer ${h.adminToken}` } })).text();
    expect(await scrape()).toMatch(/^keywarden_realtime_sessions 1$/m);

    s.rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Say hello.' }] } });
    s.rt.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(10 * AUDIO_BYTES_PER_TOKEN + 7, 1).toString('base64') });
    s.rt.send({ type: 'response.create' });
    await s.next('response.done');
    s.rt.send({ type: 'response.create' });
    await s.next('response.done');
    s.rt.close();
    expect(await s.closed).toBe(1000);
    await waitFor(async () => /^keywarden_realtime_sessions 0$/m.test(await scrape()), { timeoutMs: 3000 });

    const usages = h.fake.realtime.last()?.usages ?? [];
    expect(usages).toHaveLength(2);
    expect(usages[0]?.input_token_details.audio_tokens).toBe(11);
    await waitFor(async () => (await records(id)).length === 3, { timeoutMs: 3000 });
    const all = (await records(id)).sort((a, b) => a.id.localeCompare(b.id));
    const session = all.find((r) => r.status === 101);
    const [first, second] = all.filter((r) => r.status !== 101);
    for (const [record, usage] of [[first, usages[0]], [second, usages[1]]] as const) {
      expect(record).toMatchObject({ endpoint: '/v1/realtime', model: 'gpt-realtime', status: 200, stream: true, priceMissing: false });
      expect(record?.promptTokens).toBe(usage?.input_tokens);
      expect(record?.completionTokens).toBe(usage?.output_tokens);
      expect(record?.cachedTokens).toBe(usage?.input_token_details.cached_tokens);
      expect(record?.costUsd).toBeCloseTo(listPrice(usage as RealtimeUsage), 12);
    }
    // The session itself: who held it, from where, that it ended; $0 of its own.
    expect(session).toMatchObject({ endpoint: '/v1/realtime', status: 101, costUsd: 0, errorCode: null });

    const seen = s.frames.join('\n');
    expect(seen).not.toContain(h.upstreamKey);
    expect(h.logs()).not.toContain(h.upstreamKey);
    expect(h.logs()).not.toContain(key);
    expect(filesHoldingSecrets(h.dataDir, [h.upstreamKey, key])).toEqual([]);
  });

  it('accepts the key as a browser sends it, in the openai-insecure-api-key subprotocol, and never passes it on', async () => {
    const { key } = await h.createKey({ name: 'browser', endpoints: ['realtime'], expires: '10m' });
    const url = `${h.server.url.replace('http', 'ws')}/v1/realtime?model=gpt-realtime`;
    const ws = new WebSocket(url, ['realtime', `openai-insecure-api-key.${key}`, 'openai-beta.realtime-v1']);
    expect(JSON.parse(await firstMessage(ws))).toMatchObject({ type: 'session.created' });
    expect(ws.protocol).toBe('realtime');
    const upstream = h.fake.realtime.last();
    expect(upstream?.presentedKey).toBe(h.upstreamKey);
    expect(upstream?.headers['sec-websocket-protocol']).toBe('realtime,openai-beta.realtime-v1');
    ws.close();
    expect(h.logs()).not.toContain(key);

    const wrong = new WebSocket(url, ['realtime', 'openai-insecure-api-key.kw_not_a_key']);
    expect((await handshakeRefusal(wrong)).status).toBe(401);
  });

  it('refuses at the handshake what an HTTP request would be refused, before the upstream is dialled', async () => {
    const granted = await h.createKey({ name: 'limited', endpoints: ['realtime'], models: ['gpt-realtime-mini'] });
    const chatOnly = await h.createKey({ name: 'chat only' });
    const budgeted = await h.createKey({ name: 'budgeted', endpoints: ['realtime'], limits: { budgets: [{ period: 'day', usd: 5 }] } });
    const tokens = await h.createKey({ name: 'tpm', endpoints: ['realtime'], limits: { tpm: 100_000 } });
    const canary = await h.createKey({ name: 'canary', endpoints: ['realtime'], canary: true });
    const revoked = await h.createKey({ name: 'revoked', endpoints: ['realtime'] });
    await h.admin('POST', `/keys/${revoked.id}/revoke`, {});

    const cases: Array<[Promise<{ status: number; body: { error: { code: string } } }>, number, string]> = [
      [refusal('kw_not_a_key', '?model=gpt-realtime'), 401, 'invalid_api_key'],
      [refusal(revoked.key, '?model=gpt-realtime'), 401, 'key_revoked'],
      [refusal(chatOnly.key, '?model=gpt-realtime'), 403, 'endpoint_not_allowed'],
      [refusal(granted.key, '?model=gpt-realtime'), 403, 'model_not_allowed'],
      // Another letter case does not slip past: refused as the HTTP routes in that spelling are.
      [refusal(granted.key, '?model=gpt-realtime-mini', {}, '/v1/Realtime'), 403, 'endpoint_not_allowed'],
      // No model named: the provider would pick its default.
      [refusal(granted.key, '?call_id=rtc_123'), 400, 'model_required'],
      // Two model parameters: the provider might read the other one.
      [refusal(granted.key, '?model=gpt-realtime-mini&model=gpt-realtime'), 400, 'invalid_request'],
      [refusal(budgeted.key, '?model=gpt-realtime'), 403, 'cost_not_bounded'],
      [refusal(tokens.key, '?model=gpt-realtime'), 403, 'cost_not_bounded'],
      [refusal(canary.key, '?model=gpt-realtime'), 429, 'insufficient_quota'],
      // A WebSocket anywhere else under /v1 is not a session.
      [refusal(granted.key, '?model=gpt-realtime-mini', {}, '/v1/chat/completions'), 404, 'not_found'],
    ];
    for (const [answer, status, code] of cases) {
      const got = await answer;
      expect({ status: got.status, code: got.body.error.code }).toEqual({ status, code });
    }
    expect(h.fake.realtime.sessions).toHaveLength(0);

    const allowed = await openSession(granted.key, 'gpt-realtime-mini');
    allowed.rt.close();
    expect(await allowed.closed).toBe(1000);
  });

  it('passes on the provider refusing the vaulted key, scrubbed of the key it echoes', async () => {
    const { key } = await h.createKey({ name: 'refused upstream', endpoints: ['realtime'] });
    h.fake.configure({ apiKeys: ['sk-proj-someoneelseskeyentirelydifferent0000'] });
    const got = await refusal(key, '?model=gpt-realtime');
    expect(got.status).toBe(401);
    expect(got.body.error.code).toBe('invalid_api_key');
    const text = JSON.stringify(got.body);
    expect(text).not.toContain(h.upstreamKey.slice(0, 12));
    expect(text).not.toContain(h.upstreamKey.slice(-4));
  });

  it('holds session updates to the key’s models, in every spelling, and sends what it checked', async () => {
    const { key } = await h.createKey({ name: 'models', endpoints: ['realtime'], models: ['gpt-realtime', 'gpt-4o-mini-transcribe'] });
    const s = await openSession(key, 'gpt-realtime');
    const upstream = h.fake.realtime.last();

    s.rt.send({ type: 'session.update', event_id: 'evt_whisper', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' } } } } });
    const refused = await s.next('error');
    expect(refused.error).toMatchObject({ code: 'model_not_allowed', event_id: 'evt_whisper' });

    // Escaped, so the raw text does not spell the model: still read and refused.
    s.rt.socket.send('{"type":"session.update","session":{"model":"gpt-4o-re\\u0061ltime-preview"}}');
    expect((await s.next('error')).error).toMatchObject({ code: 'model_not_allowed' });
    // Unreadable: a key limited to models cannot have an event it cannot check.
    s.rt.socket.send('{"type":"session.update", "session": {');
    expect((await s.next('error')).error).toMatchObject({ code: 'invalid_json' });

    // The same key twice: the gateway checks the last, and sends only that one, whatever the provider's parser keeps.
    s.rt.socket.send('{"type":"session.update","session":{"model":"gpt-4o-realtime-preview"},"session":{"audio":{"input":{"transcription":{"model":"gpt-4o-mini-transcribe"}}}}}');
    await s.next('session.updated');
    expect(upstream?.raw.filter((text) => text.includes('session.update'))).toEqual([
      '{"type":"session.update","session":{"audio":{"input":{"transcription":{"model":"gpt-4o-mini-transcribe"}}}}}',
    ]);
    expect(upstream?.events.filter((e) => e.type === 'session.update')).toHaveLength(1);

    // Binary frames cannot be read: refused, not forwarded.
    s.rt.socket.send(Buffer.from('{"type":"response.create"}'), { binary: true });
    expect((await s.next('error')).error).toMatchObject({ code: 'invalid_request' });
    expect(upstream?.events.some((e) => e.type === 'response.create')).toBe(false);
    s.rt.close();
    await s.closed;
  });

  it('scrubs the vaulted key from every server event, error events included', async () => {
    const { key } = await h.createKey({ name: 'scrub', endpoints: ['realtime'] });
    const s = await openSession(key, 'gpt-realtime');
    s.rt.socket.send(JSON.stringify({ type: 'test.leak_key' }));
    const leaked = await s.next('error');
    expect(JSON.stringify(leaked)).toContain('[upstream key redacted]');
    h.fake.realtime.sendRaw(JSON.stringify({ type: 'response.output_text.delta', delta: `the key is ${h.upstreamKey}` }));
    // JSON-escaped, so the raw text does not spell the key while the app's parser decodes it whole.
    h.fake.realtime.sendRaw(`{"type":"response.output_text.delta","delta":"escaped ${h.upstreamKey.replace('s', '\\u0073')}"}`);
    await waitFor(() => s.frames.filter((f) => f.includes('output_text.delta')).length === 2, { timeoutMs: 3000 });
    expect(s.frames.join('\n')).not.toContain(h.upstreamKey.slice(8));
    s.rt.close();
    await s.closed;
  });

  it('ends an open session within seconds of its key being revoked or suspended', async () => {
    for (const action of ['revoke', 'suspend']) {
      const { id, key } = await h.createKey({ name: action, endpoints: ['realtime'] });
      const s = await openSession(key, 'gpt-realtime');
      const upstream = h.fake.realtime.last();
      const started = Date.now();
      expect((await h.admin('POST', `/keys/${id}/${action}`, action === 'suspend' ? { reason: 'test' } : {})).status).toBe(200);
      expect(await s.closed).toBe(1008);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(s.events.find((e) => e.type === 'error')?.error).toMatchObject({ code: action === 'revoke' ? 'key_revoked' : 'key_suspended' });
      await waitFor(() => upstream?.closed !== null, { timeoutMs: 3000 });
    }
  });

  it('ends an open session when the key loses the realtime group or its model', async () => {
    const { id, key } = await h.createKey({ name: 're-scoped', endpoints: ['realtime', 'chat'], models: ['gpt-realtime', 'gpt-4o-mini'] });
    const s = await openSession(key, 'gpt-realtime');
    expect((await h.admin('PATCH', `/keys/${id}`, { models: ['gpt-4o-mini'] })).status).toBe(200);
    expect(await s.closed).toBe(1008);
    expect(s.events.find((e) => e.type === 'error')?.error).toMatchObject({ code: 'model_not_allowed' });

    expect((await h.admin('PATCH', `/keys/${id}`, { models: ['gpt-realtime'] })).status).toBe(200);
    const again = await openSession(key, 'gpt-realtime');
    expect((await h.admin('PATCH', `/keys/${id}`, { endpoints: ['chat'] })).status).toBe(200);
    expect(await again.closed).toBe(1008);
    expect(again.events.find((e) => e.type === 'error')?.error).toMatchObject({ code: 'endpoint_not_allowed' });
  });

  it('tells open sessions to go away when the gateway shuts down, and does not wait for them', async () => {
    const { key } = await h.createKey({ name: 'shutdown', endpoints: ['realtime'] });
    const s = await openSession(key, 'gpt-realtime');
    const started = Date.now();
    await h.restart();
    expect(await s.closed).toBe(1001);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('checks session updates once the key is limited to models mid-session', async () => {
    const { id, key } = await h.createKey({ name: 'limited later', endpoints: ['realtime'] });
    const s = await openSession(key, 'gpt-realtime');
    const upstream = h.fake.realtime.last();
    expect((await h.admin('PATCH', `/keys/${id}`, { models: ['gpt-realtime'] })).status).toBe(200);
    // An open session reads its key again every second (as for revocation): the change is in force after that.
    await sleep(1500);
    s.rt.send({ type: 'session.update', event_id: 'evt_late', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' } } } } });
    expect((await s.next('error')).error).toMatchObject({ code: 'model_not_allowed', event_id: 'evt_late' });
    expect(upstream?.events.some((e) => e.type === 'session.update')).toBe(false);
    s.rt.close();
    await s.closed;
  });

  it('holds rates and concurrency: a session is a request, and holds its slot while open', async () => {
    const { key } = await h.createKey({ name: 'one at a time', endpoints: ['realtime'], limits: { concurrency: 1 } });
    const first = await openSession(key, 'gpt-realtime');
    const second = await refusal(key, '?model=gpt-realtime');
    expect(second.status).toBe(429);
    first.rt.close();
    await first.closed;
    await waitFor(() => h.server.gateway.realtimeSessions() === 0, { timeoutMs: 3000 });
    const again = await openSession(key, 'gpt-realtime');
    again.rt.close();
    await again.closed;

    const { key: rpm } = await h.createKey({ name: 'rpm', endpoints: ['realtime'], limits: { rpm: 1 } });
    const only = await openSession(rpm, 'gpt-realtime');
    only.rt.close();
    await only.closed;
    expect((await refusal(rpm, '?model=gpt-realtime')).body.error.code).toBe('rate_limit_exceeded');
  });

  it('cuts an event larger than the server accepts, and relays nothing of it', async () => {
    const { key } = await h.createKey({ name: 'huge', endpoints: ['realtime'] });
    const s = await openSession(key, 'gpt-realtime');
    s.rt.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(MAX_FRAME).toString('base64') });
    expect(await s.closed).toBe(1009);
    await waitFor(() => h.fake.realtime.last()?.closed !== null, { timeoutMs: 3000 });
    expect(h.fake.realtime.last()?.events.some((e) => e.type === 'input_audio_buffer.append')).toBe(false);
  });

  it('still serves an h2c upgrade request as the plain HTTP/1.1 request it also is', async () => {
    const { key } = await h.createKey({ name: 'h2c' });
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const raw = await openRaw(h.server.url);
    raw.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n` +
        `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await waitFor(() => raw.received().includes('chat.completion'), { timeoutMs: 5000 });
    expect(raw.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(h.fake.lastRequest()?.headers.upgrade).toBeUndefined();
    raw.destroy();
  });
});
