import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { ConsoleClient, errorCode, nextStep, setUpOwner, signIn, totpCode, type EnrolledUser } from './console-client.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

let h: Harness;
let owner: EnrolledUser;
beforeAll(async () => {
  h = await startHarness();
  owner = await setUpOwner(h);
});
afterAll(async () => {
  await h.close();
});

/** Step-up takes a TOTP code from a signed-in session: a cheap way to try many codes without signing in each time. */
const stepUp = (browser: ConsoleClient, code: string) => browser.call('POST', '/auth/step-up', { code });

describe('TOTP: single use, ±1 step', () => {
  it('a code is accepted once; the same step sent again (also as another string form) is refused', async () => {
    const code = totpCode(owner.otpauthUrl, h.clock.now());
    const first = await stepUp(owner.browser, code);
    expect(first.status).toBe(200);
    expect(typeof first.body.step_up_until).toBe('number');
    for (const form of [code, `${code.slice(0, 3)} ${code.slice(3)}`, ` ${code}`, `${code.slice(0, 3)}-${code.slice(3)}`]) {
      const replay = await stepUp(owner.browser, form);
      expect(replay.status).toBe(401);
      expect(errorCode(replay.body)).toBe('invalid_second_factor');
    }
    // Four failures: one short of the lockout; the window then moves past them.
    nextStep(h);
    h.clock.advance(16 * 60_000);
  });

  it('codes from step −1 and +1 are accepted, −2 and +2 refused', async () => {
    nextStep(h);
    nextStep(h);
    const now = h.clock.now();
    expect((await stepUp(owner.browser, totpCode(owner.otpauthUrl, now - 60_000))).status).toBe(401);
    expect((await stepUp(owner.browser, totpCode(owner.otpauthUrl, now + 60_000))).status).toBe(401);
    expect((await stepUp(owner.browser, totpCode(owner.otpauthUrl, now - 30_000))).status).toBe(200);
    expect((await stepUp(owner.browser, totpCode(owner.otpauthUrl, now + 30_000))).status).toBe(200);
    // After +1 was used, the current step (earlier than +1, still inside the window) is a replay.
    expect((await stepUp(owner.browser, totpCode(owner.otpauthUrl, now))).status).toBe(401);
    h.clock.advance(16 * 60_000);
  });

  it('a replayed sign-in code is refused to a second browser that knows the password', async () => {
    nextStep(h);
    const a = new ConsoleClient(h);
    const b = new ConsoleClient(h);
    await a.call('POST', '/auth/login', { name: owner.name, password: owner.password });
    await b.call('POST', '/auth/login', { name: owner.name, password: owner.password });
    const code = totpCode(owner.otpauthUrl, h.clock.now());
    expect((await a.call('POST', '/auth/mfa/totp', { code })).body.state).toBe('signed_in');
    const replay = await b.call('POST', '/auth/mfa/totp', { code });
    expect(errorCode(replay.body)).toBe('invalid_second_factor');
    expect((await b.call('GET', '/keys')).status).toBe(401);
    expect((await a.call('GET', '/keys')).status).toBe(200);
  });

  it('malformed codes are refused without a 500', async () => {
    h.clock.advance(16 * 60_000);
    const browser = await signIn(h, owner);
    const codes = ['', 'abcdef', '1234567', '12345', '１２３４５６', '123456\u0000', 'x'.repeat(64)];
    for (const [i, code] of codes.entries()) {
      const answer = await stepUp(browser, code);
      expect(answer.status).toBe(401);
      expect(errorCode(answer.body)).toBe('invalid_second_factor');
      // Four at a time, then past the lockout window: this test is about parsing, not lockout.
      if (i % 4 === 3) h.clock.advance(16 * 60_000);
    }
    expect((await browser.call('POST', '/auth/step-up', { code: 'x'.repeat(65) })).status).toBe(400);
    expect((await browser.call('POST', '/auth/step-up', { code: 123456 })).status).toBe(400);
    expect((await browser.call('POST', '/auth/step-up', { code: ['123456'] })).status).toBe(400);
    const deep = await browser.call('POST', '/auth/step-up', undefined, { rawBody: `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}` });
    expect(deep.status).toBe(400);
    expect(errorCode(deep.body)).toBe('invalid_json');
    const huge = await browser.call('POST', '/auth/step-up', undefined, { rawBody: JSON.stringify({ code: 'x'.repeat(200_000) }) });
    expect(huge.status).toBe(413);
    expect((await browser.call('POST', '/auth/step-up', undefined, { rawBody: '{"code":' })).status).toBe(400);
    h.clock.advance(16 * 60_000);
  });
});

describe('recovery codes', () => {
  it('a recovery code signs in once, then never again; the count goes down', async () => {
    const code = owner.recoveryCodes[0]!;
    const first = new ConsoleClient(h);
    await first.call('POST', '/auth/login', { name: owner.name, password: owner.password });
    const used = await first.call('POST', '/auth/mfa/recovery', { code: code.toLowerCase() });
    expect(used.body.state).toBe('signed_in');
    const session = await first.call<{ user: { mfa: { recovery_codes_left: number } } }>('GET', '/auth/session');
    expect(session.body.user.mfa.recovery_codes_left).toBe(9);
    const second = new ConsoleClient(h);
    await second.call('POST', '/auth/login', { name: owner.name, password: owner.password });
    const again = await second.call('POST', '/auth/mfa/recovery', { code });
    expect(errorCode(again.body)).toBe('invalid_second_factor');
    const audit = await h.admin<{ data: Array<{ actor: string; action: string }> }>('GET', '/audit?limit=500');
    expect(audit.body.data.filter((e) => e.action === 'user.recovery_code_used' && e.actor === `user:${owner.id}`)).toHaveLength(1);
  });
});
