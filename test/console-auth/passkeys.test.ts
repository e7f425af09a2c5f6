import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { ConsoleClient, PASSWORD, errorCode, tokenOf } from './console-client.js';
import { SoftAuthenticator, otherKey, type AssertionOptions } from './soft-authenticator.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

let h: Harness;
let passkey: SoftAuthenticator;
let ownerId: string;

beforeAll(async () => {
  h = await startHarness();
  passkey = new SoftAuthenticator(h.server.url, new URL(h.server.url).hostname);
});
afterAll(async () => {
  await h.close();
});

/** Passwordless sign-in attempt in a fresh browser; `forged` tampers with the assertion. */
async function passwordless(forged: AssertionOptions = {}): Promise<{ browser: ConsoleClient; status: number; body: Record<string, unknown> }> {
  const browser = new ConsoleClient(h);
  const options = await browser.call<{ challenge: string; allowCredentials?: unknown[]; userVerification: string }>('POST', '/auth/passkeys/login/options', {});
  expect(options.status).toBe(200);
  expect(options.body.allowCredentials ?? []).toEqual([]);
  expect(options.body.userVerification).toBe('required');
  const verify = await browser.call('POST', '/auth/passkeys/login/verify', { response: passkey.assert(options.body, forged) });
  return { browser, status: verify.status, body: verify.body };
}

describe('passkeys (software authenticator, real @simplewebauthn verification)', () => {
  it('enrols a passkey as the first factor at setup: signed in, recovery codes issued', async () => {
    const browser = new ConsoleClient(h);
    await browser.call('POST', '/auth/setup', { token: tokenOf(h.server.notice.setupLink!), name: 'pat', password: PASSWORD });
    const options = await browser.call<{ challenge: string; rp: { id: string }; user: { id: string; name: string } }>('POST', '/auth/passkeys/register/options');
    expect(options.status).toBe(200);
    expect(options.body.rp.id).toBe('127.0.0.1');
    expect(options.body.user.name).toBe('pat');
    // A registration made for another origin is refused (and the challenge is spent).
    const phished = await browser.call('POST', '/auth/passkeys/register/verify', { response: passkey.register(options.body, { origin: 'https://keywarden.evil.example' }) });
    expect(errorCode(phished.body)).toBe('invalid_second_factor');
    const again = await browser.call<{ challenge: string; user: { id: string } }>('POST', '/auth/passkeys/register/options');
    const verify = await browser.call<{ state: string; recovery_codes: string[] }>('POST', '/auth/passkeys/register/verify', { response: passkey.register(again.body), name: 'laptop' });
    expect(verify.status).toBe(200);
    expect(verify.body.state).toBe('signed_in');
    expect(verify.body.recovery_codes).toHaveLength(10);
    const session = await browser.call<{ user: { id: string; mfa: unknown } }>('GET', '/auth/session');
    expect(session.body.user.mfa).toEqual({ totp: false, passkeys: 1, recovery_codes_left: 10 });
    ownerId = session.body.user.id;
    expect((await browser.call('GET', '/keys')).status).toBe(200);
  });

  it('signs in passwordless with the discoverable passkey (user verified)', async () => {
    const { browser, status, body } = await passwordless();
    expect(status).toBe(200);
    expect(body.state).toBe('signed_in');
    expect((await browser.call('GET', '/keys')).status).toBe(200);
    const audit = await h.admin<{ data: Array<{ actor: string; action: string; after: { method?: string } }> }>('GET', '/audit?limit=200');
    expect(audit.body.data.some((e) => e.action === 'user.signed_in' && e.actor === `user:${ownerId}` && e.after.method === 'passkey')).toBe(true);
  });

  it('refuses forged assertions: unknown challenge, foreign origin, wrong RP ID, wrong key, no user verification', async () => {
    const forgeries: AssertionOptions[] = [
      { challenge: randomBytes(32).toString('base64url') },
      { origin: 'https://keywarden.evil.example' },
      { rpId: 'evil.example' },
      { signWith: otherKey() },
    ];
    for (const forged of forgeries) {
      const before = passkey.counter;
      const { browser, status, body } = await passwordless(forged);
      expect(status, JSON.stringify(Object.keys(forged))).toBe(401);
      expect(errorCode(body)).toBe('invalid_second_factor');
      expect(browser.cookie).toBeNull();
      passkey.counter = before;
    }
    h.clock.advance(16 * 60_000);
    const noUv = await passwordless({ userVerified: false });
    expect(noUv.status).toBe(401);
    passkey.counter--;
    h.clock.advance(16 * 60_000);
  });

  it('refuses a replayed assertion and a counter that does not move forward', async () => {
    const browser = new ConsoleClient(h);
    const options = await browser.call<{ challenge: string }>('POST', '/auth/passkeys/login/options', {});
    const response = passkey.assert(options.body);
    expect((await browser.call('POST', '/auth/passkeys/login/verify', { response })).status).toBe(200);
    // The same bytes again: the challenge is spent.
    const replay = await new ConsoleClient(h).call('POST', '/auth/passkeys/login/verify', { response });
    expect(errorCode(replay.body)).toBe('invalid_second_factor');
    // A fresh challenge signed with an old counter (a cloned authenticator): refused.
    const stale = await passwordless({ counter: passkey.counter });
    expect(stale.status).toBe(401);
    const older = await passwordless({ counter: 1 });
    expect(older.status).toBe(401);
    // A challenge issued for registration cannot be used to sign in.
    h.clock.advance(16 * 60_000);
    const signedIn = (await passwordless()).browser;
    const stepUp = await signedIn.call<{ challenge: string }>('POST', '/auth/step-up/options');
    const crossPurpose = await new ConsoleClient(h).call('POST', '/auth/passkeys/login/verify', { response: passkey.assert(stepUp.body) });
    expect(errorCode(crossPurpose.body)).toBe('invalid_second_factor');
    h.clock.advance(16 * 60_000);
  });

  it('works as the second factor after a password, and for step-up', async () => {
    const browser = new ConsoleClient(h);
    expect((await browser.call('POST', '/auth/login', { name: 'pat', password: PASSWORD })).body.state).toBe('mfa_required');
    const options = await browser.call<{ challenge: string; allowCredentials: Array<{ id: string }> }>('POST', '/auth/passkeys/login/options', {});
    expect(options.body.allowCredentials.map((c) => c.id)).toEqual([passkey.id]);
    const verify = await browser.call('POST', '/auth/passkeys/login/verify', { response: passkey.assert(options.body) });
    expect(verify.body.state).toBe('signed_in');
    h.clock.advance(6 * 60_000);
    expect(errorCode((await browser.call('GET', '/users')).body)).toBe('step_up_required');
    const stepOptions = await browser.call<{ challenge: string }>('POST', '/auth/step-up/options');
    const stepped = await browser.call<{ step_up_until: number }>('POST', '/auth/step-up', { response: passkey.assert(stepOptions.body) });
    expect(stepped.status).toBe(200);
    expect((await browser.call('GET', '/users')).status).toBe(200);
    // The only factor cannot be removed (MFA is required for every account).
    const list = await browser.call<{ data: Array<{ id: string; name: string; last_used_at: string | null }> }>('GET', '/auth/passkeys');
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]!.name).toBe('laptop');
    expect(list.body.data[0]!.last_used_at).not.toBeNull();
    const last = await browser.call('DELETE', `/auth/passkeys/${encodeURIComponent(passkey.id)}`);
    expect(last.status).toBe(409);
    expect((await browser.call('DELETE', '/auth/totp')).status).toBe(404);
  });

  it('rejects malformed WebAuthn bodies with 400, never 500', async () => {
    const browser = new ConsoleClient(h);
    for (const response of [null, 'x', { id: 'x' }, { id: '!!', rawId: '!!', type: 'public-key', response: {} }, { id: 'a', rawId: 'a', type: 'public-key', response: { clientDataJSON: 'a', authenticatorData: 'a', signature: 'a' } }]) {
      const answer = await browser.call('POST', '/auth/passkeys/login/verify', { response });
      expect([400, 401]).toContain(answer.status);
    }
  });
});
