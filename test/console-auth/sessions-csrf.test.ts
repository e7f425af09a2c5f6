import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { ConsoleClient, PASSWORD, addUser, errorCode, nextStep, setUpOwner, signIn, tokenOf, totpCode, seedOf, type EnrolledUser } from './console-client.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

let h: Harness;
let owner: EnrolledUser;
const browsers: ConsoleClient[] = [];
const sessionIds: string[] = [];

beforeAll(async () => {
  h = await startHarness({ config: { ui: { session: { idleMinutes: 30, absoluteHours: 12 } } } });
  owner = await setUpOwner(h);
  browsers.push(owner.browser);
});
afterAll(async () => {
  await h.close();
});

const keyNames = async (): Promise<string[]> => (await h.admin<{ data: Array<{ name: string }> }>('GET', '/keys')).body.data.map((k) => k.name);
const track = (b: ConsoleClient): ConsoleClient => {
  browsers.push(b);
  if (b.sessionId) sessionIds.push(b.sessionId);
  return b;
};

describe('CSRF', () => {
  it('a state-changing call with the cookie but no, a wrong or a stale CSRF token, or a foreign Origin, is refused and changes nothing', async () => {
    const b = owner.browser;
    const before = await keyNames();
    const attempts = [
      await b.call('POST', '/keys', { name: 'csrf-none' }, { csrf: false }),
      await b.call('POST', '/keys', { name: 'csrf-wrong' }, { csrf: 'x'.repeat(43) }),
      await b.call('POST', '/keys', { name: 'csrf-short' }, { csrf: b.csrf!.slice(0, 10) }),
      await b.call('POST', '/keys', { name: 'csrf-origin' }, { origin: 'https://evil.example' }),
      await b.call('POST', '/keys', { name: 'csrf-null-origin' }, { origin: 'null' }),
      await b.call('POST', '/auth/logout-all', {}, { csrf: false }),
    ];
    for (const answer of attempts) {
      expect(answer.status).toBe(403);
      expect(errorCode(answer.body)).toBe('csrf_failed');
    }
    expect(await keyNames()).toEqual(before);
    // The same origin and the right token pass.
    expect((await b.call('POST', '/keys', { name: 'csrf-ok' }, { origin: b.origin })).status).toBe(201);
    // A Bearer token needs no CSRF token (no cookie, no ambient authority).
    expect((await h.admin('POST', '/keys', { name: 'bearer-ok' })).status).toBe(201);
  });

  it('sign-in forms refuse a foreign Origin (login CSRF)', async () => {
    const b = new ConsoleClient(h);
    const login = await b.call('POST', '/auth/login', { name: owner.name, password: owner.password }, { origin: 'https://evil.example' });
    expect(errorCode(login.body)).toBe('csrf_failed');
    expect(b.cookie).toBeNull();
  });
});

describe('roles and forced enrolment through the session', () => {
  it('a viewer session reads but cannot create a key (403), even by a hand-made request', async () => {
    const viewer = await addUser(h, 'vera', 'viewer');
    track(viewer.browser);
    expect((await viewer.browser.call('GET', '/keys')).status).toBe(200);
    const create = await viewer.browser.call('POST', '/keys', { name: 'from-viewer' });
    expect(create.status).toBe(403);
    expect(errorCode(create.body)).toBe('admin_role_forbidden');
    expect((await viewer.browser.call('GET', '/admin-tokens')).status).toBe(403);
    expect((await viewer.browser.call('GET', '/users')).status).toBe(403);
    expect(await keyNames()).not.toContain('from-viewer');
  });

  it('a session that has only passed the password reaches nothing but enrolment and sign-out', async () => {
    await h.admin('POST', '/users', { name: 'newbie', role: 'owner', password: PASSWORD });
    const b = track(new ConsoleClient(h));
    expect((await b.call('POST', '/auth/login', { name: 'newbie', password: PASSWORD })).body.state).toBe('mfa_enrollment_required');
    for (const [method, route] of [
      ['GET', '/keys'],
      ['POST', '/keys'],
      ['GET', '/audit'],
      ['GET', '/auth/sessions'],
      ['POST', '/auth/step-up'],
      ['POST', '/auth/recovery-codes'],
    ] as const) {
      const answer = await b.call(method, route, method === 'POST' ? { name: 'x' } : undefined);
      expect(answer.status, `${method} ${route}`).toBe(403);
      expect(errorCode(answer.body)).toBe('mfa_enrollment_required');
    }
    expect((await b.call('POST', '/auth/logout')).status).toBe(200);
    expect((await b.call('GET', '/auth/session')).body.state).toBe('anonymous');
  });

  it('a session that still owes its second factor reaches nothing (401 mfa_required)', async () => {
    const b = track(new ConsoleClient(h));
    await b.call('POST', '/auth/login', { name: owner.name, password: owner.password });
    const keys = await b.call('GET', '/keys');
    expect(keys.status).toBe(401);
    expect(errorCode(keys.body)).toBe('mfa_required');
    expect(errorCode((await b.call('POST', '/auth/totp/enroll/start')).body)).toBe('mfa_required');
  });
});

describe('step-up', () => {
  it('adding an upstream and managing users need a second factor within 5 minutes; step-up then allows a retry', async () => {
    h.clock.advance(6 * 60_000);
    const b = owner.browser;
    const upstream = { name: 'stepup-upstream', provider: 'openai-compatible', base_url: h.fake.url, keys: [h.upstreamKey] };
    const refused = await b.call('POST', '/upstreams', upstream);
    expect(refused.status).toBe(403);
    expect(errorCode(refused.body)).toBe('step_up_required');
    for (const [method, route, body] of [
      ['GET', '/users', undefined],
      ['POST', '/users', { name: 'sneaky', role: 'owner' }],
      ['POST', '/admin-tokens', { name: 'escape-hatch', role: 'owner' }],
      ['POST', '/auth/recovery-codes', undefined],
      ['POST', '/auth/totp/enroll/start', undefined],
      ['POST', '/auth/passkeys/register/options', undefined],
    ] as const) {
      const answer = await b.call(method, route, body);
      expect(answer.status, `${method} ${route}`).toBe(403);
      expect(errorCode(answer.body)).toBe('step_up_required');
    }
    const users = await h.admin<{ data: Array<{ name: string }> }>('GET', '/users');
    expect(users.body.data.map((u) => u.name)).not.toContain('sneaky');
    // Other writes need no step-up.
    expect((await b.call('POST', '/keys', { name: 'no-step-up-needed' })).status).toBe(201);

    const session = await b.call('GET', '/auth/session');
    expect(session.body.step_up_until).toBeNull();
    const stepped = await b.call<{ step_up_until: number }>('POST', '/auth/step-up', { code: totpCode(owner.otpauthUrl, h.clock.now()) });
    expect(stepped.status).toBe(200);
    expect(stepped.body.step_up_until).toBeGreaterThan(h.clock.now() + 4 * 60_000);
    nextStep(h);
    expect((await b.call('POST', '/upstreams', upstream)).status).toBe(201);
    const created = await b.call<{ setup_url: string; id: string }>('POST', '/users', { name: 'invitee', role: 'admin' });
    expect(created.status).toBe(201);
    expect(created.body.setup_url).toMatch(/\/setup#token=/);
    expect(b.seen.join('\n')).toContain(tokenOf(created.body.setup_url));
    // ... and it runs out again.
    h.clock.advance(5 * 60_000 + 1_000);
    expect(errorCode((await b.call('GET', '/users')).body)).toBe('step_up_required');
    // An admin token is not a session: no step-up.
    expect((await h.admin('GET', '/users')).status).toBe(200);
  });
});

describe('session lifetime', () => {
  it('session ids rotate at sign-in and at MFA completion; the old ids stop working', async () => {
    const b = new ConsoleClient(h);
    await b.call('POST', '/auth/login', { name: owner.name, password: owner.password });
    const afterPassword = b.cookie;
    await b.call('POST', '/auth/mfa/totp', { code: totpCode(owner.otpauthUrl, h.clock.now()) });
    nextStep(h);
    const afterMfa = b.cookie;
    expect(afterMfa).not.toBe(afterPassword);
    track(b);
    const stale = new ConsoleClient(h);
    stale.cookie = afterPassword;
    const answer = await stale.call('GET', '/keys');
    expect(answer.status).toBe(401);
    expect(errorCode(answer.body)).toBe('session_expired');
    // A second sign-in gets yet another id, never the one the client came with (no fixation).
    const again = await signIn(h, owner);
    expect(again.cookie).not.toBe(afterMfa);
    track(again);
  });

  it('a revoked session (one revoked from another browser, and sign-out everywhere) answers 401 session_expired', async () => {
    const laptop = track(await signIn(h, owner));
    const phone = track(await signIn(h, owner));
    const list = await laptop.call<{ data: Array<{ id: string; current: boolean; ip: string; user_agent: string }> }>('GET', '/auth/sessions');
    expect(list.status).toBe(200);
    expect(list.body.data.filter((s) => s.current)).toHaveLength(1);
    const phoneSession = (await phone.call<{ data: Array<{ id: string; current: boolean }> }>('GET', '/auth/sessions')).body.data.find((s) => s.current)!;
    expect(phoneSession.id).toMatch(/^[0-9a-f]{16}$/);
    expect((await laptop.call('DELETE', `/auth/sessions/${phoneSession.id}`)).status).toBe(200);
    const revoked = await phone.call('GET', '/keys');
    expect(revoked.status).toBe(401);
    expect(errorCode(revoked.body)).toBe('session_expired');
    // Someone else's or an unknown session id is not found.
    expect((await laptop.call('DELETE', '/auth/sessions/0000000000000000')).status).toBe(404);

    const other = track(await signIn(h, owner));
    expect((await laptop.call('POST', '/auth/logout-all')).status).toBe(200);
    for (const b of [laptop, other, owner.browser]) expect(errorCode((await b.call('GET', '/keys')).body)).toMatch(/session_expired|invalid_admin_token/);
    owner.browser = track(await signIn(h, owner));
  });

  it('idle timeout (30 min) and absolute timeout (12 h) end a session, measured on the server clock', async () => {
    const idle = track(await signIn(h, owner));
    h.clock.advance(29 * 60_000);
    expect((await idle.call('GET', '/keys')).status).toBe(200);
    h.clock.advance(29 * 60_000);
    expect((await idle.call('GET', '/keys')).status).toBe(200);
    h.clock.advance(31 * 60_000);
    const expired = await idle.call('GET', '/keys');
    expect(expired.status).toBe(401);
    expect(errorCode(expired.body)).toBe('session_expired');

    const busy = track(await signIn(h, owner));
    for (let elapsed = 0; elapsed < 12 * 60; elapsed += 25) {
      h.clock.advance(25 * 60_000);
      const answer = await busy.call('GET', '/keys');
      if (elapsed + 25 < 12 * 60) expect(answer.status, `after ${elapsed + 25} min`).toBe(200);
      else expect(errorCode(answer.body)).toBe('session_expired');
    }
    owner.browser = track(await signIn(h, owner));
  });
});

describe('audit and secrets', () => {
  it('the audit chain holds the sign-in events with user:<id> actors and verifies', async () => {
    const audit = await h.admin<{ data: Array<{ actor: string; action: string; target: string }> }>('GET', '/audit?limit=1000');
    const mine = audit.body.data.filter((e) => e.actor === `user:${owner.id}`).map((e) => e.action);
    for (const action of ['user.created', 'user.mfa_enrolled', 'user.signed_in', 'user.step_up', 'user.session_revoked', 'user.signed_out_everywhere', 'upstream.added', 'key.created']) {
      expect(mine, action).toContain(action);
    }
    const verify = await h.admin<{ ok: boolean }>('GET', '/audit/verify');
    expect(verify.body.ok).toBe(true);
  });

  it('no password, TOTP seed, recovery code or session id appears in the data dir, the logs or any response body', () => {
    const secrets = [PASSWORD, seedOf(owner.otpauthUrl), ...owner.recoveryCodes, ...owner.recoveryCodes.map((c) => c.replace('-', '')), ...sessionIds];
    expect(sessionIds.length).toBeGreaterThan(3);
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else files.push(full);
      }
    };
    walk(h.dataDir);
    const haystacks = [...files.map((f) => readFileSync(f).toString('latin1')), h.logs()];
    for (const secret of secrets) {
      for (const text of haystacks) expect(text.includes(secret), `secret found in stored data or logs`).toBe(false);
    }
    // Response bodies: the seed and codes appear only in the one enrolment answer, session ids never.
    const bodies = browsers.flatMap((b) => b.seen.filter((text) => !text.includes('otpauth_url') && !text.includes('recovery_codes')));
    for (const secret of [PASSWORD, ...sessionIds]) {
      for (const body of bodies) {
        if (body.startsWith('kw_session=')) continue;
        expect(body.includes(secret)).toBe(false);
      }
    }
    for (const secret of [seedOf(owner.otpauthUrl), ...owner.recoveryCodes]) for (const body of bodies) expect(body.includes(secret)).toBe(false);
  });
});
