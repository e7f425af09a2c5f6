import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { ConsoleClient, addUser, errorCode, errorMessage, nextStep, setUpOwner, totpCode, type EnrolledUser } from './console-client.js';

// scrypt at OWASP's minimum is slow on purpose (and slower on a busy CI machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

let h: Harness;
let owner: EnrolledUser;
// Each test signs in from its own address (X-Forwarded-For from a trusted proxy), so per-IP counts stay apart.
let ipCounter = 10;
const freshIp = (): Record<string, string> => ({ 'x-forwarded-for': `198.51.100.${ipCounter++}` });

beforeAll(async () => {
  h = await startHarness({ config: { server: { trustedProxies: ['127.0.0.1'] } } });
  owner = await setUpOwner(h);
});
afterAll(async () => {
  await h.close();
});

type AuditEntries = { data: Array<{ actor: string; action: string; target: string; after: unknown }> };

describe('lockout and rate limits', () => {
  it('5 wrong passwords lock the account: the right password is refused with the time to retry, then works after 15 minutes', async () => {
    const bob = await addUser(h, 'bob', 'admin');
    const ip = freshIp();
    const browser = new ConsoleClient(h);
    for (let i = 0; i < 4; i++) {
      const wrong = await browser.call('POST', '/auth/login', { name: 'bob', password: `wrong password ${i}!!` }, { headers: ip });
      expect(wrong.status).toBe(401);
      expect(errorCode(wrong.body)).toBe('invalid_credentials');
    }
    const fifth = await browser.call('POST', '/auth/login', { name: 'bob', password: 'wrong password 5!!' }, { headers: ip });
    expect(fifth.status).toBe(403);
    expect(errorCode(fifth.body)).toBe('account_locked');
    const right = await browser.call('POST', '/auth/login', { name: 'bob', password: bob.password }, { headers: freshIp() });
    expect(right.status).toBe(403);
    expect(errorCode(right.body)).toBe('account_locked');
    const until = /until (\S+Z)/.exec(errorMessage(right.body))?.[1];
    expect(until).toBeDefined();
    expect(Date.parse(until!)).toBeGreaterThan(h.clock.now() + 14 * 60_000);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(800);
    expect(browser.cookie).toBeNull();
    // The lockout is in the audit chain, against bob.
    const audit = await h.admin<AuditEntries>('GET', '/audit?limit=500');
    expect(audit.body.data.some((e) => e.action === 'user.locked' && e.target === `user:${bob.id}`)).toBe(true);
    expect(audit.body.data.filter((e) => e.action === 'user.sign_in_failed' && e.target === `user:${bob.id}`).length).toBeGreaterThanOrEqual(5);
    h.clock.advance(15 * 60_000 + 1_000);
    const later = await browser.call('POST', '/auth/login', { name: 'bob', password: bob.password }, { headers: freshIp() });
    expect(later.status).toBe(200);
    expect(later.body.state).toBe('mfa_required');
  });

  it('5 wrong TOTP codes lock the account; the right code is then refused too', async () => {
    const carol = await addUser(h, 'carol', 'viewer');
    const browser = new ConsoleClient(h);
    const ip = freshIp();
    expect((await browser.call('POST', '/auth/login', { name: 'carol', password: carol.password }, { headers: ip })).body.state).toBe('mfa_required');
    const right = totpCode(carol.otpauthUrl, h.clock.now());
    const wrongCode = right === '000000' ? '111111' : '000000';
    for (let i = 0; i < 4; i++) {
      const wrong = await browser.call('POST', '/auth/mfa/totp', { code: wrongCode }, { headers: ip });
      expect(wrong.status).toBe(401);
      expect(errorCode(wrong.body)).toBe('invalid_second_factor');
    }
    const fifth = await browser.call('POST', '/auth/mfa/totp', { code: wrongCode }, { headers: ip });
    expect(errorCode(fifth.body)).toBe('account_locked');
    const refused = await browser.call('POST', '/auth/mfa/totp', { code: right }, { headers: ip });
    expect(refused.status).toBe(403);
    expect(errorCode(refused.body)).toBe('account_locked');
    expect((await browser.call('GET', '/keys')).status).toBe(401);
    // A recovery code does not get around the lock either.
    const recovery = await browser.call('POST', '/auth/mfa/recovery', { code: carol.recoveryCodes[0] }, { headers: ip });
    expect(errorCode(recovery.body)).toBe('account_locked');
    h.clock.advance(15 * 60_000 + 1_000);
  });

  it('an unknown user and a wrong password get the same status, code and message, and both pay for a hash', async () => {
    await addUser(h, 'dave', 'viewer');
    const ip = freshIp();
    const browser = new ConsoleClient(h);
    const timeOf = async (name: string): Promise<{ ms: number; body: unknown; status: number }> => {
      const started = performance.now();
      const answer = await browser.call('POST', '/auth/login', { name, password: 'not the password!!' }, { headers: ip });
      return { ms: performance.now() - started, body: answer.body, status: answer.status };
    };
    const unknown = [await timeOf('nobody-here'), await timeOf('nobody-else')];
    const wrong = [await timeOf('dave'), await timeOf('dave')];
    for (const answer of [...unknown, ...wrong]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(wrong[0]!.body);
    }
    // scrypt at N=2^17 takes tens of milliseconds at least; an unknown name must not answer much faster.
    const fastestUnknown = Math.min(...unknown.map((a) => a.ms));
    const fastestWrong = Math.min(...wrong.map((a) => a.ms));
    expect(fastestUnknown).toBeGreaterThan(fastestWrong / 3);
    h.clock.advance(15 * 60_000 + 1_000);
  });

  it('20 failures from one address answer 429 to that address only, even for a correct password', async () => {
    await addUser(h, 'erin', 'viewer');
    const ip = freshIp();
    const browser = new ConsoleClient(h);
    // Guessed setup tokens and passwords of unknown names count alike (no account locks: this is the per-address
    // limit). Mostly tokens, which cost no scrypt, to keep the test short.
    for (let i = 0; i < 17; i++) {
      const answer = await browser.call('POST', '/auth/setup', { token: `guess${i}`.padEnd(43, 'x'), name: 'x', password: 'guessing guessing' }, { headers: ip });
      expect(errorCode(answer.body)).toBe('setup_token_invalid');
    }
    for (let i = 0; i < 3; i++) {
      const answer = await browser.call('POST', '/auth/login', { name: `ghost-${i}`, password: 'guessing guessing' }, { headers: ip });
      expect(answer.status).toBe(401);
    }
    const blocked = await browser.call('POST', '/auth/login', { name: 'erin', password: owner.password }, { headers: ip });
    expect(blocked.status).toBe(429);
    expect(errorCode(blocked.body)).toBe('rate_limit_exceeded');
    expect(blocked.headers.get('retry-after')).not.toBeNull();
    const elsewhere = await new ConsoleClient(h).call('POST', '/auth/login', { name: 'erin', password: owner.password }, { headers: freshIp() });
    expect(elsewhere.status).toBe(200);
    nextStep(h);
  });
});
