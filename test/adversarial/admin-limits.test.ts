import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/store/index.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { openRaw, statusOf } from '../support/raw-socket.js';

const MB = 1024 * 1024;

let h: Harness;
beforeAll(async () => {
  // A long request backstop and body timeout: the refusals below must come from the body cap itself.
  h = await startHarness({ config: { server: { requestTimeoutMs: 60_000, bodyTimeoutMs: 30_000 } } });
});
afterAll(() => h.close());

const host = (): string => new URL(h.server.url).host;

/** Streams `totalBytes` of one reused 1 MB buffer as fast as the server takes them; returns the bytes it took. */
async function pushBody(conn: Awaited<ReturnType<typeof openRaw>>, totalBytes: number, chunked: boolean): Promise<number> {
  const block = Buffer.alloc(MB, 0x20);
  let sent = 0;
  while (sent < totalBytes && conn.closedAfterMs() === null) {
    const framed = chunked ? Buffer.concat([Buffer.from(`${block.length.toString(16)}\r\n`), block, Buffer.from('\r\n')]) : block;
    if (!conn.write(framed)) break;
    sent += block.length;
    if (conn.socket.writableLength > 4 * MB) {
      // Wait for the server to take the bytes (or to close), bounded.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        conn.socket.once('drain', () => {
          clearTimeout(timer);
          resolve();
        });
        conn.socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  return sent;
}

describe('admin body cap', () => {
  it('refuses a 100 MB body by Content-Length before reading it: 413, connection closed, no RSS growth', async () => {
    const rssBefore = process.memoryUsage().rss;
    const conn = await openRaw(h.server.url);
    conn.write(
      `POST /admin/v1/keys HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${h.adminToken}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${100 * MB}\r\n\r\n`,
    );
    await pushBody(conn, 100 * MB, false);
    await conn.closed(5_000);
    expect(statusOf(conn.received())).toBe(413);
    expect(conn.received()).toContain('"code":"request_too_large"');
    expect(conn.received().toLowerCase()).toContain('connection: close');
    const growth = process.memoryUsage().rss - rssBefore;
    expect(growth).toBeLessThan(40 * MB);
  });

  it('cuts a chunked 100 MB body (no Content-Length) once it crosses the cap, without buffering the rest', async () => {
    const rssBefore = process.memoryUsage().rss;
    const conn = await openRaw(h.server.url);
    conn.write(
      `POST /admin/v1/keys HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${h.adminToken}\r\n` +
        `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const sent = await pushBody(conn, 100 * MB, true);
    await conn.closed(5_000);
    expect(statusOf(conn.received())).toBe(413);
    // The server stopped taking bytes long before 100 MB (socket buffers allow some slack past the 1 MB cap).
    expect(sent).toBeLessThan(40 * MB);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(40 * MB);
  });

  it('reads a body under the cap and judges it on its content (400 validation, not 413)', async () => {
    const res = await h.admin('POST', '/keys', { name: 'x', metadata: { note: 'y'.repeat(600) }, pad: 'z'.repeat(500_000) });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'validation_failed' } });
  });

  it('refuses a body one byte over the cap', async () => {
    const body = JSON.stringify({ name: 'x', pad: '' });
    const padded = body.replace('"pad":""', `"pad":"${'p'.repeat(MB + 1 - Buffer.byteLength(body))}"`);
    expect(Buffer.byteLength(padded)).toBe(MB + 1);
    const res = await fetch(`${h.server.url}/admin/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json' },
      body: padded,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
  });
});

describe('admin: deeply nested JSON', () => {
  const deepArray = '['.repeat(100_000) + ']'.repeat(100_000);
  const deepObject = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;

  it.each([
    ['POST', '/keys', `{"name":"x","metadata":${deepArray}}`],
    ['POST', '/keys', deepObject],
    ['POST', '/upstreams', `{"name":"u","provider":"openai","keys":${deepArray}}`],
    ['POST', '/keys/report-leak', `{"key":${deepObject}}`],
    ['PATCH', '/keys/key_missing', `{"limits":${deepObject}}`],
  ])('%s %s with 100,000-deep JSON → 400 invalid_json, never 500', async (method, route, body) => {
    const res = await fetch(`${h.server.url}/admin/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
  });

  it('still serves after the deep bodies, and moderate nesting reaches validation instead', async () => {
    const nested = { name: 'x', metadata: JSON.parse(`${'{"a":'.repeat(10)}1${'}'.repeat(10)}`) as unknown };
    const res = await h.admin('POST', '/keys', nested);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'validation_failed' } });
    expect((await fetch(`${h.server.url}/healthz`)).status).toBe(200);
  });
});

describe('gateway: deeply nested JSON on the re-serialize path', () => {
  it('answers 400 (never 500) when a body it must rewrite is 100,000 deep, and forwards nothing', async () => {
    const { key } = await h.createKey();
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    // stream_options without include_usage makes the gateway rewrite (re-serialize) the body.
    const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":false},"x":${deep}}`;
    const before = h.fake.requestCount;
    const res = await fetch(`${h.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    expect(h.fake.requestCount).toBe(before);
  });
});

describe('GET /admin/v1/usage/records: bounded pages', () => {
  const keyId = `key_${randomUUID()}`;
  const TOTAL = 250;
  const base = Date.UTC(2030, 0, 1);
  const record = (i: number, ts: number): UsageRecord => ({
    id: `0${String(i).padStart(5, '0')}-${randomUUID()}`,
    ts,
    keyId,
    upstreamId: null,
    endpoint: '/v1/chat/completions',
    model: 'gpt-4o-mini',
    status: 200,
    stream: false,
    promptTokens: i,
    cachedTokens: 0,
    completionTokens: 0,
    reasoningTokens: 0,
    costUsd: 0,
    priceMissing: false,
    latencyMs: 1,
    clientIp: '127.0.0.1',
    errorCode: null,
  });
  type Page = { data: UsageRecord[]; has_more: boolean; next_cursor: string | null };
  const page = (query: string): Promise<{ status: number; body: Page }> => h.admin<Page>('GET', `/usage/records?key_id=${keyId}${query}`);

  beforeAll(async () => {
    // Many records share a timestamp, so the cursor must break ties by id, not skip or repeat them.
    await h.server.services.store.usage.insertMany(Array.from({ length: TOTAL }, (_, i) => record(i, base + Math.floor(i / 7))));
  });

  it('returns 100 records by default, with has_more and a cursor', async () => {
    const { status, body } = await page('');
    expect(status).toBe(200);
    expect(body.data).toHaveLength(100);
    expect(body.has_more).toBe(true);
    expect(body.next_cursor).toEqual(expect.any(String));
  });

  it('walks every record exactly once, in order, across pages (ties on ts included)', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const { body }: { body: Page } = await page(`&limit=60${cursor ? `&after=${cursor}` : ''}`);
      seen.push(...body.data.map((r) => r.promptTokens));
      if (!body.has_more) {
        expect(body.next_cursor).toBeNull();
        break;
      }
      cursor = body.next_cursor;
    }
    expect(seen).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
  });

  it('keeps its place while new records arrive between pages', async () => {
    const first = await page('&limit=200');
    await h.server.services.store.usage.insertMany([record(TOTAL, base + 10_000)]);
    const rest = await page(`&limit=200&after=${first.body.next_cursor}`);
    const ids = [...first.body.data, ...rest.body.data].map((r) => r.promptTokens);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(TOTAL + 1);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=-5', 'limit'],
    ['limit=10.5', 'limit'],
    ['after=not-a-cursor', 'after'],
    [`after=${Buffer.from('[1,{}]').toString('base64url')}`, 'after'],
    [`after=${Buffer.from('{"__proto__":1}').toString('base64url')}`, 'after'],
    ['unknown=1', 'unknown'],
  ])('refuses %s with 400', async (query, field) => {
    const { status, body } = await h.admin<{ error: { code: string; message: string } }>('GET', `/usage/records?${query}`);
    expect(status).toBe(400);
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.message).toContain(field);
  });

  it('answers a maximal page from a large table quickly (one bounded query, not the whole table)', async () => {
    const many = Array.from({ length: 20_000 }, (_, i) => ({ ...record(100_000 + i, base + 20_000 + i), keyId: 'key_bulk' }));
    await h.server.services.store.usage.insertMany(many);
    const started = performance.now();
    const res = await h.admin<Page>('GET', '/usage/records?key_id=key_bulk&limit=1000');
    const elapsed = performance.now() - started;
    expect(res.body.data).toHaveLength(1000);
    expect(res.body.has_more).toBe(true);
    expect(elapsed).toBeLessThan(1_000);
  });
});
