import { describe, expect, it } from 'vitest';
import { forwardRequestHeaders, forwardResponseHeaders, withoutHeader } from './headers.js';

/** A response's header list as undici's HTTP/1.1 parser delivers it: names (as sent) and values, as bytes. */
function raw(...pairs: Array<[string, string]>): Buffer[] {
  return pairs.flatMap(([name, value]) => [Buffer.from(name, 'latin1'), Buffer.from(value, 'latin1')]);
}

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

  it('strips hop-by-hop, organisation and gateway-owned headers from responses, keeping order and repeats', () => {
    const out = forwardResponseHeaders(
      raw(
        ['Content-Type', 'Application/JSON'],
        ['x-request-id', 'req_1'],
        ['openai-organization', 'acme-prod'],
        ['Set-Cookie', '__cf_bm=x'],
        ['connection', 'keep-alive'],
        ['Transfer-Encoding', 'chunked'],
        ['content-length', '5'],
        ['x-keywarden-request-id', 'forged'],
        ['x-ratelimit-remaining-requests', '10'],
        ['Vary', 'Origin'],
        ['vary', 'Accept'],
      ),
    );
    expect(out.list).toEqual([
      'content-type', 'Application/JSON',
      'x-request-id', 'req_1',
      'x-ratelimit-remaining-requests', '10',
      'vary', 'Origin',
      'vary', 'Accept',
    ]);
    expect(out.contentType).toBe('application/json');
    expect(out.contentEncoding).toBeNull();
  });

  it('reads the content type and every content coding; a repeated content type counts as none', () => {
    const coded = forwardResponseHeaders(raw(['content-encoding', 'gzip'], ['Content-Encoding', 'br'], ['content-type', 'text/event-stream']));
    expect(coded.contentEncoding).toBe('gzip,br');
    expect(coded.contentType).toBe('text/event-stream');
    expect(withoutHeader(coded.list, 'content-encoding')).toEqual(['content-type', 'text/event-stream']);
    expect(forwardResponseHeaders(raw(['content-type', 'text/event-stream'], ['content-type', 'application/json'])).contentType).toBe('');
    // Strings (not bytes) are taken as they are; a dangling name without a value is ignored.
    expect(forwardResponseHeaders(['X-A', '1', 'x-b']).list).toEqual(['x-a', '1']);
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
    expect(forwardResponseHeaders(raw(['connection', 'keep-alive'], ['Connection', 'X-A'], ['x-a', '1'], ['x-b', '2'])).list).toEqual(['x-b', '2']);
    expect(forwardResponseHeaders(raw(['connection', 'close'], ['close', 'x'], ['x-b', '2'])).list).toEqual(['x-b', '2']);
  });
});
