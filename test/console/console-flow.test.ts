// The console end to end in Chromium against a real `keywarden serve`: first run → owner → forced TOTP
// enrolment → overview; a key created in the form is used by the official SDK, its request and cost show on the
// key page and the overview, revoking it in the UI makes the SDK get 401, and the audit page shows both actions
// by the user and verifies the chain. Every screen is checked with axe and photographed; no secret survives in
// the page, cookies visible to JS, storage or the server's output.
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Authenticator,
  browserExposure,
  launchBrowser,
  newPage,
  PASSWORD,
  screenshot,
  seriousA11yViolations,
  startConsoleServer,
  waitForSetupLink,
  type ConsoleServer,
  AUTH_API_PRESENT,
} from './browser-support.js';

let server: ConsoleServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: { problems: string[] };
let authenticator: Authenticator;
let totpSecret = '';
let recoveryCodes: string[] = [];
let virtualKey = '';
let keyId = '';
let userId = '';
const secondUpstreamKey = `sk-proj-${randomBytes(36).toString('base64url')}`;

/** Everything that must never show up in the page, JS-visible cookies, storage or logs. */
const secrets = (): Record<string, string> => ({
  'virtual key': virtualKey,
  'upstream key': server.upstreamKey,
  'second upstream key': secondUpstreamKey,
  password: PASSWORD,
  'TOTP seed': totpSecret,
  ...Object.fromEntries(recoveryCodes.map((c, i) => [`recovery code ${i}`, c])),
});

async function expectAccessible(name: string): Promise<void> {
  expect(await seriousA11yViolations(page), name).toEqual([]);
}

async function settle(): Promise<void> {
  await page.waitForLoadState('networkidle', { timeout: 10_000 });
}

async function go(path: string): Promise<void> {
  await page.goto(`${server.url}${path}`, { waitUntil: 'networkidle' });
}

/** Reloads (bounded) until `check` passes: usage is written within ~20 ms, rollups may lag a moment. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(500);
    await page.reload({ waitUntil: 'networkidle' });
  }
}

beforeAll(async () => {
  if (!AUTH_API_PRESENT) return;
  [server, browser] = await Promise.all([startConsoleServer(), launchBrowser()]);
  ({ context, page, watch } = await newPage(browser));
}, 60_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
});

describe.skipIf(!AUTH_API_PRESENT)('console first run and key lifecycle', () => {
  it('first run: setup link → owner account → forced TOTP enrolment → recovery codes → overview', async () => {
    const link = await waitForSetupLink(server);
    await page.goto(link, { waitUntil: 'networkidle' });
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    // The token lives in the fragment and is dropped from the address bar at once.
    expect(page.url()).not.toContain('token=');
    await expectAccessible('setup');
    await screenshot(page, 'setup');
    await page.getByLabel('User name').fill('owner');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();

    await page.getByRole('heading', { name: 'Set up a second factor' }).waitFor();
    // Enrolment is forced: the overview is out of reach until a factor exists.
    await go('/keys');
    await page.getByRole('heading', { name: 'Set up a second factor' }).waitFor();
    await go('/');
    await page.getByRole('button', { name: 'Use an authenticator app' }).click();
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
    totpSecret = (await page.getByTestId('totp-secret').textContent())?.trim() ?? '';
    expect(totpSecret).toMatch(/^[A-Z2-7]{16,}$/);
    authenticator = new Authenticator(totpSecret);
    await expectAccessible('enrol');
    await screenshot(page, 'mfa-enrol');
    await page.getByLabel('6-digit code').fill(await authenticator.freshCode());
    await page.getByRole('button', { name: 'Verify and continue' }).click();

    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    recoveryCodes = (await page.getByTestId('recovery-codes').locator('code').allTextContents()).map((c) => c.trim());
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    await expectAccessible('recovery codes');
    await page.getByRole('button', { name: 'I saved them, continue' }).click();

    await page.locator('[data-ready="overview"]').waitFor();
    await expectAccessible('overview');
    const session = await page.evaluate<{ user?: { id: string; role: string } }>(`fetch('/admin/v1/auth/session').then((r) => r.json())`);
    expect(session.user?.role).toBe('owner');
    userId = session.user?.id ?? '';
    expect(userId).not.toBe('');
  });

  it('creates a key in the form; the secret is shown once and works with the official SDK', async () => {
    await go('/keys');
    await page.getByRole('heading', { name: 'Keys', exact: true }).waitFor();
    await page.getByRole('heading', { name: 'No keys yet' }).waitFor();
    await expectAccessible('keys (empty)');
    await page.getByRole('link', { name: 'Create key' }).click();
    await page.getByRole('heading', { name: 'Create key' }).waitFor();
    await page.getByLabel('Name').fill('ci-bot');
    await page.getByLabel('Models').fill('gpt-4o-mini');
    await page.getByLabel('Requests per minute').fill('120');
    await page.getByLabel('Monthly budget (USD)').fill('25');
    await expectAccessible('create key');
    await screenshot(page, 'key-create');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = page.getByTestId('new-key-secret');
    await secret.waitFor();
    virtualKey = (await secret.textContent())?.trim() ?? '';
    expect(virtualKey).toMatch(/^kw_[A-Za-z0-9]{20,}$/);
    await expectAccessible('key created');

    const client = new OpenAI({ apiKey: virtualKey, baseURL: `${server.url}/v1`, maxRetries: 0, timeout: 10_000 });
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    expect(completion.choices[0]?.message.content).toBeTruthy();

    await page.getByRole('link', { name: 'Done, go to the key' }).click();
    await page.getByRole('heading', { name: /ci-bot/ }).waitFor();
    keyId = new URL(page.url()).pathname.split('/').pop() ?? '';
    expect(keyId).toMatch(/^key_/);
    // Shown once: the key page (and a reload) never carries the secret again.
    expect(await page.content()).not.toContain(virtualKey);
  });

  it('shows the request and its cost on the key page and the overview', async () => {
    await eventually(async () => (await page.getByTestId('request-cost').count()) > 0, 'the request on the key page');
    const cost = (await page.getByTestId('request-cost').first().textContent()) ?? '';
    // The fake bills a few tokens: a sub-cent amount shown with its significant digits, never rounded to $0.00.
    expect(cost).toMatch(/^\$0\.0*[1-9]\d*$/);
    await expect(page.getByTestId('recent-requests').textContent()).resolves.toContain('gpt-4o-mini');
    await expectAccessible('key detail');
    await screenshot(page, 'key-detail');

    await go('/');
    await page.locator('[data-ready="overview"]').waitFor();
    await eventually(async () => (await page.getByTestId('top-key-cost').count()) > 0, 'the key on the overview');
    await expect(page.getByRole('link', { name: 'ci-bot' }).first().isVisible()).resolves.toBe(true);
    const overviewCost = (await page.getByTestId('top-key-cost').first().textContent()) ?? '';
    expect(overviewCost).toBe(cost);
    await screenshot(page, 'overview');
  });

  it('revokes the key in the UI after a confirmation naming it; the SDK then gets 401', async () => {
    await go(`/keys/${keyId}`);
    await page.getByRole('button', { name: 'Revoke', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke key ci-bot?' });
    await dialog.waitFor();
    await expectAccessible('revoke dialog');
    await dialog.getByRole('button', { name: 'Revoke ci-bot' }).click();
    await page.locator('.badge-revoked').first().waitFor();

    const client = new OpenAI({ apiKey: virtualKey, baseURL: `${server.url}/v1`, maxRetries: 0, timeout: 10_000 });
    const refused = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'again' }] }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
  });

  it('audit page shows both actions with the user as actor, and "verify chain" passes', async () => {
    await go('/audit');
    const table = page.getByTestId('audit-table');
    await table.waitFor();
    const rows = await table.locator('tbody tr').allTextContents();
    const actor = `user:${userId}`;
    expect(rows.some((r) => r.includes('key.created') && r.includes(actor) && r.includes(keyId))).toBe(true);
    expect(rows.some((r) => r.includes('key.revoked') && r.includes(actor) && r.includes(keyId))).toBe(true);
    await page.getByLabel('Action').fill('key.revoked');
    expect(await table.locator('tbody tr').count()).toBe(1);
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await expect(page.getByTestId('verify-result').textContent()).resolves.toContain('Chain verified');
    await expectAccessible('audit');
    await screenshot(page, 'audit');
  });

  it('every other screen passes axe and is photographed, at 1280 px and (overview, keys) at 375 px', async () => {
    for (const [path, heading, name] of [
      ['/keys', 'Keys', 'keys'],
      ['/upstreams', 'Upstreams', 'upstreams'],
      ['/alerts', 'Alerts', 'alerts'],
      ['/usage', 'Usage', 'usage'],
      ['/security', 'Security', 'security'],
      ['/sessions', 'Sessions', 'sessions'],
      ['/users', 'Users', 'users'],
    ] as const) {
      await go(path);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await settle();
      await expectAccessible(name);
      await screenshot(page, name);
    }
    await page.setViewportSize({ width: 375, height: 812 });
    await go('/');
    await page.locator('[data-ready="overview"]').waitFor();
    await settle();
    await expectAccessible('overview 375');
    await screenshot(page, 'overview-375');
    await go('/keys');
    await page.getByRole('heading', { name: 'Keys', exact: true }).waitFor();
    await expectAccessible('keys 375');
    await screenshot(page, 'keys-375');
    // The menu collapses at phone width and opens on demand.
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).waitFor();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await go('/');
    await page.locator('[data-ready="overview"]').waitFor();
    await settle();
    await expectAccessible('overview dark');
    await screenshot(page, 'overview-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  }, 150_000);

  it('adds an upstream through a password field; afterwards only its last 4 characters are shown', async () => {
    await go('/upstreams');
    await page.getByRole('heading', { name: 'Upstreams', exact: true }).waitFor();
    const field = page.getByLabel('Provider API key');
    expect(await field.getAttribute('type')).toBe('password');
    await page.getByLabel('Name', { exact: true }).fill('backup');
    await page.getByLabel('Base URL').fill(server.fake.url);
    await field.fill(secondUpstreamKey);
    await page.getByRole('button', { name: 'Add upstream' }).click();
    // Sign-in was a fresh second factor (step-up lasts 5 minutes); otherwise the step-up dialog would ask here.
    const row = page.getByRole('row', { name: /backup/ });
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain(`…${secondUpstreamKey.slice(-4)}`);
    expect(await field.inputValue()).toBe('');
    expect(await page.content()).not.toContain(secondUpstreamKey);
  });

  it('no secret in the page source after a reload, in document.cookie, in storage, or in the server output', async () => {
    const cookies = await context.cookies();
    const session = cookies.find((c) => /kw_session$/.test(c.name));
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    const all = { ...secrets(), 'session id': session?.value ?? '' };
    for (const path of ['/', '/keys', `/keys/${keyId}`, '/audit', '/sessions']) {
      await go(path);
      const exposure = await browserExposure(page);
      for (const [what, value] of Object.entries(all)) {
        expect(value.length, what).toBeGreaterThan(5);
        expect(exposure.includes(value), `${what} visible on ${path}`).toBe(false);
      }
    }
    const output = server.output();
    for (const [what, value] of Object.entries(all)) expect(output.includes(value), `${what} in the server output`).toBe(false);
    expect(watch.problems).toEqual([]);
  });
});
