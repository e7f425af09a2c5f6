import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { ClientLink, forward, type ForwardRequest } from './forward.js';
import { createScrubber } from './scrub.js';
import type { UpstreamRuntime } from './upstream-registry.js';

function codeError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** undici's raw handler callbacks, which forward() implements (see forward.ts). */
interface FakeHandler {
  onConnect(abort: (err?: Error) => void): void;
  onError(err: Error): void;
  onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: Buffer[] | null): void;
}

/** An upstream pool whose first dispatches fail with the given errors, then answer 200 JSON. */
function requestThrough(failures: Error[], retries: number): { req: ForwardRequest; calls: () => number } {
  let calls = 0;
  const pool = {
    dispatch: (_options: unknown, handler: FakeHandler) => {
      const failure = failures[calls++];
      if (failure) {
        // As undici does for a connection that failed: no onConnect, only the error.
        handler.onError(failure);
        return true;
      }
      handler.onConnect(() => undefined);
      handler.onHeaders(200, [Buffer.from('content-type'), Buffer.from('application/json')], () => undefined, 'OK');
      handler.onData(Buffer.from('{"ok":true}'));
      handler.onComplete([]);
      return true;
    },
  };
  const scrub = createScrubber([]);
  const upstream = { pool, scrub } as unknown as UpstreamRuntime;
  const req: ForwardRequest = {
    upstream,
    method: 'POST',
    path: '/v1/chat/completions',
    headers: {},
    body: null,
    requestId: 'req_test',
    client: new ClientLink(),
    connectRetries: retries,
    dropInjectedUsageChunk: false,
    trackStreamText: false,
    limits: { maxBufferedBytes: 1 << 20, maxSseEventBytes: 1 << 20 },
  };
  return { req, calls: () => calls };
}

function fakeResponse(): ServerResponse {
  const res = { headersSent: false, writeHead: () => res, end: () => res, write: () => true, destroy: () => res };
  return res as unknown as ServerResponse;
}

describe('forward: retries', () => {
  it('retries connect-phase failures, where nothing reached the upstream', async () => {
    const { req, calls } = requestThrough([codeError('ECONNREFUSED'), codeError('UND_ERR_CONNECT_TIMEOUT')], 2);
    await expect(forward(req, fakeResponse())).resolves.toMatchObject({ status: 200 });
    expect(calls()).toBe(3);
  });

  it('gives up after the configured number of retries with a 502', async () => {
    const { req, calls } = requestThrough([codeError('ECONNREFUSED'), codeError('ECONNREFUSED'), codeError('ECONNREFUSED')], 2);
    const err = await forward(req, fakeResponse()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeywardenError);
    expect((err as KeywardenError).status).toBe(502);
    expect(calls()).toBe(3);
  });

  it('never retries once the request may have been sent', async () => {
    for (const code of ['UND_ERR_SOCKET', 'ECONNRESET', 'UND_ERR_HEADERS_TIMEOUT']) {
      const { req, calls } = requestThrough([codeError(code)], 5);
      await expect(forward(req, fakeResponse())).rejects.toBeInstanceOf(KeywardenError);
      expect(calls(), code).toBe(1);
    }
  });
});
