import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { ConsoleClient, errorCode, tokenOf, totpCode } from './console-client.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const PASSWORD = 'correct horse battery staple 7';

describe('first run: setup link, owner, forced TOTP enrolment, session on the admin API', () => {
  it('goes from the printed link to a signed-in owner whose cookie works on the admin API', async () => {
    const link = h.server.notice.setupLink;
    expect(link).toMatch(/\/setup#token=[A-Za-z0-9_-]{43}$/);
    const browser = new ConsoleClient(h);
    expect((await browser.call('GET', '/auth/session')).body.state).toBe('setup_required');

    const setup = await browser.call('POST', '/auth/setup', { token: tokenOf(link!), name: 'alice', password: PASSWORD });
    expect(setup.status).toBe(200);
    expect(setup.body.state).toBe('mfa_enrollment_required');
    expect(browser.cookie).toMatch(/^kw_session=/);
    const setCookie = setup.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);

    // Before a second factor: nothing but enrolment.
    const keys = await browser.call('GET', '/keys');
    expect(keys.status).toBe(403);
    expect(errorCode(keys.body)).toBe('mfa_enrollment_required');

    const start = await browser.call<{ otpauth_url: string; qr_svg: string }>('POST', '/auth/totp/enroll/start');
    expect(start.status).toBe(200);
    expect(start.body.otpauth_url).toMatch(/^otpauth:\/\/totp\//);
    expect(start.body.qr_svg).toMatch(/^<svg/);
    const before = browser.sessionId;
    const finish = await browser.call<{ state: string; recovery_codes: string[] }>('POST', '/auth/totp/enroll/finish', { code: totpCode(start.body.otpauth_url, h.clock.now()) });
    expect(finish.status).toBe(200);
    expect(finish.body.state).toBe('signed_in');
    expect(finish.body.recovery_codes).toHaveLength(10);
    expect(new Set(finish.body.recovery_codes).size).toBe(10);
    expect(browser.sessionId).not.toBe(before);

    const session = await browser.call('GET', '/auth/session');
    expect(session.body.state).toBe('signed_in');
    expect((session.body.user as { mfa: unknown }).mfa).toEqual({ totp: true, passkeys: 0, recovery_codes_left: 10 });

    const list = await browser.call('GET', '/keys');
    expect(list.status).toBe(200);
    const created = await browser.call<{ id: string; key: string }>('POST', '/keys', { name: 'from-console' });
    expect(created.status).toBe(201);
    const audit = await h.admin<{ data: Array<{ actor: string; action: string; target: string }> }>('GET', '/audit?limit=100');
    const entry = audit.body.data.find((e) => e.action === 'key.created' && e.target === `key:${created.body.id}`);
    expect(entry?.actor).toBe(`user:${(session.body.user as { id: string }).id}`);

    // The link was single-use.
    const again = await new ConsoleClient(h).call('POST', '/auth/setup', { token: tokenOf(link!), name: 'mallory', password: PASSWORD });
    expect(again.status).toBe(400);
    expect(errorCode(again.body)).toBe('setup_token_invalid');
  });
});
