import { describe, expect, it } from 'vitest';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers.js';

describe('header forwarding', () => {
  it('drops credentials, hop-by-hop headers and headers named in Connection', () => {
    const out = forwardRequestHeaders({
      authorization: 'Bearer kw_secret',
      'api-key': 'x',
      cookie: 'a=b',
      connection: 'keep-alive, x-custom-hop',
      'keep-alive': 'timeout=5',
      'x-custom-hop': '1',
      'transfer-encoding': 'chunked',
      te: 'trailers',
      upgrade: 'h2c',
      'proxy-authorization': 'Basic x',
      host: 'gateway',
      'content-length': '10',
      'x-forwarded-for': '1.2.3.4',
      'content-type': 'application/json',
      'openai-beta': 'assistants=v2',
      'x-stainless-lang': 'js',
    });
    expect(out).toEqual({
      'content-type': 'application/json',
      'openai-beta': 'assistants=v2',
      'x-stainless-lang': 'js',
      'accept-encoding': 'identity',
    });
  });

  it('strips hop-by-hop and organisation headers from responses', () => {
    const out = forwardResponseHeaders({
      'content-type': 'application/json',
      'x-request-id': 'req_1',
      'openai-organization': 'acme-prod',
      'set-cookie': ['__cf_bm=x'],
      connection: 'keep-alive',
      'transfer-encoding': 'chunked',
      'content-length': '5',
      'x-ratelimit-remaining-requests': '10',
    });
    expect(out).toEqual({ 'content-type': 'application/json', 'x-request-id': 'req_1', 'x-ratelimit-remaining-requests': '10' });
  });

  it('treats the common Connection values like any other, whatever their case', () => {
    const request = (connection: string): Record<string, string> =>
      forwardRequestHeaders({ connection, 'keep-alive': 'timeout=5', close: 'x', 'x-a': '1', 'content-type': 'application/json' });
    const kept = { 'x-a': '1', 'content-type': 'application/json', 'accept-encoding': 'identity' };
    expect(request('keep-alive')).toEqual({ ...kept, close: 'x' });
    expect(request('Keep-Alive')).toEqual({ ...kept, close: 'x' });
    // A header named by Connection is dropped, even one called `close`.
    expect(request('close')).toEqual(kept);
    expect(request('CLOSE')).toEqual(kept);
    expect(request('Close, X-A')).toEqual({ 'content-type': 'application/json', 'accept-encoding': 'identity' });
    expect(forwardResponseHeaders({ connection: ['keep-alive', 'x-a'], 'x-a': '1', 'x-b': '2' })).toEqual({ 'x-b': '2' });
    expect(forwardResponseHeaders({ connection: 'close', close: 'x', 'x-b': '2' })).toEqual({ 'x-b': '2' });
  });
});
