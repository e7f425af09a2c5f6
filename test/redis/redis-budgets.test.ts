import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './redis-cluster.js';

let c: Cluster;
beforeAll(async () => {
  c = await startCluster({ replicas: 3 });
});
afterEach(() => {
  c.h.fake.reset();
  c.billing.reset();
});
afterAll(() => c.close());

// gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output.
const IN = 0.15 / 1e6;
const OUT = 0.6 / 1e6;
const messages = [{ role: 'user' as const, content: 'Summarize the plot of a short story about a lighthouse keeper.' }];
const bodyBytes = (maxTokens: number): number => Buffer.byteLength(JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens }));
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof OpenAI.APIError ? `${err.status ?? 0}:${err.code ?? 'none'}` : 'other'),
  );

describe('Redis limits backend: budgets across replicas', () => {
  it('300 concurrent SDK requests spread over three replicas: the upstream serves at most what the budget pays for', async () => {
    const maxTokens = 1000;
    const worstCase = bodyBytes(maxTokens) * IN + maxTokens * OUT;
    const budget = worstCase * 20;
    const { id, key } = await c.h.createKey({ limits: { budgets: [{ usd: budget, period: 'day' }] } });
    // Every answer is held long enough for all 300 requests to be in flight together.
    c.h.fake.setBehavior({ type: 'ok', delayMs: 4000 });
    const clients = c.replicas.map((r) => r.client(key));
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) => outcome(clients[i % clients.length]!.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens }))),
    );
    const admitted = outcomes.filter((o) => o === 'ok').length;
    expect(admitted).toBeLessThanOrEqual(20);
    expect(admitted).toBeGreaterThanOrEqual(19);
    expect(outcomes.filter((o) => o === '429:budget_exceeded')).toHaveLength(300 - admitted);
    // The judge: what the fake upstream billed, at list prices.
    expect(c.billing.entries).toHaveLength(admitted);
    expect(c.billing.totalUsd()).toBeLessThanOrEqual(budget);
    for (const r of c.replicas) await r.gateway.usage.flush();
    const spent = await c.spentOf(id);
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(budget);
    // Every replica released its reservations: nothing is left open in Redis.
    expect(c.replicas.map((r) => r.backend.openTickets)).toEqual([0, 0, 0]);
    const remaining = await c.replicas[1]!.backend.budgetRemaining(id, [{ periodKey: `day:${new Date(c.h.clock.now()).toISOString().slice(0, 10)}`, limitUsd: budget }]);
    expect(remaining).toBeCloseTo(budget - spent, 12);
  });

  it('spends one Redis round trip to admit and one to settle (counted by the server)', async () => {
    const { key } = await c.h.createKey({ limits: { rpm: 1000, concurrency: 5, budgets: [{ usd: 10, period: 'day' }] } });
    const client = c.replicas[2]!.client(key);
    // Warm up: the first budgeted request of a key loads its spend from the ledger (one extra trip, once).
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 50 });
    for (const r of c.replicas) r.backend.stop();
    try {
      const before = await c.redis.scriptCalls();
      const n = 10;
      for (let i = 0; i < n; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 50 });
      // Settlement happens after the answer is sent: give the last one a moment.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await c.redis.scriptCalls()).toBe(before + 2 * n);
    } finally {
      for (const r of c.replicas) r.backend.start();
    }
  });

  it('keeps working after SCRIPT FLUSH (EVALSHA falls back to EVAL on NOSCRIPT)', async () => {
    const { key } = await c.h.createKey({ limits: { rpm: 100, budgets: [{ usd: 1, period: 'day' }] } });
    const client = c.replicas[0]!.client(key);
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 20 });
    expect(await c.redis.command('SCRIPT', 'FLUSH')).toBe('+OK\r\n');
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 20 });
    expect(c.billing.entries).toHaveLength(2);
  });
});
