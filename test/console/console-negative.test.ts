// Attacks on the console's sign-in and sessions, driven through Chromium where a user would act and with
// hand-made requests where an attacker would: password and TOTP lockout, TOTP replay, a viewer's forged POST,
// CSRF (no token, foreign Origin). The idle-session test is in console-expiry.test.ts (its own short timeout).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiSession } from './api-session.js';
import { AUTH_API_PRESENT, launchBrowser, newPage, PASSWORD, screenshot, seriousA11yViolations, startConsoleServer, waitForSetupLink, type ConsoleServer } from './browser-support.js';

let server: ConsoleServer;
let browser: Browser;
let owner: ApiSession;

async function signInForm(page: Page, name: string, password: string): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function newUser(name: string, role: 'admin' | 'viewer'): Promise<ApiSession> {
  const user = new ApiSession(server.url);
  await user.setupWithTotp(await owner.createUser(name, role), name, PASSWORD);
  return user;
}

async function keyCount(): Promise<number> {
  const res = await fetch(`${server.url}/admin/v1/keys`, { headers: { authorization: `Bearer ${server.adminToken}` } });
  return ((await res.json()) as { data: unknown[] }).data.length;
}

beforeAll(async () => {
  if (!AUTH_API_PRESENT) return;
  [server, browser] = await Promise.all([startConsoleServer(), launchBrowser()]);
  owner = new ApiSession(server.url);
  await owner.setupWithTotp(await waitForSetupLink(server), 'owner', PASSWORD);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe.skipIf(!AUTH_API_PRESENT)('console attacks', () => {
  it('five wrong passwords lock the account; the right password is then refused with a clear message', async () => {
    await newUser('pw-victim', 'admin');
    const { context, page } = await newPage(browser);
    try {
      await page.goto(`${server.url}/`, { waitUntil: 'networkidle' });
      for (let i = 0; i < 5; i++) {
        await signInForm(page, 'pw-victim', `wrong password number ${i}`);
        await page.getByRole('alert').waitFor();
      }
      await signInForm(page, 'pw-victim', PASSWORD);
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/locked/i);
      expect(await seriousA11yViolations(page)).toEqual([]);
      await screenshot(page, 'sign-in-locked');
      // Still locked through the API, with the stable code.
      const api = new ApiSession(server.url);
      const res = await api.call<{ error: { code: string } }>('POST', '/auth/login', { name: 'pw-victim', password: PASSWORD });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('account_locked');
    } finally {
      await context.close();
    }
  }, 120_000);

  it('five wrong TOTP codes lock the account; a replayed code is refused', async () => {
    const victim = await newUser('totp-victim', 'admin');
    const authenticator = victim.authenticator;
    if (!authenticator) throw new Error('no authenticator');
    const { context, page } = await newPage(browser);
    try {
      // Replay: a code accepted once is refused the second time, even within its 30 s step.
      await page.goto(`${server.url}/`, { waitUntil: 'networkidle' });
      await signInForm(page, 'totp-victim', PASSWORD);
      await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
      expect(await seriousA11yViolations(page)).toEqual([]);
      await screenshot(page, 'second-factor');
      const code = await authenticator.freshCode();
      await page.getByLabel('Code from your authenticator app').fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.locator('[data-ready="overview"]').waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signInForm(page, 'totp-victim', PASSWORD);
      await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
      await page.getByLabel('Code from your authenticator app').fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('alert').waitFor();
      expect(await page.locator('[data-ready="overview"]').count()).toBe(0);

      // Lockout: five wrong codes, then even a fresh right code is refused.
      // Each submission waits for its own answer: the page is already loaded, so a load-state wait would return at
      // once and the last check could read the previous attempt's alert on a busy machine.
      const submitCode = async (value: string): Promise<void> => {
        const answered = page.waitForResponse((res) => res.url().endsWith('/auth/mfa/totp') && res.request().method() === 'POST');
        await page.getByLabel('Code from your authenticator app').fill(value);
        await page.getByRole('button', { name: 'Verify' }).click();
        expect((await answered).status()).toBeGreaterThanOrEqual(400);
      };
      for (let i = 0; i < 5; i++) await submitCode(authenticator.wrongCode());
      await submitCode(await authenticator.freshCode());
      await page.getByRole('alert').filter({ hasText: /locked/i }).waitFor({ timeout: 15_000 });
      expect(await page.locator('[data-ready="overview"]').count()).toBe(0);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a viewer sees no create button, and a hand-made POST from the viewer page is refused', async () => {
    const authenticator = (await newUser('auditor', 'viewer')).authenticator;
    if (!authenticator) throw new Error('no authenticator');
    const before = await keyCount();
    const { context, page } = await newPage(browser);
    try {
      await page.goto(`${server.url}/`, { waitUntil: 'networkidle' });
      await signInForm(page, 'auditor', PASSWORD);
      await page.getByLabel('Code from your authenticator app').fill(await authenticator.freshCode());
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.locator('[data-ready="overview"]').waitFor();
      await page.goto(`${server.url}/keys`, { waitUntil: 'networkidle' });
      await page.getByRole('heading', { name: 'Keys', exact: true }).waitFor();
      expect(await page.getByRole('link', { name: 'Create key' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: /create/i }).count()).toBe(0);
      // The page's own CSRF token, a same-origin fetch: only the role check stands in the way.
      const status = await page.evaluate<number>(`(async () => {
        const s = await (await fetch('/admin/v1/auth/session')).json();
        const r = await fetch('/admin/v1/keys', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf_token }, body: JSON.stringify({ name: 'forged' }) });
        return r.status;
      })()`);
      expect(status).toBe(403);
      expect(await keyCount()).toBe(before);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a state-changing request without the CSRF token, or from another origin, is refused and changes nothing', async () => {
    const before = await keyCount();
    const { context, page } = await newPage(browser);
    try {
      await context.addCookies([{ name: owner.cookie.split('=')[0] ?? '', value: owner.cookie.slice(owner.cookie.indexOf('=') + 1), url: server.url, httpOnly: true, sameSite: 'Strict' }]);
      await page.goto(`${server.url}/keys`, { waitUntil: 'networkidle' });
      const noToken = await page.evaluate<number>(
        `fetch('/admin/v1/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'csrf-1' }) }).then((r) => r.status)`,
      );
      expect(noToken).toBe(403);
    } finally {
      await context.close();
    }
    const wrongToken = await owner.call<{ error: { code: string } }>('POST', '/keys', { name: 'csrf-2' }, { 'x-csrf-token': 'A'.repeat(43) });
    expect(wrongToken.status).toBe(403);
    expect(wrongToken.body.error.code).toBe('csrf_failed');
    const foreign = await owner.call<{ error: { code: string } }>('POST', '/keys', { name: 'csrf-3' }, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('csrf_failed');
    const nullOrigin = await owner.call('POST', '/keys', { name: 'csrf-4' }, { origin: 'null' });
    expect(nullOrigin.status).toBe(403);
    expect(await keyCount()).toBe(before);
    // The same call with the token and no foreign origin works: the refusals above were the CSRF check.
    const fine = await owner.call('POST', '/keys', { name: 'csrf-control' });
    expect(fine.status).toBe(201);
  });
});
