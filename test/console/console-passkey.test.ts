// Passkeys in a real browser: Chrome's virtual authenticator (CDP WebAuthn domain) stands in for a platform
// authenticator with user verification. Enrolment as the first factor at setup, then passwordless sign-in with
// the discoverable credential, then a passkey as the second factor after a password.
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiSession } from './api-session.js';
import { AUTH_API_PRESENT, launchBrowser, newPage, PASSWORD, screenshot, seriousA11yViolations, startConsoleServer, waitForSetupLink, type ConsoleServer } from './browser-support.js';

let server: ConsoleServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;
let watch: { problems: string[] };
/** WebAuthn needs a valid RP ID: a host name (localhost is a secure context), not an IP address. */
let origin = '';
/** The virtual authenticator's id, from CDP. */
let authenticator = '';

beforeAll(async () => {
  if (!AUTH_API_PRESENT) return;
  [server, browser] = await Promise.all([startConsoleServer(), launchBrowser()]);
  origin = server.url.replace('127.0.0.1', 'localhost');
  const owner = new ApiSession(server.url);
  await owner.setupWithTotp(await waitForSetupLink(server), 'owner', PASSWORD);
  const link = await owner.createUser('keyholder', 'admin');
  ({ context, page, watch } = await newPage(browser));
  cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const added = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  authenticator = added.authenticatorId;
  await page.goto(link.replace(/^https?:\/\/[^/]+/, origin), { waitUntil: 'networkidle' });
}, 90_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
});

async function signOut(): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

describe.skipIf(!AUTH_API_PRESENT)('passkeys with a virtual authenticator', () => {
  it('enrols a passkey as the first factor at setup and shows the recovery codes once', async () => {
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await page.getByLabel('User name').fill('keyholder');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    expect(await page.getByTestId('recovery-codes').locator('code').count()).toBe(10);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'recovery-codes');
    await page.getByRole('button', { name: 'I saved them, continue' }).click();
    await page.locator('[data-ready="overview"]').waitFor();
    const { credentials } = (await cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator })) as { credentials: { isResidentCredential: boolean }[] };
    expect(credentials).toHaveLength(1);
    expect(credentials[0]?.isResidentCredential).toBe(true);
  });

  it('signs in without a password with the discoverable passkey', async () => {
    await signOut();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.locator('[data-ready="overview"]').waitFor();
    const session = await page.evaluate<{ state: string; user?: { name: string } }>(`fetch('/admin/v1/auth/session').then((r) => r.json())`);
    expect(session.state).toBe('signed_in');
    expect(session.user?.name).toBe('keyholder');
  });

  it('uses the passkey as the second factor after a password', async () => {
    await signOut();
    await page.getByLabel('User name').fill('keyholder');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
    await page.getByRole('button', { name: 'Use your passkey' }).click();
    await page.locator('[data-ready="overview"]').waitFor();
    expect(watch.problems).toEqual([]);
  });

  it('refuses a passkey sign-in once the authenticator no longer holds the credential', async () => {
    await signOut();
    await cdp.send('WebAuthn.clearCredentials', { authenticatorId: authenticator });
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.locator('[data-ready="overview"]').count()).toBe(0);
  });
});

