import { describe, expect, it } from 'vitest';
import { classifyResponse } from './verify.js';

const json = { 'content-type': 'application/json' };

describe('classifyResponse', () => {
  it.each([
    [new Response('{"data":[]}', { status: 200, headers: json }), 'live'],
    [new Response('<html>blocked</html>', { status: 200, headers: { 'content-type': 'text/html' } }), 'unknown'],
    [new Response('{not json', { status: 200, headers: json }), 'unknown'],
    [new Response('{"error":{"code":"invalid_api_key"}}', { status: 401, headers: json }), 'invalid'],
    [new Response('{"error":{"status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}', { status: 400, headers: json }), 'invalid'],
    [new Response('{"error":"forbidden"}', { status: 403, headers: json }), 'unknown'],
    [new Response('<html>Access denied</html>', { status: 403, headers: { 'content-type': 'text/html' } }), 'unknown'],
    [new Response('{}', { status: 429, headers: json }), 'unknown'],
    [new Response('oops', { status: 503 }), 'unknown'],
  ])('classifies %#', async (response, expected) => {
    expect((await classifyResponse(response)).verification).toBe(expected);
  });
});
