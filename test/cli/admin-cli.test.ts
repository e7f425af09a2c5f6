import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { cli } from './run-cli.js';

let h: Harness;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  h = await startHarness({ withUpstream: false });
  env = { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken };
});
afterAll(() => h.close());

describe('keywarden CLI against the admin API', () => {
  it('adds an upstream from an env var (never argv) and lists it masked', async () => {
    const added = await cli(['upstreams', 'add', '--name', 'fake', '--provider', 'openai-compatible', '--base-url', h.fake.url, '--key-env', 'UPSTREAM_KEY', '--json'], {
      ...env,
      UPSTREAM_KEY: h.upstreamKey,
    });
    expect(added.status).toBe(0);
    expect(added.stdout).not.toContain(h.upstreamKey);
    expect((JSON.parse(added.stdout) as { keys: Array<{ display: string }> }).keys[0]?.display).toBe(`…${h.upstreamKey.slice(-4)}`);
    const listed = await cli(['upstreams', 'list'], env);
    expect(listed.stdout).toContain('fake');
    expect(listed.stdout).not.toContain(h.upstreamKey);
  });

  it('reads an upstream key from stdin and refuses one that is missing', async () => {
    const secret = `sk-${randomBytes(24).toString('hex')}`;
    const added = await cli(['upstreams', 'add', '--name', 'stdin-one', '--provider', 'openai-compatible', '--base-url', h.fake.url], env, { stdin: `${secret}\n` });
    expect(added.status).toBe(0);
    expect(added.stdout).toContain('stdin-one');
    expect(added.stdout).not.toContain(secret);
    const missing = await cli(['upstreams', 'add', '--name', 'x', '--provider', 'openai-compatible', '--base-url', h.fake.url, '--key-env', 'NOPE'], env);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('NOPE');
    const removed = await cli(['upstreams', 'remove', 'stdin-one'], env);
    expect(removed.status).toBe(0);
  });

  it('creates a scoped key that works with the SDK and prints its secret once', async () => {
    const created = await cli(
      ['keys', 'create', '--name', 'app', '--models', 'gpt-4o-mini,gpt-4.1*', '--endpoints', 'chat,embeddings', '--ip', '127.0.0.1/32', '--expires', '30d', '--json'],
      env,
    );
    expect(created.status).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string; models: string[]; endpoints: string[]; ip_allowlist: string[]; expires_at: string };
    expect(key.id).toMatch(/^key_/);
    expect(key.key).toMatch(/^kw_/);
    expect(key.models).toEqual(['gpt-4o-mini', 'gpt-4.1*']);
    expect(key.endpoints).toEqual(['chat', 'embeddings']);
    expect(key.ip_allowlist).toEqual(['127.0.0.1/32']);
    expect(Date.parse(key.expires_at) - h.clock.now()).toBeGreaterThan(29 * 86_400_000);

    const completion = await h.client(key.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices.length).toBe(1);

    const shown = await cli(['keys', 'show', key.id], env);
    expect(shown.stdout).toContain(`kw_…${key.key.slice(-4)}`);
    expect(shown.stdout).not.toContain(key.key);
    const listed = await cli(['keys', 'list'], env);
    expect(listed.stdout).toContain(key.id);
    expect(listed.stdout).not.toContain(key.key);

    const usage = await cli(['usage', '--json'], env);
    await h.server.gateway.usage.flush();
    const usageAfter = await cli(['usage', '--json'], env);
    expect(usage.status).toBe(0);
    const rows = JSON.parse(usageAfter.stdout) as Array<{ keyId: string; model: string; requests: number }>;
    expect(rows.find((r) => r.keyId === key.id)).toMatchObject({ model: 'gpt-4o-mini', requests: 1 });
    const table = await cli(['usage'], env);
    expect(table.stdout).toMatch(/DAY\s+KEY\s+MODEL/);
  });

  it('updates, rotates and revokes', async () => {
    const created = JSON.parse((await cli(['keys', 'create', '--name', 'r', '--json'], env)).stdout) as { id: string; key: string };
    const updated = await cli(['keys', 'update', created.id, '--models', 'gpt-4o', '--json'], env);
    expect((JSON.parse(updated.stdout) as { models: string[] }).models).toEqual(['gpt-4o']);
    const rotated = JSON.parse((await cli(['keys', 'rotate', created.id, '--grace', '10m', '--json'], env)).stdout) as { id: string; key: string };
    expect(rotated.id).toBe(created.id);
    expect(rotated.key).not.toBe(created.key);
    const revoked = await cli(['keys', 'revoke', created.id], env);
    expect(revoked.status).toBe(0);
    expect(revoked.stdout).toContain('Revoked');
    const status = JSON.parse((await cli(['keys', 'show', created.id, '--json'], env)).stdout) as { status: string };
    expect(status.status).toBe('revoked');
  });

  it('sets limits and budgets from flags, keeps rule order, merges on update and shows spend', async () => {
    const created = await cli(
      ['keys', 'create', '--name', 'limited', '--rpm', '60', '--tpm', '40000', '--budget', '5/day', '--budget', '100/month',
        '--model-rule', 'gpt-4*:rpm=10', '--deny-model', 'dall-e*', '--model-rule', 'o3*:rpm=2,tpm=5000', '--json'],
      env,
    );
    expect(created.status).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string; limits: Record<string, unknown> };
    expect(key.limits).toEqual({
      rpm: 60,
      tpm: 40000,
      budgets: [{ usd: 5, period: 'day' }, { usd: 100, period: 'month' }],
      model_rules: [{ match: 'gpt-4*', rpm: 10 }, { match: 'dall-e*', deny: true }, { match: 'o3*', rpm: 2, tpm: 5000 }],
    });
    const updated = await cli(['keys', 'update', key.id, '--concurrency', '4', '--json'], env);
    expect((JSON.parse(updated.stdout) as { limits: Record<string, unknown> }).limits).toMatchObject({ rpm: 60, concurrency: 4 });

    await h.client(key.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 });
    const shown = await cli(['keys', 'show', key.id], env);
    // One money formatter: two significant digits under a dollar (never $0.00 for a non-zero spend), cents above.
    expect(shown.stdout).toMatch(/budget\/day\s+\$0\.0*[1-9]\d? of \$5\.00 \(/);
    expect(shown.stdout).toMatch(/budget\/month\s+\$0\.0*[1-9]\d? of \$100\.00 \(/);
    expect(shown.stdout).toContain('dall-e*: deny');
    const shownJson = JSON.parse((await cli(['keys', 'show', key.id, '--json'], env)).stdout) as { budgets: Array<{ spent_usd: number }> };
    expect(shownJson.budgets[0]?.spent_usd).toBeGreaterThan(0);

    const bad = await cli(['keys', 'create', '--name', 'x', '--budget', '5/fortnight'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--budget');
  });

  it('exits 2 with a clear message on usage errors and API errors', async () => {
    const noToken = await cli(['keys', 'list'], { KEYWARDEN_URL: h.server.url });
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toContain('KEYWARDEN_ADMIN_TOKEN');
    const badToken = await cli(['keys', 'list'], { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: 'kwadm_nope' });
    expect(badToken.status).toBe(2);
    expect(badToken.stderr).not.toContain('kwadm_nope');
    const unknown = await cli(['keys', 'show', 'key_doesnotexist'], env);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('key_doesnotexist');
    const badFlag = await cli(['keys', 'create'], env);
    expect(badFlag.status).toBe(2);
    const unreachable = await cli(['keys', 'list'], { KEYWARDEN_URL: 'http://127.0.0.1:1', KEYWARDEN_ADMIN_TOKEN: 'x' });
    expect(unreachable.status).toBe(2);
    expect(unreachable.stderr).toContain('Cannot reach');
  });
});
