// An idle console session is sent back to sign-in. The server runs with the shortest idle timeout the config
// allows (ui.session.idleMinutes: 1), so the test waits a little over a minute: real time, no clock tricks.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiSession } from './api-session.js';
import { AUTH_API_PRESENT, launchBrowser, newPage, PASSWORD, screenshot, seriousA11yViolations, startConsoleServer, waitForSetupLink, type ConsoleServer } from './browser-support.js';

const IDLE_MS = 60_000;
let server: ConsoleServer;
let browser: Browser;

beforeAll(async () => {
  if (!AUTH_API_PRESENT) return;
  [server, browser] = await Promise.all([startConsoleServer({ ui: { session: { idleMinutes: 1 } } }), launchBrowser()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe.skipIf(!AUTH_API_PRESENT)('console session expiry', () => {
  it('an idle session is sent back to sign-in with a message', async () => {
    const owner = new ApiSession(server.url);
    await owner.setupWithTotp(await waitForSetupLink(server), 'sleepy', PASSWORD);
    const authenticator = owner.authenticator;
    if (!authenticator) throw new Error('no authenticator');
    const { context, page } = await newPage(browser);
    try {
      await page.goto(`${server.url}/`, { waitUntil: 'networkidle' });
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await seriousA11yViolations(page)).toEqual([]);
      await screenshot(page, 'sign-in');
      await page.getByLabel('User name').fill('sleepy');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByLabel('Code from your authenticator app').fill(await authenticator.freshCode());
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.locator('[data-ready="overview"]').waitFor();
      await page.waitForTimeout(IDLE_MS + 5_000);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Keys' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 10_000 });
      await expect(page.getByRole('status').first().textContent()).resolves.toMatch(/session has ended/i);
      // The cookie of the ended session is refused by the API too.
      const status = await page.evaluate<number>(`fetch('/admin/v1/keys').then((r) => r.status)`);
      expect(status).toBe(401);
    } finally {
      await context.close();
    }
  }, 120_000);
});
