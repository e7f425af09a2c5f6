// The key form's model rules and metadata tags, end to end in Chromium against a real `keywarden serve`: a bad
// rule line is refused in the form with its line number and creates nothing; a key created with a deny rule, a
// per-model rpm and a tag is enforced for the official SDK exactly as the rules say, its page lists both, and an
// edit that clears them takes the rule off (the SDK is then answered again).
import OpenAI from 'openai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { ApiSession } from './api-session.js';
import { AUTH_API_PRESENT, launchBrowser, newPage, PASSWORD, screenshot, seriousA11yViolations, startConsoleServer, waitForSetupLink, type ConsoleServer } from './browser-support.js';

let server: ConsoleServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let owner: ApiSession;

interface ListedKey {
  id: string;
  name: string;
  metadata: Record<string, string>;
  limits: { model_rules?: unknown[] };
}

async function listedKeys(): Promise<ListedKey[]> {
  const res = await fetch(`${server.url}/admin/v1/keys?limit=200`, { headers: { authorization: `Bearer ${server.adminToken}` } });
  return ((await res.json()) as { data: ListedKey[] }).data;
}

async function apiErrorCode(call: Promise<unknown>): Promise<{ status: number; code: string }> {
  const err = await apiErrorOf(call);
  return { status: Number(err.status), code: String(err.code) };
}

beforeAll(async () => {
  if (!AUTH_API_PRESENT) return;
  [server, browser] = await Promise.all([startConsoleServer(), launchBrowser()]);
  owner = new ApiSession(server.url);
  await owner.setupWithTotp(await waitForSetupLink(server), 'owner', PASSWORD);
  ({ context, page } = await newPage(browser));
  await page.goto(`${server.url}/`, { waitUntil: 'networkidle' });
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('User name').fill('owner');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  if (!owner.authenticator) throw new Error('no authenticator');
  await page.getByLabel('Code from your authenticator app').fill(await owner.authenticator.freshCode());
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('[data-ready="overview"]').waitFor();
}, 120_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
});

describe.skipIf(!AUTH_API_PRESENT)('the key form: model rules and tags', () => {
  it('refuses a malformed rule line with its line number and creates no key', async () => {
    await page.goto(`${server.url}/keys/new`, { waitUntil: 'networkidle' });
    await page.getByRole('heading', { name: 'Create key' }).waitFor();
    await page.getByLabel('Name').fill('bad-rules');
    await page.getByLabel('Model rules').fill('gpt-4o-mini: rpm=1\ngpt-4o: rpm=lots');
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/line 2.*rpm=lots/);
    await page.getByLabel('Model rules').fill('gpt-4o: deny');
    await page.getByLabel('Tags').fill('team=search\nteam=ads');
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/Metadata, line 2/);
    expect(await page.getByTestId('new-key-secret').count()).toBe(0);
    expect((await listedKeys()).map((k) => k.name)).not.toContain('bad-rules');
  });

  it('creates a key with a deny rule, a per-model rpm and a tag; the SDK meets both rules, the key page lists them', async () => {
    await page.goto(`${server.url}/keys/new`, { waitUntil: 'networkidle' });
    await page.getByRole('heading', { name: 'Create key' }).waitFor();
    await page.getByLabel('Name').fill('ruled');
    await page.getByLabel('Model rules').fill('gpt-4o: deny\ngpt-4o-mini: rpm=1');
    await page.getByLabel('Tags').fill('team=search\ncost-centre=r&d <b>');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'key-create-rules');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secretCell = page.getByTestId('new-key-secret');
    await secretCell.waitFor();
    const secret = (await secretCell.textContent())?.trim() ?? '';
    expect(secret).toMatch(/^kw_/);

    const listed = (await listedKeys()).find((k) => k.name === 'ruled');
    expect(listed?.metadata).toEqual({ team: 'search', 'cost-centre': 'r&d <b>' });
    expect(listed?.limits.model_rules).toEqual([{ match: 'gpt-4o', deny: true }, { match: 'gpt-4o-mini', rpm: 1 }]);

    const client = new OpenAI({ apiKey: secret, baseURL: `${server.url}/v1`, maxRetries: 0, timeout: 10_000 });
    const chat = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello' }] });
    const upstreamBefore = server.fake.requests.length;
    expect(await apiErrorCode(chat('gpt-4o'))).toEqual({ status: 403, code: 'model_not_allowed' });
    expect((await chat('gpt-4o-mini')).choices[0]?.message.content).toBeTruthy();
    expect(await apiErrorCode(chat('gpt-4o-mini'))).toEqual({ status: 429, code: 'rate_limit_exceeded' });
    // Only the one admitted request reached the upstream.
    expect(server.fake.requests.length - upstreamBefore).toBe(1);

    await page.getByRole('link', { name: 'Done, go to the key' }).click();
    await page.getByRole('heading', { name: /ruled/ }).waitFor();
    await expect(page.getByTestId('key-model-rules').textContent()).resolves.toBe('gpt-4o: deny\ngpt-4o-mini: rpm=1');
    // The tag is text, not markup.
    await expect(page.getByTestId('key-metadata').textContent()).resolves.toBe('team=searchcost-centre=r&d <b>');
    expect(await page.getByTestId('key-metadata').locator('b').count()).toBe(0);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'key-detail-rules');
    expect(await page.content()).not.toContain(secret);

    // Editing shows the rules and tags; clearing both takes the deny rule off.
    await page.getByRole('button', { name: 'Edit' }).click();
    await expect(page.getByLabel('Model rules').inputValue()).resolves.toBe('gpt-4o: deny\ngpt-4o-mini: rpm=1');
    await expect(page.getByLabel('Tags').inputValue()).resolves.toBe('team=search\ncost-centre=r&d <b>');
    await page.getByLabel('Model rules').fill('');
    await page.getByLabel('Tags').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('button', { name: 'Save' }).waitFor({ state: 'detached', timeout: 10_000 });
    await expect.poll(() => page.getByTestId('key-model-rules').textContent(), { timeout: 10_000 }).toBe('none');
    await expect(page.getByTestId('key-metadata').textContent()).resolves.toBe('none');
    const edited = (await listedKeys()).find((k) => k.name === 'ruled');
    expect(edited?.metadata).toEqual({});
    expect(edited?.limits.model_rules).toBeUndefined();
    expect((await chat('gpt-4o')).choices[0]?.message.content).toBeTruthy();
  }, 60_000);
});
