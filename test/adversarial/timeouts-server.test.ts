import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { openRaw, statusOf } from '../support/raw-socket.js';

// Short limits so every attack resolves in well under a second. The request backstop (requestTimeoutMs) is long on
// purpose: each case must be cut by the specific limit it attacks, not by the backstop.
const HEADERS_TIMEOUT = 400;
const BODY_TIMEOUT = 400;
const MIN_RATE = 1000;
const KEEP_ALIVE = 300;
const BACKSTOP = 20_000;

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await startHarness({
    config: {
      server: {
        headersTimeoutMs: HEADERS_TIMEOUT,
        bodyTimeoutMs: BODY_TIMEOUT,
        bodyMinBytesPerSecond: MIN_RATE,
        keepAliveTimeoutMs: KEEP_ALIVE,
        requestTimeoutMs: BACKSTOP,
      },
    },
  });
  ({ key } = await h.createKey());
});
afterAll(() => h.close());

const host = (): string => new URL(h.server.url).host;
const chatBody = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

describe('slowloris: headers that never finish', () => {
  it('closes a connection whose headers drip in, soon after the headers timeout', async () => {
    const before = h.fake.requestCount;
    const conn = await openRaw(h.server.url);
    conn.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${host()}\r\n`);
    conn.drip(50, 200); // one byte of an endless header line every 50 ms
    const closedAt = await conn.closed(3_000);
    // Not before the limit (it is the timeout that fired), and within one sweep interval plus slack after it.
    expect(closedAt).toBeGreaterThanOrEqual(HEADERS_TIMEOUT - 50);
    expect(closedAt).toBeLessThan(HEADERS_TIMEOUT + 1_200);
    expect(statusOf(conn.received())).toBe(408);
    expect(conn.received()).toContain('"code":"request_timeout"');
    expect(h.fake.requestCount).toBe(before);
  });

  it('lets many slowloris sockets die without delaying an honest request', async () => {
    const conns = await Promise.all(Array.from({ length: 20 }, () => openRaw(h.server.url)));
    for (const c of conns) {
      c.write(`GET /healthz HTTP/1.1\r\nHost: ${host()}\r\n`);
      c.drip(100, 100);
    }
    const res = await fetch(`${h.server.url}/healthz`);
    expect(res.status).toBe(200);
    const closed = await Promise.all(conns.map((c) => c.closed(3_000)));
    for (const t of closed) expect(t).toBeLessThan(HEADERS_TIMEOUT + 1_200);
  });
});

describe('slow request bodies', () => {
  it('cuts an authenticated upload that drips below the minimum rate with 408, and forwards nothing', async () => {
    const before = h.fake.requests.length;
    const conn = await openRaw(h.server.url);
    conn.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"model":"gpt-4o-mini",`,
    );
    conn.drip(20, 500); // 50 B/s against a 1000 B/s minimum
    const closedAt = await conn.closed(3_000);
    expect(statusOf(conn.received())).toBe(408);
    expect(conn.received()).toMatch(/"code":"request_timeout"/);
    expect(conn.received().toLowerCase()).toContain('connection: close');
    expect(closedAt).toBeGreaterThanOrEqual(BODY_TIMEOUT - 50);
    expect(closedAt).toBeLessThan(BODY_TIMEOUT + 800);
    expect(h.fake.requests.length).toBe(before);
  });

  it('cuts a body that starts fast and then stalls (the pause limit, not only the average rate)', async () => {
    const conn = await openRaw(h.server.url);
    const padding = 'x'.repeat(50_000); // 50 KB at once buys 50 s of rate allowance; the stall must still be cut
    conn.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"pad":"${padding}`,
    );
    const closedAt = await conn.closed(3_000);
    expect(statusOf(conn.received())).toBe(408);
    expect(closedAt).toBeLessThan(BODY_TIMEOUT * 2 + 800);
  });

  it('cuts an admin upload (with a valid token) that drips below the minimum rate with 408', async () => {
    const keysBefore = (await h.admin<{ data: unknown[] }>('GET', '/keys')).body.data.length;
    const conn = await openRaw(h.server.url);
    conn.write(
      `POST /admin/v1/keys HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${h.adminToken}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"name":"`,
    );
    conn.drip(20, 500);
    const closedAt = await conn.closed(3_000);
    expect(statusOf(conn.received())).toBe(408);
    expect(conn.received()).toContain('"code":"request_timeout"');
    expect(closedAt).toBeGreaterThanOrEqual(BODY_TIMEOUT - 50);
    expect(closedAt).toBeLessThan(BODY_TIMEOUT + 800);
    expect((await h.admin<{ data: unknown[] }>('GET', '/keys')).body.data).toHaveLength(keysBefore);
  });

  it('accepts an honest slow upload that keeps above the minimum rate for longer than the body timeout', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'y'.repeat(3_000) }] });
    const conn = await openRaw(h.server.url);
    conn.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    );
    // 300 bytes every 100 ms = 3000 B/s, three times the minimum, for about a second (> BODY_TIMEOUT).
    const started = Date.now();
    for (let i = 0; i < body.length; i += 300) {
      conn.write(body.slice(i, i + 300));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(Date.now() - started).toBeGreaterThan(BODY_TIMEOUT);
    await conn.closed(3_000);
    expect(statusOf(conn.received())).toBe(200);
    expect(conn.received()).toContain('chat.completion');
  });
});

describe('early errors close the connection instead of reading a dripped body', () => {
  it('answers a keyless request with a huge Content-Length 401, then closes while the client still drips', async () => {
    const conn = await openRaw(h.server.url);
    conn.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: application/json\r\n` +
        `Content-Length: 10000000000\r\n\r\n{"mo`,
    );
    conn.drip(20, 500); // would take 10 s; the backstop is 20 s
    const closedAt = await conn.closed(2_000);
    const raw = conn.received();
    expect(statusOf(raw)).toBe(401);
    expect(raw.toLowerCase()).toContain('connection: close');
    // The whole answer arrived (not truncated by the close).
    const [, body] = raw.split('\r\n\r\n');
    expect(JSON.parse(body ?? '')).toMatchObject({ error: { code: 'missing_api_key' } });
    expect(closedAt).toBeLessThan(1_000);
  });

  it('does the same for 413 by Content-Length on an authenticated request', async () => {
    const conn = await openRaw(h.server.url);
    conn.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 999999999999\r\n\r\n{`,
    );
    conn.drip(20, 500);
    const closedAt = await conn.closed(2_000);
    expect(statusOf(conn.received())).toBe(413);
    expect(conn.received().toLowerCase()).toContain('connection: close');
    expect(closedAt).toBeLessThan(1_000);
  });

  it('answers an admin request without a token 401 and closes while its body drips', async () => {
    const conn = await openRaw(h.server.url);
    conn.write(
      `POST /admin/v1/keys HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{`,
    );
    conn.drip(20, 500);
    const closedAt = await conn.closed(2_000);
    expect(statusOf(conn.received())).toBe(401);
    expect(conn.received()).toContain('invalid_admin_token');
    expect(conn.received().toLowerCase()).toContain('connection: close');
    // Well before the admin framework's own fallback (it drains an unread body for 500 ms, then closes).
    expect(closedAt).toBeLessThan(400);
  });

  it('keeps the connection open after an error that came after the whole body was read', async () => {
    const { key: narrow } = await h.createKey({ models: ['gpt-4o'] });
    const conn = await openRaw(h.server.url);
    conn.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${narrow}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(chatBody)}\r\n\r\n${chatBody}`,
    );
    await expect(conn.closed(KEEP_ALIVE / 2)).rejects.toThrow(/kept the connection open/);
    expect(statusOf(conn.received())).toBe(403);
    expect(conn.received()).toContain('model_not_allowed');
    expect(conn.received().toLowerCase()).not.toContain('connection: close');
    conn.destroy();
  });
});

describe('idle keep-alive connections', () => {
  it('reaps a keep-alive socket left idle after its response', async () => {
    const conn = await openRaw(h.server.url);
    conn.write(`GET /healthz HTTP/1.1\r\nHost: ${host()}\r\n\r\n`);
    const closedAt = await conn.closed(3_000);
    expect(statusOf(conn.received())).toBe(200);
    expect(closedAt).toBeGreaterThanOrEqual(KEEP_ALIVE - 50);
    // Node adds a fixed buffer (keepAliveTimeoutBuffer, 1 s) to the socket timeout it arms for keep-alive.
    expect(closedAt).toBeLessThan(KEEP_ALIVE + 2_000);
  });

  it('still serves several requests on one connection within the keep-alive window', async () => {
    const conn = await openRaw(h.server.url);
    for (let i = 0; i < 3; i++) {
      conn.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(chatBody)}\r\n\r\n${chatBody}`);
      const want = i + 1;
      for (let n = 0; n < 100 && (conn.received().match(/HTTP\/1\.1 200/g) ?? []).length < want; n++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect((conn.received().match(/HTTP\/1\.1 200/g) ?? []).length).toBe(want);
    }
    expect(conn.closedAfterMs()).toBeNull();
    conn.destroy();
  });
});
