import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { requestWithRetry, type ForwardRequest } from './forward.js';
import type { UpstreamRuntime } from './upstream-registry.js';

function codeError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

function requestThrough(failures: Error[], retries: number): { req: ForwardRequest; calls: () => number } {
  let calls = 0;
  const pool = {
    request: () => {
      const failure = failures[calls++];
      return failure ? Promise.reject(failure) : Promise.resolve({ statusCode: 200 });
    },
  };
  const upstream = { pool } as unknown as UpstreamRuntime;
  const req: ForwardRequest = {
    upstream,
    method: 'POST',
    path: '/v1/chat/completions',
    headers: {},
    body: null,
    signal: new AbortController().signal,
    connectRetries: retries,
    dropInjectedUsageChunk: false,
    trackStreamText: false,
  };
  return { req, calls: () => calls };
}

describe('requestWithRetry', () => {
  it('retries connect-phase failures, where nothing reached the upstream', async () => {
    const { req, calls } = requestThrough([codeError('ECONNREFUSED'), codeError('UND_ERR_CONNECT_TIMEOUT')], 2);
    await expect(requestWithRetry(req)).resolves.toMatchObject({ statusCode: 200 });
    expect(calls()).toBe(3);
  });

  it('gives up after the configured number of retries with a 502', async () => {
    const { req, calls } = requestThrough([codeError('ECONNREFUSED'), codeError('ECONNREFUSED'), codeError('ECONNREFUSED')], 2);
    const err = await requestWithRetry(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeywardenError);
    expect((err as KeywardenError).status).toBe(502);
    expect(calls()).toBe(3);
  });

  it('never retries once the request may have been sent', async () => {
    for (const code of ['UND_ERR_SOCKET', 'ECONNRESET', 'UND_ERR_HEADERS_TIMEOUT']) {
      const { req, calls } = requestThrough([codeError(code)], 5);
      await expect(requestWithRetry(req)).rejects.toBeInstanceOf(KeywardenError);
      expect(calls(), code).toBe(1);
    }
  });
});
