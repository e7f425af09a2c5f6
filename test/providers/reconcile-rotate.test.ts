import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProviderHarness, type ProviderHarness } from './provider-harness.js';

// `providers.reconcile.onMismatch: rotate`: usage behind the gateway's back on a vaulted service-account key rotates
// that upstream at once; the leaked key is deleted at the provider, and requests through keywarden keep working.

interface AlertRow {
  message: string;
  details: Record<string, unknown>;
}

let p: ProviderHarness;

beforeAll(async () => {
  p = await startProviderHarness({
    harness: {
      config: {
        providers: {
          reconcile: { enabled: false, onMismatch: 'rotate', reportingDelayMs: 0, windowMs: 10 * 60_000, toleranceTokens: 50, toleranceRequests: 2, toleranceRatio: 0.01 },
          rotation: { enabled: false, drainTimeoutMs: 5_000 },
        },
      },
    },
  });
  expect(await p.connect()).toBe(200);
});
afterAll(() => p.close());

describe('reconciliation with onMismatch: rotate', () => {
  it('rotates the leaked upstream key at the provider and says so on the alert', async () => {
    const project = p.admin.addProject('prod');
    const leaked = p.admin.addServiceAccountKey(project, 'gateway', p.h.upstreamKey);
    p.admin.onKeysChanged((secrets) => p.h.fake.configure({ apiKeys: secrets }));
    p.h.fake.configure({ apiKeys: p.admin.keys().map((k) => k.secret) });
    expect((await p.h.admin('PUT', '/upstreams/fake/provider', {})).status).toBe(200);
    const client = p.h.client((await p.h.createKey({ name: 'app' })).key);
    expect((await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).choices[0]).toBeDefined();
    p.admin.addUsage(leaked.id, { inputTokens: 4_000, outputTokens: 1_000, requests: 30 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    const report = await p.h.admin<{ alerts: string[] }>('POST', '/providers/openai/reconcile');
    expect(report.status).toBe(200);
    expect(report.body.alerts).toHaveLength(1);
    // The leaked key is gone at the provider; the service account has a new one, which keywarden now uses.
    expect(p.admin.keys().some((k) => k.id === leaked.id)).toBe(false);
    const replacement = p.admin.keys().find((k) => k.serviceAccountId === leaked.serviceAccountId);
    expect(replacement).toBeDefined();
    expect((await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'again' }] })).choices[0]).toBeDefined();
    expect(p.h.fake.requests.at(-1)?.presentedKey).toBe(replacement?.secret);

    const alerts = (await p.h.admin<{ data: AlertRow[] }>('GET', '/alerts?detector=provider_usage_mismatch')).body.data;
    expect(alerts[0]?.details.rotation).toMatch(/^rotated to sk-svcacct-…/);
    expect(alerts[0]?.details.rotation).toContain('deleted at OpenAI');
    const audit = (await p.h.admin<{ data: Array<{ action: string; actor: string }> }>('GET', '/audit?limit=5000')).body.data;
    expect(audit.some((e) => e.action === 'provider.rotation_completed' && e.actor === 'system:reconcile')).toBe(true);
    expect(JSON.stringify(alerts)).not.toContain(replacement?.secret ?? 'none');
  });
});
