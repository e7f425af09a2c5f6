// Realtime sessions against hostile or broken peers: an upstream that never finishes its handshake, one that is not
// there, one that floods a client that does not read, one that sends an event larger than the gateway accepts, and
// an app that leaves while the upstream is still being dialled. Each must end in a clear answer or close code, with
// nothing held open and nothing buffered without bound.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { UsageRecord } from '../../src/store/index.js';
import { closedPortUrl } from '../support/fake-openai.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { waitFor } from '../support/wait-for.js';
import { handshakeRefusal } from '../support/ws-answer.js';

const MAX_FRAME = 1024 * 1024;
const HANDSHAKE_TIMEOUT_MS = 1500;

let h: Harness;
/** Accepts TCP connections and never answers: an upstream stuck in its handshake. */
let silent: Server;
const silentSockets: Socket[] = [];

beforeAll(async () => {
  h = await startHarness({ config: { server: { maxBodyBytes: MAX_FRAME }, upstream: { headersTimeoutMs: HANDSHAKE_TIMEOUT_MS } } });
  silent = createServer((socket) => {
    silentSockets.push(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});
afterEach(() => h.fake.reset());
afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
  await h.close();
});

function dial(apiKey: string, model = 'gpt-realtime'): WebSocket {
  const ws = new WebSocket(`${h.server.url.replace('http', 'ws')}/v1/realtime?model=${model}`, { headers: { authorization: `Bearer ${apiKey}` } });
  ws.on('error', () => undefined);
  return ws;
}

async function refusedWith(ws: WebSocket): Promise<{ status: number; code: string }> {
  const { status, body } = await handshakeRefusal(ws);
  return { status, code: (JSON.parse(body) as { error: { code: string } }).error.code };
}

async function keyOn(baseUrl: string): Promise<{ id: string; key: string }> {
  const upstream = await h.admin<{ id: string }>('POST', '/upstreams', { name: `u${Date.now()}${Math.random()}`, provider: 'openai-compatible', base_url: baseUrl, keys: [h.upstreamKey] });
  expect(upstream.status).toBe(201);
  return h.createKey({ name: 'routed', endpoints: ['realtime'], upstream: upstream.body.id });
}

async function records(keyId: string): Promise<UsageRecord[]> {
  await h.server.gateway.usage.flush();
  return (await h.admin<{ data: UsageRecord[] }>('GET', `/usage/records?key_id=${keyId}`)).body.data;
}

describe('Realtime sessions with hostile peers', () => {
  it('answers 504 when the upstream never finishes its handshake, and 502 when it is not there', async () => {
    const stuck = await keyOn(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/v1`);
    const started = Date.now();
    expect(await refusedWith(dial(stuck.key))).toEqual({ status: 504, code: 'upstream_timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 50);
    await waitFor(async () => (await records(stuck.id)).some((r) => r.status === 504), { timeoutMs: 3000 });

    const gone = await keyOn(await closedPortUrl());
    expect(await refusedWith(dial(gone.key))).toEqual({ status: 502, code: 'upstream_unavailable' });
    expect(h.server.gateway.realtimeSessions()).toBe(0);
  });

  it('answers the app in bounded time when the upstream refuses with a body that never ends', async () => {
    const refusing = createServer((socket) => {
      silentSockets.push(socket);
      socket.once('data', () => {
        // A refusal whose body starts, then stalls: a key echo is in what did arrive.
        socket.write(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`);
        const part = `{"error":{"message":"Incorrect API key provided: ${h.upstreamKey}`;
        socket.write(`${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`);
      });
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      const stalled = await keyOn(`http://127.0.0.1:${(refusing.address() as AddressInfo).port}/v1`);
      const ws = dial(stalled.key);
      const started = Date.now();
      const answer = await handshakeRefusal(ws);
      expect(Date.now() - started).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 1000);
      expect(answer.status).toBe(401);
      // The partial body is not JSON: the app gets the gateway's own error, and nothing of the key.
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'upstream_unavailable' } });
      expect(answer.body).not.toContain(h.upstreamKey.slice(8));
    } finally {
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

  it('drops the upstream dial when the app leaves during it, and records the app leaving', async () => {
    const stuck = await keyOn(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/v1`);
    const before = silentSockets.length;
    const ws = dial(stuck.key);
    await waitFor(() => silentSockets.length > before, { timeoutMs: 3000 });
    const dialled = silentSockets.at(-1) as Socket;
    ws.terminate();
    await waitFor(() => dialled.readableEnded || dialled.destroyed, { timeoutMs: 3000, what: 'the upstream dial to be dropped' });
    await waitFor(async () => (await records(stuck.id)).some((r) => r.status === 499 && r.errorCode === 'client_disconnected'), { timeoutMs: 3000 });
  });

  it('stops reading the upstream while the app does not read, instead of buffering the flood', async () => {
    const { key } = await h.createKey({ name: 'slow reader', endpoints: ['realtime'] });
    const ws = dial(key);
    let received = 0;
    ws.on('message', () => received++);
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    await waitFor(() => h.fake.realtime.last() !== undefined && received >= 1, { timeoutMs: 3000, what: `session.created (received ${received}, sessions ${h.fake.realtime.sessions.length})` });
    ws.pause();
    const upstream = h.fake.realtime.last()?.socket as WebSocket;
    // 96 events of 512 KiB each: 48 MiB, far past what the gateway holds for one slow reader.
    const event = JSON.stringify({ type: 'response.output_audio.delta', delta: 'A'.repeat(512 * 1024) });
    for (let i = 0; i < 96; i++) upstream.send(event);
    // The flood stays on the upstream's side: the gateway stopped reading it. Without flow control the gateway
    // would drain the upstream into its own memory within milliseconds on loopback; given a second, it has not.
    await sleep(1000);
    expect(upstream.bufferedAmount).toBeGreaterThan(32 * 1024 * 1024);
    ws.resume();
    await waitFor(() => received === 97, { timeoutMs: 20_000, what: 'every event to arrive once the app reads' });
    expect(upstream.bufferedAmount).toBe(0);
    ws.close();
  });

  it('ends the session when the upstream sends an event larger than the gateway accepts', async () => {
    const { key } = await h.createKey({ name: 'huge upstream event', endpoints: ['realtime'] });
    const ws = dial(key);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    let received = 0;
    ws.on('message', () => received++);
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    await waitFor(() => h.fake.realtime.last() !== undefined && received === 1, { timeoutMs: 3000 });
    h.fake.realtime.sendRaw(JSON.stringify({ type: 'response.output_audio.delta', delta: 'A'.repeat(MAX_FRAME) }));
    expect(await closed).toBe(1011);
    // Only session.created: nothing of the oversized event.
    expect(received).toBe(1);
    await waitFor(() => h.server.gateway.realtimeSessions() === 0, { timeoutMs: 3000 });
  });
});
