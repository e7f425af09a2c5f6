import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from '../cli/run-cli.js';
import { startProviderHarness, type ProviderHarness } from './provider-harness.js';

interface Report {
  findings: Array<{ check: string; severity: string; subject: string; message: string; fix: string }>;
  counts: { high: number; medium: number; low: number; info: number };
  skipped: string[];
}

const DAY = 86_400_000;
const tidyLimits = { rpm: 60, budgets: [{ usd: 20, period: 'month' }] };

let p: ProviderHarness | null = null;
afterEach(async () => {
  await p?.close();
  p = null;
});

async function doctor(harness: ProviderHarness): Promise<{ status: number; report: Report; text: string }> {
  const json = await cli(['doctor', '--json'], harness.env);
  expect(json.stderr).toBe('');
  const text = await cli(['doctor'], harness.env);
  expect(text.status).toBe(json.status);
  return { status: json.status, report: JSON.parse(json.stdout) as Report, text: text.stdout };
}

describe('keywarden doctor', () => {
  it('lists every planted problem with a fix, and exits 1', async () => {
    p = await startProviderHarness();
    const harness = p;
    // An unused key, created 31 days "ago" (the gateway's clock moves on after it).
    const stale = await harness.h.createKey({ name: 'stale', models: ['gpt-4o-mini'], endpoints: ['chat'], limits: tidyLimits });
    harness.h.clock.advance(31 * DAY);
    const open = await harness.h.createKey({ name: 'wide open', endpoints: ['*'] });
    const tuner = await harness.h.createKey({ name: 'tuner', models: ['gpt-4o-mini'], endpoints: ['chat', 'fine_tuning'], limits: { budgets: [{ usd: 5, period: 'day' }] } });
    const broad = await harness.h.createKey({ name: 'broad', models: ['gpt-4o*', 'o3*'], endpoints: ['chat', 'embeddings'], limits: tidyLimits });
    await harness.h.client(broad.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await chmod(path.join(harness.h.dataDir, 'master.key'), 0o644);
    const project = harness.admin.addProject('prod');
    harness.admin.addKey(project, { secret: harness.h.upstreamKey });
    const shadow = harness.admin.addKey(project, { ownerEmail: 'bob@example.com' });
    expect(await harness.connect()).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100)); // usage flush

    const { status, report, text } = await doctor(harness);
    expect(status).toBe(1);
    const has = (check: string, subject: string): Report['findings'][number] | undefined => report.findings.find((f) => f.check === check && f.subject === subject);
    const modeFinding = has('master_key_file_mode', `file:${path.resolve(harness.h.dataDir, 'master.key')}`);
    expect(modeFinding?.severity).toBe('high');
    expect(modeFinding?.fix).toContain('chmod 600');
    expect(has('key_no_budget', `key:${open.id}`)?.severity).toBe('high');
    expect(has('key_no_rate_limit', `key:${open.id}`)?.severity).toBe('medium');
    expect(has('key_any_model', `key:${open.id}`)).toBeDefined();
    expect(has('key_all_endpoints', `key:${open.id}`)?.severity).toBe('high');
    expect(has('key_sensitive_endpoints', `key:${tuner.id}`)?.message).toContain('fine_tuning');
    expect(has('key_unused', `key:${stale.id}`)?.fix).toBe(`keywarden keys revoke ${stale.id}`);
    expect(has('key_least_privilege', `key:${broad.id}`)?.fix).toBe(`keywarden keys update ${broad.id} --models gpt-4o-mini --endpoints chat`);
    expect(has('provider_shadow_key', `provider_key:openai:${shadow.id}`)?.severity).toBe('high');
    expect(report.findings.some((f) => f.check === 'admin_token_no_expiry')).toBe(true);
    // The vaulted key is not a shadow key, and tidy keys get no budget/limit findings.
    expect(report.findings.filter((f) => f.check === 'provider_shadow_key')).toHaveLength(1);
    expect(report.findings.some((f) => f.subject === `key:${broad.id}` && f.check !== 'key_least_privilege')).toBe(false);
    expect(text).toContain('fix: chmod 600');
    expect(JSON.stringify(report)).not.toContain(harness.h.upstreamKey);
    expect(JSON.stringify(report)).not.toContain(shadow.secret);
  });

  it('exits 0 on a clean setup', async () => {
    p = await startProviderHarness();
    const harness = p;
    const project = harness.admin.addProject('prod');
    harness.admin.addKey(project, { secret: harness.h.upstreamKey });
    expect(await harness.connect()).toBe(200);
    const app = await harness.h.createKey({ name: 'app', models: ['gpt-4o-mini'], endpoints: ['chat'], limits: tidyLimits });
    await harness.h.client(app.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { status, report } = await doctor(harness);
    expect(report.counts.high).toBe(0);
    expect(status).toBe(0);
    expect(report.findings.filter((f) => f.subject === `key:${app.id}`)).toEqual([]);
  });
});
