import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProviderHarness, type ProviderHarness } from './provider-harness.js';

const KEYS = 10_000;
let p: ProviderHarness;
beforeAll(async () => {
  // OpenAI's page size for key listings is 100.
  p = await startProviderHarness({ admin: { pageSize: 100 }, harness: { config: { providers: { reconcile: { reportingDelayMs: 0, windowMs: 10 * 60_000 } } } } });
});
afterAll(async () => {
  await p.close();
});

describe('reconciliation at scale', () => {
  it(`reconciles an organisation of ${KEYS} keys in at most 10 s`, async () => {
    const projects = Array.from({ length: 10 }, (_, i) => p.admin.addProject(`team ${i}`));
    const vaulted = p.admin.addKey(projects[0] as string, { secret: p.h.upstreamKey });
    const ts = Math.floor(Date.now() / 1000) - 120;
    p.admin.addUsage(vaulted.id, { inputTokens: 10, outputTokens: 10, requests: 1, ts });
    for (let i = 1; i < KEYS; i++) {
      const key = p.admin.addKey(projects[i % projects.length] as string);
      if (i % 10 === 0) p.admin.addUsage(key.id, { inputTokens: 100, outputTokens: 50, requests: 1, ts: ts + (i % 60) });
    }
    expect(await p.connect()).toBe(200);
    const started = performance.now();
    const res = await p.h.admin<{ upstreams: Array<{ provider: { requests: number }; providerKeys: unknown[] }> }>('POST', '/providers/openai/reconcile');
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    expect(res.body.upstreams).toHaveLength(1);
    expect(res.body.upstreams[0]?.providerKeys).toHaveLength(1);
    expect(res.body.upstreams[0]?.provider.requests).toBe(1);
    console.log(`reconciliation of ${KEYS} provider keys: ${Math.round(elapsed)} ms`);
    expect(elapsed).toBeLessThan(10_000);
  }, 60_000);
});
