import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeProjectKeySecret } from '../support/fake-openai-admin.js';
import { startProviderHarness, type ProviderHarness } from './provider-harness.js';

// Reconciliation per provider key: usage records name the upstream key each request was sent with, so with two
// keys in one upstream, usage behind the gateway's back on one of them is pinned on that key, and the other key,
// used only through keywarden, stays clean.

interface Row {
  upstreamKeyId?: string;
  providerKeys: Array<{ id: string }>;
  provider: { tokens: number; requests: number };
  keywarden: { tokens: number; requests: number };
  mismatch: boolean;
}
interface AlertRow {
  title: string;
  subject: string;
  details: Record<string, unknown>;
}

let p: ProviderHarness;

beforeAll(async () => {
  p = await startProviderHarness({
    harness: { config: { providers: { reconcile: { enabled: false, reportingDelayMs: 0, windowMs: 10 * 60_000, toleranceTokens: 50, toleranceRequests: 2, toleranceRatio: 0.01 } } } },
  });
  expect(await p.connect()).toBe(200);
});
afterAll(() => p.close());

describe('reconciliation per provider key', () => {
  it('two keys in one upstream, only one leaks: one mismatch, naming that key only', async () => {
    const project = p.admin.addProject('prod');
    const keyA = p.admin.addKey(project, { secret: p.h.upstreamKey });
    const secretB = fakeProjectKeySecret();
    const keyB = p.admin.addKey(project, { secret: secretB });
    p.h.fake.configure({ apiKeys: [p.h.upstreamKey, secretB] });
    const added = await p.h.admin<{ keys: Array<{ id: string; display: string }> }>('POST', '/upstreams/fake/keys', { key: secretB });
    expect(added.status).toBe(201);
    const vaultedA = added.body.keys[0]?.id ?? '';
    const vaultedB = added.body.keys[1]?.id ?? '';

    // Traffic through the gateway, spread over both keys; the fake provider books what it served on each key.
    const client = p.h.client((await p.h.createKey({ name: 'app' })).key);
    const providerIdOf = new Map([
      [p.h.upstreamKey, keyA.id],
      [secretB, keyB.id],
    ]);
    const perKey = new Map<string, number>();
    for (let i = 0; i < 8; i++) {
      const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hi ${i}` }] });
      const presented = p.h.fake.requests.at(-1)?.presentedKey ?? '';
      const providerKeyId = providerIdOf.get(presented) ?? '';
      perKey.set(providerKeyId, (perKey.get(providerKeyId) ?? 0) + 1);
      p.admin.addUsage(providerKeyId, { inputTokens: completion.usage?.prompt_tokens ?? 0, outputTokens: completion.usage?.completion_tokens ?? 0, requests: 1 });
    }
    expect(perKey.get(keyA.id)).toBeGreaterThan(0);
    expect(perKey.get(keyB.id)).toBeGreaterThan(0);
    // Key B is also used directly, behind the gateway's back.
    p.admin.addUsage(keyB.id, { inputTokens: 3_000, outputTokens: 1_000, requests: 20 });
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the window ends on a whole second

    const report = await p.h.admin<{ upstreams: Row[]; alerts: string[] }>('POST', '/providers/openai/reconcile');
    expect(report.status).toBe(200);
    const rows = report.body.upstreams;
    expect(rows.map((r) => r.upstreamKeyId).sort()).toEqual([vaultedA, vaultedB].sort());
    const rowA = rows.find((r) => r.upstreamKeyId === vaultedA);
    const rowB = rows.find((r) => r.upstreamKeyId === vaultedB);
    expect(rowA).toMatchObject({ mismatch: false, providerKeys: [{ id: keyA.id }] });
    expect(rowA?.keywarden.requests).toBe(perKey.get(keyA.id));
    expect(rowA?.provider).toEqual(rowA?.keywarden);
    expect(rowB).toMatchObject({ mismatch: true, providerKeys: [{ id: keyB.id }] });
    expect(rowB?.keywarden.requests).toBe(perKey.get(keyB.id));
    expect(rowB?.provider.requests).toBe((perKey.get(keyB.id) ?? 0) + 20);

    expect(report.body.alerts).toHaveLength(1);
    const alerts = (await p.h.admin<{ data: AlertRow[] }>('GET', '/alerts?detector=provider_usage_mismatch')).body.data;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.title).toContain(keyB.id);
    expect(alerts[0]?.title).not.toContain(keyA.id);
    expect(alerts[0]?.details.upstream_key_id).toBe(vaultedB);
    expect(JSON.stringify(alerts)).not.toContain(secretB);

    // Usage records name the key they were sent with.
    const records = p.h.server.services.store.usage;
    const listed = await records.list({});
    expect(new Set(listed.filter((r) => r.status === 200).map((r) => r.upstreamKeyId))).toEqual(new Set([vaultedA, vaultedB]));
  });
});
