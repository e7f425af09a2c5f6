import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { cli } from '../cli/run-cli.js';
import { ConsoleClient, PASSWORD, enrollTotp, errorCode, signIn, tokenOf } from './console-client.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const env = (): NodeJS.ProcessEnv => ({ KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken });

describe('setup links', () => {
  it('a tampered, expired or reused token is refused, and a weak password does not burn the link', async () => {
    const link = h.server.notice.setupLink!;
    const token = tokenOf(link);
    const b = new ConsoleClient(h);
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    for (const bad of [flipped, token.slice(1), `${token}x`, '', 'a'.repeat(256)]) {
      const answer = await b.call('POST', '/auth/setup', { token: bad, name: 'first', password: PASSWORD });
      expect(answer.status).toBe(400);
      expect(errorCode(answer.body)).toBe('setup_token_invalid');
    }
    // Policy failures leave the link usable.
    for (const [name, password] of [
      ['first', 'short'],
      ['first-owner-name', 'first-owner-name'],
      ['Owner.Name.1234', 'owner.name.1234'],
    ]) {
      const weak = await b.call('POST', '/auth/setup', { token, name, password });
      expect(weak.status).toBe(400);
      expect(errorCode(weak.body)).toBe('validation_failed');
    }
    const bad = await b.call('POST', '/auth/setup', { token, name: 'has space', password: PASSWORD });
    expect(errorCode(bad.body)).toBe('validation_failed');
    expect(b.cookie).toBeNull();

    // Two concurrent uses of one link: exactly one owner.
    const [x, y] = await Promise.all([
      new ConsoleClient(h).call('POST', '/auth/setup', { token, name: 'first', password: PASSWORD }),
      new ConsoleClient(h).call('POST', '/auth/setup', { token, name: 'second', password: PASSWORD }),
    ]);
    expect([x.status, y.status].sort()).toEqual([200, 400]);
    const users = await h.admin<{ data: Array<{ name: string; role: string }> }>('GET', '/users');
    expect(users.body.data).toHaveLength(1);
    expect(users.body.data[0]!.role).toBe('owner');
    const reuse = await b.call('POST', '/auth/setup', { token, name: 'third', password: PASSWORD });
    expect(errorCode(reuse.body)).toBe('setup_token_invalid');
  });

  it('a setup link from `users add` expires after 15 minutes', async () => {
    const added = await cli(['users', 'add', 'late', '--role', 'viewer'], env());
    expect(added.status).toBe(0);
    const url = /(http\S+\/setup#token=\S+)/.exec(added.stdout)?.[1];
    expect(url).toBeDefined();
    h.clock.advance(15 * 60_000 + 1_000);
    const answer = await new ConsoleClient(h).call('POST', '/auth/setup', { token: tokenOf(url!), password: PASSWORD });
    expect(errorCode(answer.body)).toBe('setup_token_invalid');
  });

  it('`users add` link → the user sets a password, must enrol, and signs in; the link names the user', async () => {
    const added = await cli(['users', 'add', 'ann', '--role', 'admin', '--json'], env());
    const view = JSON.parse(added.stdout) as { setup_url: string; role: string; setup_pending: boolean };
    expect(view.role).toBe('admin');
    expect(view.setup_pending).toBe(true);
    const b = new ConsoleClient(h);
    const wrongName = await b.call('POST', '/auth/setup', { token: tokenOf(view.setup_url), name: 'not-ann', password: PASSWORD });
    expect(errorCode(wrongName.body)).toBe('validation_failed');
    const setup = await b.call('POST', '/auth/setup', { token: tokenOf(view.setup_url), password: PASSWORD });
    expect(setup.body.state).toBe('mfa_enrollment_required');
    await enrollTotp(h, b);
    expect((await b.call('POST', '/keys', { name: 'ann-key' })).status).toBe(201);
    expect((await b.call('POST', '/upstreams', { name: 'nope', provider: 'openai', keys: ['sk-x'] })).status).toBe(403);
  });
});

describe('users CLI', () => {
  it('adds with --password-stdin, lists, resets MFA and removes; refuses to remove the last owner', async () => {
    const added = await cli(['users', 'add', 'ops', '--role', 'owner', '--password-stdin'], env(), { stdin: `${PASSWORD}\n` });
    expect(added.status).toBe(0);
    expect(added.stdout).not.toContain(PASSWORD);
    expect(added.stdout).not.toContain('setup#token');
    const b = new ConsoleClient(h);
    expect((await b.call('POST', '/auth/login', { name: 'ops', password: PASSWORD })).body.state).toBe('mfa_enrollment_required');
    const enrolled = await enrollTotp(h, b);

    const list = await cli(['users', 'list'], env());
    expect(list.stdout).toMatch(/ops\s+owner\s+totp; 10 recovery codes left/);
    expect(list.stdout).toMatch(/late\s+viewer\s+not enrolled\s+pending/);

    const weak = await cli(['users', 'add', 'weakling', '--password-stdin'], env(), { stdin: 'weakling\n' });
    expect(weak.status).not.toBe(0);

    const reset = await cli(['users', 'reset-mfa', 'ops'], env());
    expect(reset.status).toBe(0);
    // Reset ends the sessions; the next sign-in must enrol again.
    expect(errorCode((await b.call('GET', '/keys')).body)).toBe('session_expired');
    const again = new ConsoleClient(h);
    expect((await again.call('POST', '/auth/login', { name: 'ops', password: PASSWORD })).body.state).toBe('mfa_enrollment_required');
    void enrolled;

    expect((await cli(['users', 'remove', 'ops'], env())).status).toBe(0);
    expect((await again.call('GET', '/auth/session')).body.state).toBe('anonymous');
    const owners = (await h.admin<{ data: Array<{ name: string; role: string }> }>('GET', '/users')).body.data.filter((u) => u.role === 'owner');
    expect(owners).toHaveLength(1);
    const last = await cli(['users', 'remove', owners[0]!.name], env());
    expect(last.status).not.toBe(0);
    expect(last.stderr).toMatch(/last owner/);
    const demote = await h.admin('PATCH', `/users/${owners[0]!.name}`, { role: 'viewer' });
    expect(demote.status).toBe(409);

    const audit = await h.admin<{ data: Array<{ action: string }> }>('GET', '/audit?limit=1000');
    for (const action of ['user.created', 'user.mfa_reset', 'user.removed']) expect(audit.body.data.map((e) => e.action)).toContain(action);
  });

  it('a role change applies to the live session on its next request', async () => {
    await h.admin('POST', '/users', { name: 'promo', role: 'viewer', password: PASSWORD });
    const b = new ConsoleClient(h);
    await b.call('POST', '/auth/login', { name: 'promo', password: PASSWORD });
    const { otpauthUrl, recoveryCodes } = await enrollTotp(h, b);
    expect((await b.call('POST', '/keys', { name: 'promo-1' })).status).toBe(403);
    expect((await h.admin('PATCH', '/users/promo', { role: 'admin' })).status).toBe(200);
    expect((await b.call('POST', '/keys', { name: 'promo-2' })).status).toBe(201);
    expect((await h.admin('PATCH', '/users/promo', { role: 'viewer' })).status).toBe(200);
    expect((await b.call('POST', '/keys', { name: 'promo-3' })).status).toBe(403);
    const again = await signIn(h, { browser: b, id: '', name: 'promo', password: PASSWORD, otpauthUrl, recoveryCodes });
    expect((await again.call('GET', '/keys')).status).toBe(200);
  });
});
