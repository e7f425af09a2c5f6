import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readBody, readCompleteBody } from './request-body.js';

/**
 * readCompleteBody takes a body the HTTP parser already has whole without waiting; anything else is left to
 * readBody. Driven over raw sockets, so the test decides how the bytes are split into packets.
 */
interface Seen {
  /** What readCompleteBody answered after the handler's first microtask (as the gateway calls it, after a lookup). */
  immediate: Buffer | null | Error;
  body: Buffer | Error;
}

let server: Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

async function start(maxBytes: number): Promise<{ port: number; seen: Seen[]; next: () => Promise<Seen> }> {
  const seen: Seen[] = [];
  const waiters: Array<(s: Seen) => void> = [];
  server = createServer((req: IncomingMessage, res) => {
    void (async () => {
      await Promise.resolve();
      let immediate: Buffer | null | Error;
      try {
        immediate = readCompleteBody(req, maxBytes);
      } catch (err) {
        immediate = err as Error;
      }
      let body: Buffer | Error;
      if (immediate === null) body = await readBody(req, maxBytes).catch((err: unknown) => err as Error);
      else body = immediate;
      const entry = { immediate, body };
      seen.push(entry);
      waiters.shift()?.(entry);
      res.writeHead(body instanceof Error ? 413 : 200, { 'content-length': '2' });
      res.end('ok');
    })();
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, seen, next: () => new Promise<Seen>((resolve) => waiters.push(resolve)) };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

const head = (length: number, extra = ''): string =>
  `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n${extra}\r\n`;

describe('readCompleteBody', () => {
  it('takes a body that arrived with its headers at once, byte for byte', async () => {
    const { port, next } = await start(1 << 20);
    const body = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'é'.repeat(300) }] }));
    const socket = await open(port);
    const seen = next();
    socket.write(Buffer.concat([Buffer.from(head(body.length)), body]));
    const { immediate } = await seen;
    expect(Buffer.isBuffer(immediate)).toBe(true);
    expect((immediate as Buffer).equals(body)).toBe(true);
    socket.destroy();
  });

  it('leaves a body still arriving to readBody, which gets all of it (nothing read twice or lost)', async () => {
    const { port, next } = await start(1 << 20);
    const body = Buffer.from(`{"model":"m","pad":"${'x'.repeat(5000)}"}`);
    const socket = await open(port);
    const seen = next();
    socket.write(Buffer.concat([Buffer.from(head(body.length)), body.subarray(0, 100)]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.write(body.subarray(100, 2000));
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write(body.subarray(2000));
    const result = await seen;
    expect(result.immediate).toBeNull();
    expect((result.body as Buffer).equals(body)).toBe(true);
    socket.destroy();
  });

  it('refuses a body over the cap that arrived whole, before reading it', async () => {
    const { port, next } = await start(16);
    const socket = await open(port);
    const seen = next();
    const body = '{"model":"a-rather-long-model-name"}';
    socket.write(head(body.length) + body);
    const result = await seen;
    expect(Buffer.isBuffer(result.immediate)).toBe(false);
    expect((result.body as Error & { code?: string }).code).toBe('KW_BODY_TOO_LARGE');
    socket.destroy();
  });

  it('answers an empty body with an empty buffer', async () => {
    const { port, next } = await start(1 << 20);
    const socket = await open(port);
    const seen = next();
    socket.write(head(0));
    const { immediate } = await seen;
    expect(Buffer.isBuffer(immediate) && immediate.length === 0).toBe(true);
    socket.destroy();
  });

  it('refuses a chunked body over the cap (no Content-Length to refuse it earlier), and the connection still serves the next request', async () => {
    const { port, next } = await start(64);
    const socket = await open(port);
    const chunk = 'y'.repeat(100);
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    const first = next();
    socket.write(`POST /v1/x HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`);
    const refused = await first;
    // Refused either at once (the parser had seen the end) or by readBody: never taken.
    expect(Buffer.isBuffer(refused.immediate)).toBe(false);
    expect((refused.body as Error & { code?: string }).code).toBe('KW_BODY_TOO_LARGE');
    const second = next();
    socket.write(Buffer.concat([Buffer.from(head(2)), Buffer.from('{}')]));
    const ok = await second;
    expect((ok.body as Buffer).toString()).toBe('{}');
    for (let waited = 0; !received.includes('200 OK') && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toContain('413');
    expect(received).toContain('200 OK');
    socket.destroy();
  });

  it('two pipelined requests in one packet each get their own body', async () => {
    const { port, seen } = await start(1 << 20);
    const socket = await open(port);
    const a = Buffer.from('{"model":"a"}');
    const b = Buffer.from('{"model":"bb"}');
    socket.write(Buffer.concat([Buffer.from(head(a.length)), a, Buffer.from(head(b.length)), b]));
    for (let waited = 0; seen.length < 2 && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(seen.map((s) => (s.body as Buffer).toString())).toEqual(['{"model":"a"}', '{"model":"bb"}']);
    socket.destroy();
  });
});
