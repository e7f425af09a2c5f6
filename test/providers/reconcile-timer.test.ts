import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { startProviderHarness } from './provider-harness.js';

describe('reconciliation timer', () => {
  it('does nothing while no provider is connected, runs on its interval once connected, and stops with the server', async () => {
    const p = await startProviderHarness({ harness: { config: { providers: { reconcile: { enabled: true, intervalMs: 100, reportingDelayMs: 0 } } } } });
    try {
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(p.admin.requests).toHaveLength(0);
      p.admin.addKey(p.admin.addProject('prod'), { secret: p.h.upstreamKey });
      expect(await p.connect()).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 450));
      expect(p.admin.requests.filter((r) => r.url.includes('usage/completions')).length).toBeGreaterThanOrEqual(2);
      await p.h.server.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const after = p.admin.requests.length;
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(p.admin.requests.length).toBe(after);
    } finally {
      // The server is already closed (that is what is tested); the rest of the harness is torn down by hand.
      await p.admin.close();
      await p.h.fake.close();
      await rm(p.h.dataDir, { recursive: true, force: true });
    }
  });
});
