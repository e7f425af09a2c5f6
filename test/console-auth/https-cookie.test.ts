import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { ConsoleClient, PASSWORD, enrollTotp, errorCode, nextStep, tokenOf, totpCode } from './console-client.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

describe('behind a trusted TLS proxy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { server: { trustedProxies: ['127.0.0.1'] } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('sets __Host-kw_session with Secure when the proxy says https, and reads it only over https', async () => {
    const host = new URL(h.server.url).host;
    const https = { 'x-forwarded-proto': 'https' };
    const b = new ConsoleClient(h);
    const setup = await b.call('POST', '/auth/setup', { token: tokenOf(h.server.notice.setupLink!), name: 'tls-owner', password: PASSWORD }, { headers: https, origin: `https://${host}` });
    expect(setup.status).toBe(200);
    const cookie = setup.headers.getSetCookie().join('\n');
    expect(cookie).toMatch(/^__Host-kw_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).not.toMatch(/Domain=/i);
    // The http origin is foreign to an https console.
    const plainOrigin = await b.call('POST', '/auth/totp/enroll/start', undefined, { headers: https, origin: `http://${host}` });
    expect(errorCode(plainOrigin.body)).toBe('csrf_failed');
    const start = await b.call<{ otpauth_url: string }>('POST', '/auth/totp/enroll/start', undefined, { headers: https, origin: `https://${host}` });
    expect(start.status).toBe(200);
    const finish = await b.call('POST', '/auth/totp/enroll/finish', { code: totpCode(start.body.otpauth_url, h.clock.now()) }, { headers: https });
    expect(finish.body.state).toBe('signed_in');
    nextStep(h);
    expect((await b.call('GET', '/keys', undefined, { headers: https })).status).toBe(200);
    // The same cookie over plain http is not read (a __Host- cookie never travels without TLS in a browser).
    expect((await b.call('GET', '/keys')).status).toBe(401);
  });

  it('ignores X-Forwarded-Proto from a peer that is not a trusted proxy', async () => {
    const other = await startHarness();
    try {
      const b = new ConsoleClient(other);
      const setup = await b.call('POST', '/auth/setup', { token: tokenOf(other.server.notice.setupLink!), name: 'plain', password: PASSWORD }, { headers: { 'x-forwarded-proto': 'https' } });
      expect(setup.status).toBe(200);
      expect(setup.headers.getSetCookie().join('\n')).toMatch(/^kw_session=/);
      expect(setup.headers.getSetCookie().join('\n')).not.toMatch(/Secure/);
      await enrollTotp(other, b);
    } finally {
      await other.close();
    }
  });
});

describe('with ui.publicUrl', () => {
  it('uses the public URL for setup links, the CSRF origin and the WebAuthn RP ID', async () => {
    const h = await startHarness({ config: { ui: { publicUrl: 'https://console.example.com' } } });
    try {
      expect(h.server.notice.setupLink).toMatch(/^https:\/\/console\.example\.com\/setup#token=/);
      const b = new ConsoleClient(h);
      const foreign = await b.call('POST', '/auth/setup', { token: tokenOf(h.server.notice.setupLink!), name: 'pub', password: PASSWORD }, { origin: h.server.url });
      expect(errorCode(foreign.body)).toBe('csrf_failed');
      const setup = await b.call('POST', '/auth/setup', { token: tokenOf(h.server.notice.setupLink!), name: 'pub', password: PASSWORD }, { origin: 'https://console.example.com' });
      expect(setup.status).toBe(200);
      const options = await b.call<{ rp: { id: string } }>('POST', '/auth/passkeys/register/options');
      expect(options.body.rp.id).toBe('console.example.com');
    } finally {
      await h.close();
    }
  });
});
