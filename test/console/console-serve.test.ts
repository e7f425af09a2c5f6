// The console's static serving, attacked directly: traversal in every spelling, reserved server paths, methods,
// caching and the security headers on every answer. Uses a hand-made build directory, so it needs no `vite build`.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConsoleAssets } from '../../src/console-serve/console-assets.js';
import { createConsoleHandler } from '../../src/console-serve/console-handler.js';
import { CONSOLE_CSP } from '../../src/console-serve/index.js';

const EXPECTED_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script></head><body><div id="app"></div></body></html>';
const APP_JS = `console.log(${JSON.stringify('x'.repeat(4000))});`;
const SECRET_NEXT_TO_BUILD = 'TOP-SECRET-FILE-CONTENT';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** http.request sends `rawPath` byte for byte (no normalisation of ../ or %2e as fetch would do). */
function get(base: string, rawPath: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: rawPath, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function expectSecurityHeaders(answer: Answer): void {
  expect(answer.headers['content-security-policy']).toBe(EXPECTED_CSP);
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
  expect(answer.headers['referrer-policy']).toBe('no-referrer');
  expect(answer.headers['cross-origin-opener-policy']).toBe('same-origin');
}

let root: string;
let server: Server;
let base: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'kw-console-'));
  const dist = path.join(root, 'dist', 'console');
  mkdirSync(path.join(dist, 'assets'), { recursive: true });
  mkdirSync(path.join(dist, '.vite'), { recursive: true });
  writeFileSync(path.join(dist, 'index.html'), INDEX);
  writeFileSync(path.join(dist, 'assets', 'app-abc123.js'), APP_JS);
  writeFileSync(path.join(dist, 'assets', 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(path.join(dist, '.vite', 'manifest.json'), '{"private":"build metadata"}');
  // Files a traversal would aim for: beside and above the build directory.
  writeFileSync(path.join(root, 'dist', 'secret.txt'), SECRET_NEXT_TO_BUILD);
  writeFileSync(path.join(root, 'secret.txt'), SECRET_NEXT_TO_BUILD);
  const assets = loadConsoleAssets(dist);
  if (!assets) throw new Error('fixture build not loaded');
  server = createServer(createConsoleHandler(assets));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(root, { recursive: true, force: true });
});

describe('console serving', () => {
  it('exports exactly the CSP the issue asks for', () => {
    expect(CONSOLE_CSP).toBe(EXPECTED_CSP);
  });

  it('serves index.html at / with no-store and every security header', async () => {
    const answer = await get(base, '/');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/html/);
    expect(answer.headers['cache-control']).toBe('no-store');
    expectSecurityHeaders(answer);
    expect(answer.body.toString()).toBe(INDEX);
  });

  it('answers client routes with index.html (SPA fallback), query strings included', async () => {
    for (const route of ['/keys', '/keys/key_abc123', '/setup', '/audit?actor=user:1', '/sessions/']) {
      const answer = await get(base, route);
      expect(answer.status, route).toBe(200);
      expect(answer.body.toString(), route).toBe(INDEX);
      expect(answer.headers['cache-control'], route).toBe('no-store');
      expectSecurityHeaders(answer);
    }
  });

  it('serves hashed assets with a one-year immutable cache, gzip on request, and 304 on a matching ETag', async () => {
    const plain = await get(base, '/assets/app-abc123.js');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(APP_JS);
    expectSecurityHeaders(plain);

    const zipped = await get(base, '/assets/app-abc123.js', { headers: { 'accept-encoding': 'br, gzip' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.body.length).toBeLessThan(APP_JS.length);
    expect(gunzipSync(zipped.body).toString()).toBe(APP_JS);
    expect(zipped.headers.vary).toBe('Accept-Encoding');

    const refused = await get(base, '/assets/app-abc123.js', { headers: { 'accept-encoding': 'gzip;q=0' } });
    expect(refused.headers['content-encoding']).toBeUndefined();

    const again = await get(base, '/assets/app-abc123.js', { headers: { 'if-none-match': String(plain.headers.etag) } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it('answers only the console routes with index.html; any other path keeps the JSON 404', async () => {
    for (const route of ['/v2/whatever', '/unknown', '/keys/a/b', '/setupx', '/users/x', '/favicon.ico', '/robots.txt', `/keys/${'k'.repeat(101)}`]) {
      const answer = await get(base, route);
      expect(answer.status, route).toBe(404);
      expect(JSON.parse(answer.body.toString()), route).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it('answers a missing asset with 404 JSON, never with index.html', async () => {
    const answer = await get(base, '/assets/app-missing.js');
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(JSON.parse(answer.body.toString())).toMatchObject({ error: { code: 'not_found' } });
    expectSecurityHeaders(answer);
  });

  it('refuses path traversal in every spelling and never reveals files beside the build', async () => {
    const attacks = [
      '/../secret.txt',
      '/../../secret.txt',
      '/assets/../../secret.txt',
      '/assets/../../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/..\\..\\secret.txt',
      '//secret.txt',
      '/assets//../../secret.txt',
      '/.vite/manifest.json',
      '/%2evite/manifest.json',
      '/index.html%00.js',
      '/assets/app-abc123.js%00',
      '/assets/app-abc123.js/..',
      '/./secret.txt',
      '/secret.txt',
      `/${'a/'.repeat(400)}x`,
    ];
    for (const attack of attacks) {
      const answer = await get(base, attack);
      const text = answer.body.toString();
      expect(text, attack).not.toContain(SECRET_NEXT_TO_BUILD);
      expect(text, attack).not.toContain('build metadata');
      expect(answer.status, attack).toBe(404);
      expectSecurityHeaders(answer);
    }
  });

  it('serves index.html only through its client routes, not at /index.html (one URL, one cache policy)', async () => {
    expect((await get(base, '/index.html')).status).toBe(404);
  });

  it('does not answer for server paths the console must never shadow', async () => {
    for (const route of ['/admin', '/admin/', '/v1', '/v1/x', '/metrics/x', '/healthz/', '/readyz/x', '/leaks', '/leaks/github']) {
      const answer = await get(base, route);
      expect(answer.status, route).toBe(404);
      expect(answer.body.toString(), route).not.toContain('<html');
    }
  });

  it('answers other methods on server paths with 404 as before the console existed (never 405)', async () => {
    for (const [method, route] of [['PUT', '/admin'], ['POST', '/v1'], ['DELETE', '/leaks'], ['POST', '/assets/x.js'], ['PATCH', '/../etc']]) {
      expect((await get(base, route as string, { method: method as string })).status, `${method} ${route}`).toBe(404);
    }
  });

  it('allows only GET and HEAD; HEAD has headers and no body', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const answer = await get(base, '/', { method });
      expect(answer.status, method).toBe(405);
      expect(answer.headers.allow).toBe('GET, HEAD');
      expectSecurityHeaders(answer);
    }
    const head = await get(base, '/keys', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(INDEX));
  });

  it('loads nothing when the build is missing', () => {
    expect(loadConsoleAssets(path.join(root, 'no-such-dir'))).toBeNull();
  });
});
