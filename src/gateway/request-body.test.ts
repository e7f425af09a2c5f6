import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readBody, takeBufferedBody, waitForBody } from './request-body.js';

/** What readBody gave each request: the body as text, or the error's code / message. */
type Outcome = { body: string } | { error: string };

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A server that reads each request's body with readBody (as the gateway does, from the request handler) and reports it. */
async function bodyServer(maxBytes: number): Promise<{ port: number; outcomes: Outcome[] }> {
  const outcomes: Outcome[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    readBody(req, maxBytes, { timeoutMs: 300, minBytesPerSecond: 0 }).then(
      (body) => {
        outcomes.push({ body: body.toString('utf8') });
        res.end('ok');
      },
      (err: unknown) => {
        const error = err as { code?: string; message?: string };
        outcomes.push({ error: error.code ?? error.message ?? String(err) });
        if (!res.headersSent && !res.destroyed) res.end('refused');
      },
    );
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.address() as AddressInfo).port, outcomes };
}

/** Writes the given pieces on one connection (with pauses between them) and resolves with everything it got back. */
function exchange(port: number, pieces: readonly string[], pauseMs = 0, waitMs = 400): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    const send = async (): Promise<void> => {
      for (const [i, piece] of pieces.entries()) {
        if (i > 0 && pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
        if (!socket.destroyed) socket.write(piece);
      }
      setTimeout(() => {
        socket.destroy();
        resolve(received);
      }, waitMs);
    };
    socket.on('connect', () => void send());
  });
}

const post = (body: string, extra = ''): string => `POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

describe('readBody', () => {
  it('takes a body that came in the same packet as its headers, byte for byte', async () => {
    const { port, outcomes } = await bodyServer(1 << 20);
    const body = JSON.stringify({ model: 'm', text: 'hé '.repeat(300) });
    await exchange(port, [post(body)]);
    expect(outcomes).toEqual([{ body }]);
  });

  it('takes a body that came whole with its headers at once, before the request stream ends', async () => {
    // Node runs the handler's microtasks after pushing the body but before marking the message complete: the body
    // is taken there, not after 'readable' and 'end' events and a pace timer.
    const taken: Array<{ body: string; streamEnded: boolean }> = [];
    const server = createServer((req: IncomingMessage, res) => {
      let streamEnded = false;
      req.once('end', () => (streamEnded = true));
      void readBody(req, 1 << 20, { timeoutMs: 300, minBytesPerSecond: 0 }).then((body) => {
        taken.push({ body: body.toString('utf8'), streamEnded });
        res.end('ok');
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(900) }] });
    const answer = await exchange(port, [post(body) + post('') + post('{}')]);
    expect(answer.match(/HTTP\/1.1 200/g)).toHaveLength(3);
    expect(taken).toEqual([
      { body, streamEnded: false },
      { body: '', streamEnded: false },
      { body: '{}', streamEnded: false },
    ]);
  });

  it('waits for a body that arrives after its headers, in pieces', async () => {
    const { port, outcomes } = await bodyServer(1 << 20);
    const body = 'a'.repeat(5000);
    const request = post(body);
    const head = request.slice(0, request.indexOf('\r\n\r\n') + 4);
    await exchange(port, [head, body.slice(0, 2000), body.slice(2000)], 30);
    expect(outcomes).toEqual([{ body }]);
  });

  it('reads pipelined requests in one packet, each with its own body', async () => {
    const { port, outcomes } = await bodyServer(1 << 20);
    await exchange(port, [post('{"first":1}') + post('{"second":2}') + post('')]);
    expect(outcomes).toEqual([{ body: '{"first":1}' }, { body: '{"second":2}' }, { body: '' }]);
  });

  it('refuses a chunked body over the cap that came whole in one packet, and one that crosses it later', async () => {
    const { port, outcomes } = await bodyServer(100);
    const chunked = (size: number): string => `${size.toString(16)}\r\n${'b'.repeat(size)}\r\n`;
    const head = 'POST /v1/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
    await exchange(port, [`${head}${chunked(80)}${chunked(80)}0\r\n\r\n`]);
    await exchange(port, [head + chunked(80), chunked(80)], 30);
    expect(outcomes).toEqual([{ error: 'KW_BODY_TOO_LARGE' }, { error: 'KW_BODY_TOO_LARGE' }]);
  });

  it('settles (never hangs) when bytes after a complete request break the parser in the same packet', async () => {
    const { port, outcomes } = await bodyServer(1 << 20);
    await exchange(port, [`${post('{"a":1}')}GARBAGE \u0000\u0001 NOT HTTP\r\n\r\n`]);
    // One answer, not a hang: the body was complete before the garbage, so taking it or refusing are both sound.
    expect(outcomes).toHaveLength(1);
    const [outcome] = outcomes as [Outcome];
    if ('body' in outcome) expect(outcome.body).toBe('{"a":1}');
    else expect(outcome.error).toMatch(/./);
  });

  it('cuts a body that stops arriving (pace), and one whose client leaves mid-body', async () => {
    const { port, outcomes } = await bodyServer(1 << 20);
    const request = post('c'.repeat(1000));
    const partial = request.slice(0, request.length - 500);
    await exchange(port, [partial], 0, 700);
    expect(outcomes[0]).toEqual({ error: 'KW_REQUEST_TIMEOUT' });
    await exchange(port, [partial], 0, 50);
    await new Promise((r) => setTimeout(r, 100));
    // The stream's own error (the client's reset) or a premature close, as an async iterator would report.
    expect(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE']).toContain((outcomes[1] as { error: string } | undefined)?.error);
  });
});

describe('takeBufferedBody', () => {
  /**
   * What takeBufferedBody gave each request one microtask after its request event (as the gateway calls it), and
   * for one still on its way, what waitForBody then gave.
   */
  type Taken = { body: string } | { pending: true } | { waited: string } | { error: string };

  async function takingServer(maxBytes: number): Promise<{ port: number; taken: Taken[] }> {
    const taken: Taken[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      void Promise.resolve().then(() => {
        try {
          const body = takeBufferedBody(req, maxBytes);
          taken.push(body === null ? { pending: true } : { body: body.toString('utf8') });
          if (body === null) {
            void waitForBody(req, maxBytes).then((rest) => {
              taken.push({ waited: rest.toString('utf8') });
              res.end('later');
            });
          } else res.end('ok');
        } catch (err) {
          taken.push({ error: (err as { code?: string }).code ?? String(err) });
          res.statusCode = 413;
          res.end('refused');
        }
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return { port: (server.address() as AddressInfo).port, taken };
  }

  it('takes a body sent with its headers at once, byte for byte, an empty one included', async () => {
    const { port, taken } = await takingServer(1 << 20);
    const body = JSON.stringify({ model: 'm', text: 'hé '.repeat(300) });
    const answer = await exchange(port, [post(body) + post('')]);
    expect(answer.match(/HTTP\/1.1 200/g)).toHaveLength(2);
    expect(taken).toEqual([{ body }, { body: '' }]);
  });

  it('answers null for a body still on its way, and leaves it unread for waitForBody', async () => {
    const { port, taken } = await takingServer(1 << 20);
    const body = 'a'.repeat(3000);
    const request = post(body);
    const head = request.slice(0, request.indexOf('\r\n\r\n') + 4);
    const answer = await exchange(port, [head, body], 30);
    expect(taken).toEqual([{ pending: true }, { waited: body }]);
    expect(answer).toContain('later');
  });

  it('refuses a body declared over the cap, and the connection survives to carry the answer', async () => {
    const { port, taken } = await takingServer(100);
    const answer = await exchange(port, [post('d'.repeat(101))]);
    expect(taken).toEqual([{ error: 'KW_BODY_TOO_LARGE' }]);
    expect(answer).toMatch(/^HTTP\/1.1 413/);
  });

  it('leaves a chunked body to the caller even when all of it came in the packet: no length says it is whole', async () => {
    const { port, taken } = await takingServer(1 << 20);
    const chunked = (size: number): string => `${size.toString(16)}\r\n${'b'.repeat(size)}\r\n`;
    const answer = await exchange(port, [`POST /v1/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(80)}0\r\n\r\n`]);
    expect(taken).toEqual([{ pending: true }, { waited: 'b'.repeat(80) }]);
    expect(answer).toContain('later');
  });
});
