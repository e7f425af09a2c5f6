import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { leakKeyBehavior } from '../support/fake-openai.js';
import { apiErrorOf } from '../support/api-error.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { rawRequest } from './raw-http.js';

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await startHarness({ config: { upstream: { headersTimeoutMs: 400, connectRetries: 2 } } });
  key = (await h.createKey()).key;
});
afterEach(() => h.fake.reset());
afterAll(() => h.close());

const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });


function expectOpenAIErrorShape(raw: string, code: string): void {
  const json = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: Record<string, unknown> };
  expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(json.error.code).toBe(code);
}

describe('request smuggling and malformed HTTP', () => {
  const head = (extra: string, payload = body): string =>
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\n${extra}\r\n${payload}`;

  it('rejects Content-Length together with Transfer-Encoding', async () => {
    const before = h.fake.requestCount;
    const raw = await rawRequest(h.server.url, head(`Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`, `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`));
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expectOpenAIErrorShape(raw, 'invalid_request');
    expect(h.fake.requestCount).toBe(before);
  });

  it('rejects duplicate Content-Length headers, equal or not', async () => {
    for (const second of [body.length, body.length + 5]) {
      const raw = await rawRequest(h.server.url, head(`Content-Length: ${body.length}\r\nContent-Length: ${second}\r\n`));
      expect(raw).toMatch(/^HTTP\/1\.1 400/);
      expectOpenAIErrorShape(raw, 'invalid_request');
    }
  });

  it('rejects repeated framing headers whatever their case, without calling upstream', async () => {
    const before = h.fake.requestCount;
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const shapes = [
      [`content-LENGTH: ${body.length}\r\nCONTENT-length: ${body.length}\r\n`, body],
      [`TRANSFER-encoding: chunked\r\ntransfer-ENCODING: chunked\r\n`, chunked],
      // Node's parser joins these into "gzip, chunked" and accepts it; only the gateway's own check refuses it.
      [`TRANSFER-encoding: gzip\r\ntransfer-ENCODING: chunked\r\n`, chunked],
    ] as const;
    for (const [extra, payload] of shapes) {
      const raw = await rawRequest(h.server.url, head(extra, payload));
      expect(raw).toMatch(/^HTTP\/1\.1 400/);
      expectOpenAIErrorShape(raw, 'invalid_request');
    }
    expect(h.fake.requestCount).toBe(before);
  });

  it('rejects invalid JSON and non-object bodies with OpenAI-shaped 400s', async () => {
    for (const payload of ['{"model":', '[1,2]']) {
      const res = await fetch(`${h.server.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: payload });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    }
  });

  it('answers unknown routes and missing keys with stable codes', async () => {
    const missing = await fetch(`${h.server.url}/v1/chat/completions`, { method: 'POST', body });
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('missing_api_key');
    const unknown = await fetch(`${h.server.url}/v2/whatever`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe('upstream failures', () => {
  it('maps an upstream timeout to 504 upstream_timeout', async () => {
    h.fake.setBehavior({ type: 'hang' });
    const err = await apiErrorOf(h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(err.status).toBe(504);
    expect(err.code).toBe('upstream_timeout');
  });

  it('maps a dropped connection to 502 without retrying a request that was already sent', async () => {
    h.fake.setBehavior({ type: 'drop' });
    const before = h.fake.requestCount;
    const err = await apiErrorOf(h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(err.status).toBe(502);
    expect(err.code).toBe('upstream_unavailable');
    expect(h.fake.requestCount - before).toBe(1);
  });

  it('passes upstream errors through in OpenAI shape, with the SDK error class', async () => {
    h.fake.setBehavior({ type: 'error', status: 429, code: 'rate_limit_exceeded', message: 'Slow down' });
    const limited = await apiErrorOf(h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    h.fake.setBehavior({ type: 'error', status: 500 });
    const failed = await apiErrorOf(h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
  });

  it('scrubs the upstream key from upstream error messages, full or partial', async () => {
    h.fake.setBehavior(leakKeyBehavior(401));
    const full = await apiErrorOf(h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(JSON.stringify(full.error)).not.toContain(h.upstreamKey);
    expect(full.message).not.toContain(h.upstreamKey.slice(-4));
    h.fake.setBehavior({ type: 'error', status: 401, message: 'Incorrect API key provided: {masked_key}.' });
    const masked = await apiErrorOf(h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(masked.message).not.toContain(h.upstreamKey.slice(-4));
    expect(masked.message).toContain('redacted');
  });

  it('cuts the client stream when the upstream stream is cut, and still records the request', async () => {
    h.fake.setBehavior({ type: 'ok', cutAfterChunks: 3 });
    const stream = await h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let received = 0;
    const outcome = await (async () => {
      for await (const _chunk of stream) received++;
    })().then(
      () => 'ended',
      () => 'failed',
    );
    expect(outcome).toBe('failed');
    expect(received).toBeGreaterThan(0);
    await h.server.gateway.usage.flush();
    const { body: records } = await h.admin<{ data: Array<{ stream: boolean; errorCode: string | null }> }>('GET', '/usage/records');
    expect(records.data.at(-1)).toMatchObject({ stream: true, errorCode: 'upstream_unavailable' });
  });
});

describe('connect retries', () => {
  it('fails with 502 when the upstream refuses connections, without leaking its address', async () => {
    const { closedPortUrl } = await import('../support/fake-openai.js');
    const dead = await startHarness({ withUpstream: false, config: { upstream: { connectRetries: 2 } } });
    try {
      const url = await closedPortUrl();
      await dead.admin('POST', '/upstreams', { name: 'dead', provider: 'openai-compatible', base_url: url, keys: ['sk-dead-key-123456'] });
      const { key: deadKey } = await dead.createKey();
      const err = await apiErrorOf(dead.client(deadKey).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
      expect(err.status).toBe(502);
      expect(err.code).toBe('upstream_unavailable');
      expect(err.message).not.toContain('127.0.0.1');
    } finally {
      await dead.close();
    }
  });
});
