import { describe, expect, it } from 'vitest';
import { SCRYPT_PARAMS, assertPasswordPolicy, hashPassword, verifyPassword } from './password-hash.js';

describe('scrypt password hashes', () => {
  it("uses OWASP's minimum parameters, a random salt, and verifies only the right password", async () => {
    const stored = await hashPassword('a long enough password');
    const [scheme, N, r, p, salt, key] = stored.split('$');
    expect([scheme, Number(N), Number(r), Number(p)]).toEqual(['scrypt', 2 ** 17, 8, 1]);
    expect(Buffer.from(salt!, 'base64url')).toHaveLength(SCRYPT_PARAMS.saltLength);
    expect(Buffer.from(key!, 'base64url')).toHaveLength(64);
    expect(await hashPassword('a long enough password')).not.toBe(stored);
    expect(await verifyPassword('a long enough password', stored)).toBe(true);
    expect(await verifyPassword('a long enough passworD', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  }, 60_000);

  it('refuses a stored hash whose parameters were weakened or mangled, without running a cheap check', async () => {
    const stored = await hashPassword('a long enough password');
    const parts = stored.split('$');
    const weakened = ['scrypt', 1024, 1, 1, parts[4], parts[5]].join('$');
    expect(await verifyPassword('a long enough password', weakened)).toBe(false);
    expect(await verifyPassword('a long enough password', 'plain')).toBe(false);
    expect(await verifyPassword('a long enough password', `${stored}$extra`)).toBe(false);
    expect(await verifyPassword('a long enough password', ['scrypt', 2 ** 30, 8, 1, parts[4], parts[5]].join('$'))).toBe(false);
  }, 60_000);

  it('runs off the event loop: timers keep firing while hashes run', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await Promise.all([hashPassword('x'.repeat(20)), hashPassword('y'.repeat(20))]);
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
  }, 60_000);
});

describe('password policy', () => {
  it('needs 12 characters (counted as characters, not bytes) and not the user name', () => {
    expect(() => assertPasswordPolicy('elevenchars', 'u')).toThrow(/at least 12/);
    expect(() => assertPasswordPolicy('ééééééééééé', 'u')).toThrow(/at least 12/);
    expect(() => assertPasswordPolicy('Administrator', 'administrator')).toThrow(/user name/);
    expect(() => assertPasswordPolicy(' administrator ', 'Administrator')).toThrow(/user name/);
    expect(() => assertPasswordPolicy('x'.repeat(1025), 'u')).toThrow(/at most/);
    expect(() => assertPasswordPolicy('twelve chars', 'u')).not.toThrow();
  });
});
