import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { cli } from '../cli/run-cli.js';
import { fakeProjectKeySecret } from '../support/fake-openai-admin.js';
import { startProviderHarness, type ProviderHarness } from './provider-harness.js';

let p: ProviderHarness;
let dir: string;
beforeAll(async () => {
  p = await startProviderHarness({ admin: { rateLimitEvery: 5 } });
  expect(await p.connect()).toBe(200);
});
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kw-revoke-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await p.close();
});

interface Outcome {
  display: string;
  status: string;
  provider: string;
  detail: string;
  revocation_url: string | null;
  provider_key_id: string | null;
}

/** Same start and same last 4 as `secret`, different middle: the redacted value is identical. */
function lookalike(secret: string): string {
  const middle = fakeProjectKeySecret().slice(10, -4);
  return `${secret.slice(0, 10)}${middle}${secret.slice(-4)}`;
}

async function audit(): Promise<Array<{ action: string; target: string; after: Record<string, unknown> | null }>> {
  return (await p.h.admin<{ data: Array<{ action: string; target: string; after: Record<string, unknown> | null }> }>('GET', '/audit?limit=5000')).body.data;
}

describe('scan --revoke', () => {
  it('dry run by default: reports what it would do and deletes nothing', async () => {
    const project = p.admin.addProject('dry');
    const leaked = p.admin.addKey(project);
    await writeFile(path.join(dir, '.env'), `OPENAI_API_KEY=${leaked.secret}\n`);
    const run = await cli(['scan', dir, '--revoke', '--format', 'json'], p.env);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('1 to revoke with --yes');
    expect(run.stderr).not.toContain(leaked.secret);
    expect(p.admin.keys().some((k) => k.id === leaked.id)).toBe(true);
    expect(p.admin.requests.some((r) => r.method === 'DELETE')).toBe(false);
  });

  it('with --yes deletes exactly the leaked key of the fake org; another org\'s key is "not ours"; look-alikes are "ambiguous"', async () => {
    const project = p.admin.addProject('leaky');
    const leaked = p.admin.addKey(project);
    const bystander = p.admin.addKey(project);
    const twinA = p.admin.addKey(project);
    const twinB = p.admin.addKey(project, { secret: lookalike(twinA.secret) });
    const foreign = fakeProjectKeySecret(); // a real-looking key of some other organisation
    // Live in another organisation, and shown exactly like our bystander key: only the key itself can tell.
    const doppelganger = lookalike(bystander.secret);
    p.admin.addForeignLiveKey(doppelganger);
    // Shown exactly like `leaked`, but dead at OpenAI (refused with 401): nothing to revoke, and `leaked` is not touched for it.
    const deadLookalike = lookalike(leaked.secret);
    await writeFile(path.join(dir, 'config.py'), `KEY = "${leaked.secret}"\nOTHER = "${foreign}"\nCOPY = "${doppelganger}"\n`);
    await writeFile(path.join(dir, 'old.env'), `OPENAI_API_KEY=${deadLookalike}\n`);
    await writeFile(path.join(dir, 'notes.md'), `twin: ${twinA.secret}\n`);
    const before = p.admin.keys().length;

    const run = await cli(['scan', dir, '--revoke', '--yes', '--format', 'json'], p.env);
    expect(run.status).toBe(1);
    for (const secret of [leaked.secret, foreign, twinA.secret, doppelganger, deadLookalike]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
    }
    expect(run.stderr).toMatch(/5 leaked key\(s\): 1 revoked, 0 to revoke with --yes, 3 not ours, 1 ambiguous, 0 failed/);
    expect(run.stderr).toMatch(/belongs to another project or organisation/);
    expect(run.stderr).toMatch(/not live/);

    const remaining = p.admin.keys();
    expect(remaining).toHaveLength(before - 1);
    expect(remaining.some((k) => k.id === leaked.id)).toBe(false);
    for (const kept of [bystander, twinA, twinB]) expect(remaining.some((k) => k.id === kept.id)).toBe(true);
    expect(p.admin.deleted).toContain(leaked.id);
    expect(p.admin.deleted).not.toContain(twinA.id);

    const entries = await audit();
    const target = `provider_key:openai:${leaked.id}`;
    expect(entries.filter((e) => e.target === target).map((e) => e.action)).toEqual(['provider.key_revoke_started', 'provider.key_revoked', 'security.leak_reported']);
    const reports = entries.filter((e) => e.action === 'security.leak_reported' && e.target === 'provider:openai').map((e) => e.after?.status);
    expect(reports).toEqual(expect.arrayContaining(['not_ours', 'ambiguous']));
    expect(JSON.stringify(entries)).not.toContain(leaked.secret);
  });

  it('revokes a service-account key by deleting its service account', async () => {
    const project = p.admin.addProject('bots');
    const account = p.admin.addServiceAccountKey(project, 'deploy-bot');
    const res = await p.h.admin<{ data: Outcome[] }>('POST', '/leaks', { leaks: [{ key: account.secret, source: 'ci log' }], dry_run: false });
    expect(res.status).toBe(200);
    expect(res.body.data[0]).toMatchObject({ status: 'revoked', provider: 'openai', provider_key_id: account.id });
    expect(p.admin.deleted).toContain(account.serviceAccountId);
    expect(p.admin.keys().some((k) => k.id === account.id)).toBe(false);
  });

  it('reports a failure (and audits it) when the provider refuses the deletion', async () => {
    const project = p.admin.addProject('stubborn');
    const leaked = p.admin.addKey(project);
    // Every request from here on is throttled: the listing and then the delete give up after retries.
    p.admin.setRateLimitEvery(1);
    try {
      const res = await p.h.admin<{ data: Outcome[] }>('POST', '/leaks', { leaks: [{ key: leaked.secret }], dry_run: false });
      expect(res.status).toBe(200);
      expect(res.body.data[0]?.status).toBe('failed');
      expect(res.body.data[0]?.detail).toMatch(/HTTP 429/);
    } finally {
      p.admin.setRateLimitEvery(5);
    }
    expect(p.admin.keys().some((k) => k.id === leaked.id)).toBe(true);
  });

  it('revokes leaked kw_ keys at once, and points other providers to their revocation page', async () => {
    const { key } = await p.h.createKey({ name: 'in-repo' });
    const anthropic = `sk-ant-api03-${'A'.repeat(93)}AA`;
    const res = await p.h.admin<{ data: Outcome[] }>('POST', '/leaks', {
      leaks: [
        { key, source: 'repo' },
        { key: anthropic, provider: 'anthropic', source: 'repo' },
        { key, source: 'duplicate' },
      ],
      dry_run: false,
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
    expect(res.body.data[0]).toMatchObject({ provider: 'keywarden', status: 'revoked' });
    expect(res.body.data[1]).toMatchObject({ provider: 'anthropic', status: 'manual', revocation_url: 'https://console.anthropic.com/settings/keys' });
    expect(JSON.stringify(res.body)).not.toContain(anthropic);
    const err = await apiErrorOf(p.h.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }));
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('rejects malformed, oversized and unauthenticated leak reports', async () => {
    const bad = [
      { leaks: [] },
      { leaks: [{ key: 'x' }] },
      { leaks: [{ key: 'sk-proj-abcdefghijklmnop', extra: 1 }] },
      { leaks: Array.from({ length: 1001 }, () => ({ key: 'sk-proj-abcdefghijklmnop' })) },
      { leaks: [{ key: 'k'.repeat(1001) }] },
    ];
    for (const body of bad) {
      const res = await p.h.admin<{ error: { code: string } }>('POST', '/leaks', body);
      expect(res.status).toBe(400);
    }
    const anon = await fetch(`${p.h.server.url}/admin/v1/leaks`, { method: 'POST', body: JSON.stringify({ leaks: [{ key: 'sk-proj-abcdefghijklmnop' }] }) });
    expect(anon.status).toBe(401);
    expect(p.admin.requests.some((r) => r.method === 'DELETE' && r.url.includes('abcdefghijklmnop'))).toBe(false);
  });
});
