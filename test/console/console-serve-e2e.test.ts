// The console as `keywarden serve` ships it: same port as the gateway, never in the way of /v1, /admin, probes
// or /metrics, strict headers, runs in Chromium under its CSP, and off with `ui.enabled: false`.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../src/console-serve/index.js';
import { launchBrowser, newPage, startConsoleServer, type ConsoleServer } from './browser-support.js';

let server: ConsoleServer;
let disabled: ConsoleServer;
let browser: Browser;

beforeAll(async () => {
  [server, disabled, browser] = await Promise.all([startConsoleServer(), startConsoleServer({ ui: { enabled: false } }), launchBrowser()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([server?.close(), disabled?.close()]);
});

describe('console served by keywarden serve', () => {
  it('serves the app at / and client routes with the security headers', async () => {
    for (const route of ['/', '/keys', '/keys/key_x', '/setup']) {
      const res = await fetch(`${server.url}${route}`);
      expect(res.status, route).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.text()).toContain('<div id="app">');
    }
  });

  it('leaves the gateway, admin API, probes and metrics exactly as before', async () => {
    const v1 = await fetch(`${server.url}/v1/models`);
    expect(v1.status).toBe(401);
    expect(((await v1.json()) as { error: { type: string } }).error.type).toBeDefined();
    const admin = await fetch(`${server.url}/admin/v1/keys`);
    expect(admin.status).toBe(401);
    expect(admin.headers.get('content-type')).toMatch(/json/);
    const healthz = await fetch(`${server.url}/healthz`);
    expect(await healthz.json()).toMatchObject({ status: 'ok' });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    for (const route of ['/admin', '/v1', '/leaks/x', '/metrics/x']) {
      const res = await fetch(`${server.url}${route}`);
      expect(res.status, route).toBe(404);
      expect(await res.text(), route).not.toContain('<html');
    }
  });

  it('answers / with 404 JSON when ui.enabled is false, and the gateway still works', async () => {
    const res = await fetch(`${disabled.url}/`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
    expect(res.headers.get('content-security-policy')).toBeNull();
    expect((await fetch(`${disabled.url}/healthz`)).status).toBe(200);
  });

  it('runs in Chromium under its CSP: no violation, no uncaught error, assets cached for a year', async () => {
    const { context, page, watch } = await newPage(browser);
    try {
      const assetCache: string[] = [];
      page.on('response', (res) => {
        if (res.url().includes('/assets/')) assetCache.push(res.headers()['cache-control'] ?? '');
      });
      const res = await page.goto(`${server.url}/`, { waitUntil: 'networkidle' });
      expect(res?.status()).toBe(200);
      await page.locator('main').first().waitFor({ timeout: 10_000 });
      expect(assetCache.length).toBeGreaterThan(0);
      for (const value of assetCache) expect(value).toBe('public, max-age=31536000, immutable');
      expect(watch.problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
