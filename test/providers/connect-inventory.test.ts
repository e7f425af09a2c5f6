import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/run-cli.js';
import { redact } from '../support/fake-openai-admin.js';
import { startProviderHarness, type ProviderHarness } from './provider-harness.js';

let p: ProviderHarness;
beforeAll(async () => {
  // Every 4th Admin API request is a 429: connect and inventory must ride over them.
  p = await startProviderHarness({ admin: { rateLimitEvery: 4 } });
});
afterAll(async () => {
  await p.close();
});

interface KeyRow {
  id: string;
  status: string;
  redacted_value: string;
  owner_type: string;
  owner: string | null;
  age_days: number | null;
  last_used_at: string | null;
  upstream: { name: string } | null;
}

describe('providers connect + keys', () => {
  it('refuses an inventory before any provider is connected', async () => {
    const res = await p.h.admin<{ error: { code: string } }>('GET', '/providers/openai/keys');
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('provider_not_connected');
  });

  it('refuses a key that is not an admin key, and a key the provider rejects, storing nothing', async () => {
    const notAdmin = await p.h.admin<{ error: { code: string; message: string } }>('POST', '/providers/openai/connect', { admin_key: p.h.upstreamKey, base_url: p.admin.url });
    expect(notAdmin.status).toBe(400);
    expect(JSON.stringify(notAdmin.body)).not.toContain(p.h.upstreamKey);
    const wrong = 'sk-admin-wrongwrongwrongwrongwrong9999';
    const rejected = await p.h.admin<{ error: { code: string; message: string } }>('POST', '/providers/openai/connect', { admin_key: wrong, base_url: p.admin.url });
    expect(rejected.status).toBe(502);
    expect(rejected.body.error.code).toBe('provider_admin_failed');
    expect(JSON.stringify(rejected.body)).not.toContain(wrong);
    const view = await p.h.admin<{ connected: boolean }>('GET', '/providers/openai');
    expect(view.body.connected).toBe(false);
    const extra = await p.h.admin('POST', '/providers/openai/connect', { admin_key: p.admin.adminKey, base_url: p.admin.url, debug: true });
    expect(extra.status).toBe(400);
  });

  it('refuses a base URL the outbound policy forbids', async () => {
    const res = await p.h.admin<{ error: { code: string } }>('POST', '/providers/openai/connect', { admin_key: p.admin.adminKey, base_url: 'http://169.254.169.254/v1' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
  });

  it('connects from the CLI (key from an env var), seals the key and audits it without the secret', async () => {
    const run = await cli(['providers', 'connect', 'openai', '--admin-key-env', 'OPENAI_ADMIN_KEY', '--base-url', p.admin.url, '--json'], {
      ...p.env,
      OPENAI_ADMIN_KEY: p.admin.adminKey,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const view = JSON.parse(run.stdout) as { connected: boolean; admin_key: string };
    expect(view.connected).toBe(true);
    expect(view.admin_key).toBe(`sk-admin-…${p.admin.adminKey.slice(-4)}`);
    expect(run.stdout).not.toContain(p.admin.adminKey);
    // The admin key is nowhere on disk in plaintext, nor in the logs or the audit log.
    const db = await readFile(path.join(p.h.dataDir, 'keywarden.sqlite'));
    expect(db.includes(Buffer.from(p.admin.adminKey))).toBe(false);
    expect(p.h.logs()).not.toContain(p.admin.adminKey);
    const audit = await p.h.admin<{ data: Array<{ action: string; after: unknown }> }>('GET', '/audit?limit=5000');
    const entry = audit.body.data.find((e) => e.action === 'provider.connected');
    expect(entry).toBeDefined();
    expect(JSON.stringify(audit.body)).not.toContain(p.admin.adminKey);
  });

  it('lists every key across projects and pages: the vaulted upstream key as vaulted, the rest as shadow', async () => {
    const prod = p.admin.addProject('prod');
    const staging = p.admin.addProject('staging');
    const vaulted = p.admin.addKey(prod, { secret: p.h.upstreamKey, name: 'gateway key' });
    const shadows = [p.admin.addKey(prod, { ownerEmail: 'alice@example.com' }), p.admin.addKey(prod), p.admin.addKey(staging, { lastUsedAt: null })];
    const account = p.admin.addServiceAccountKey(staging, 'ci-bot');
    const run = await cli(['providers', 'keys', '--json'], p.env);
    expect(run.stderr).toBe('');
    const rows = (JSON.parse(run.stdout) as { data: KeyRow[] }).data;
    expect(rows).toHaveLength(5);
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(vaulted.id)).toMatchObject({ status: 'vaulted', upstream: { name: 'fake' }, redacted_value: redact(p.h.upstreamKey) });
    for (const s of shadows) expect(byId.get(s.id)?.status).toBe('shadow');
    expect(byId.get(shadows[0]?.id ?? '')?.owner).toBe('alice@example.com');
    expect(byId.get(shadows[2]?.id ?? '')?.last_used_at).toBeNull();
    expect(byId.get(account.id)).toMatchObject({ status: 'shadow', owner_type: 'service_account', owner: 'ci-bot' });
    expect(byId.get(vaulted.id)?.age_days).toBe(100);
    // The full key never appears: only redacted values.
    expect(run.stdout).not.toContain(p.h.upstreamKey);
    expect(p.admin.throttled).toBeGreaterThan(0);

    const table = await cli(['providers', 'keys'], p.env);
    expect(table.stdout).toMatch(/5 key\(s\): 1 vaulted, 4 shadow/);
  });
});
