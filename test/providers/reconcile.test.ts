import { afterEach, describe, expect, it } from 'vitest';
import { startProviderHarness, type ProviderHarness } from './provider-harness.js';

interface AlertRow {
  detector: string;
  severity: string;
  title: string;
  message: string;
  details: Record<string, unknown>;
}

const INTERVAL_MS = 400;
let p: ProviderHarness | null = null;
afterEach(async () => {
  await p?.close();
  p = null;
});

async function setup(): Promise<{ p: ProviderHarness; keyId: string; clientKey: string }> {
  const harness = await startProviderHarness({
    harness: {
      config: {
        providers: { reconcile: { enabled: true, intervalMs: INTERVAL_MS, reportingDelayMs: 0, windowMs: 10 * 60_000, toleranceTokens: 50, toleranceRequests: 2, toleranceRatio: 0.01 } },
      },
    },
  });
  p = harness;
  const project = harness.admin.addProject('prod');
  const vaulted = harness.admin.addKey(project, { secret: harness.h.upstreamKey });
  harness.admin.addKey(project); // a shadow key with its own usage, which must not count against the upstream
  expect(await harness.connect()).toBe(200);
  const { key } = await harness.h.createKey({ name: 'app' });
  return { p: harness, keyId: vaulted.id, clientKey: key };
}

/** Sends requests through the gateway with the SDK and books at the fake provider exactly what it served. */
async function traffic(harness: ProviderHarness, clientKey: string, providerKeyId: string, n: number): Promise<void> {
  const client = harness.h.client(clientKey);
  for (let i = 0; i < n; i++) {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${i}` }] });
    const usage = completion.usage;
    if (!usage) throw new Error('the fake returned no usage');
    harness.admin.addUsage(providerKeyId, { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens, requests: 1 });
  }
}

async function mismatchAlerts(harness: ProviderHarness): Promise<AlertRow[]> {
  return (await harness.h.admin<{ data: AlertRow[] }>('GET', '/alerts?detector=provider_usage_mismatch')).body.data;
}

async function waitForWindowToClose(): Promise<void> {
  // The compared window ends on a whole second before "now - reportingDelay".
  await new Promise((resolve) => setTimeout(resolve, 1_100));
}

describe('usage reconciliation', () => {
  it('raises a critical alert naming the key within one interval when the provider saw usage keywarden did not send', async () => {
    const { p: harness, keyId, clientKey } = await setup();
    await traffic(harness, clientKey, keyId, 3);
    // Someone uses the real key directly, behind the gateway's back.
    harness.admin.addUsage(keyId, { inputTokens: 5_000, outputTokens: 2_000, requests: 40 });
    harness.admin.addUsage(harness.admin.keys()[1]?.id ?? '', { inputTokens: 9_999, outputTokens: 0, requests: 99 });
    await waitForWindowToClose();
    const deadline = Date.now() + INTERVAL_MS * 2 + 1_000;
    let alerts: AlertRow[] = [];
    while (Date.now() < deadline && alerts.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      alerts = await mismatchAlerts(harness);
    }
    expect(alerts).toHaveLength(1);
    const alert = alerts[0] as AlertRow;
    expect(alert.severity).toBe('critical');
    expect(alert.title).toContain(keyId);
    expect(alert.message).toContain('"fake"');
    expect(alert.details.provider_requests).toBe(43);
    expect(alert.details.keywarden_requests).toBe(3);
    expect(JSON.stringify(alert)).not.toContain(harness.h.upstreamKey);
    const audit = await harness.h.admin<{ data: Array<{ action: string; target: string }> }>('GET', '/audit?limit=5000');
    expect(audit.body.data.some((e) => e.action === 'security.provider_usage_mismatch')).toBe(true);
  });

  it('raises nothing when the provider\'s numbers match what keywarden forwarded', async () => {
    const { p: harness, keyId, clientKey } = await setup();
    await traffic(harness, clientKey, keyId, 4);
    await waitForWindowToClose();
    const report = await harness.h.admin<{ upstreams: Array<{ provider: { tokens: number; requests: number }; keywarden: { tokens: number; requests: number }; mismatch: boolean }> }>(
      'POST',
      '/providers/openai/reconcile',
    );
    expect(report.status).toBe(200);
    const row = report.body.upstreams[0];
    expect(row?.mismatch).toBe(false);
    expect(row?.provider.requests).toBe(4);
    expect(row?.keywarden.requests).toBe(4);
    expect(row?.provider.tokens).toBe(row?.keywarden.tokens);
    expect(row?.provider.tokens).toBeGreaterThan(0);
    // Several timer passes later there is still no alert.
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 3));
    expect(await mismatchAlerts(harness)).toEqual([]);
  });
});
