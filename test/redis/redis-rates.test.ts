import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './redis-cluster.js';

let c: Cluster;
beforeAll(async () => {
  c = await startCluster({ replicas: 3 });
});
afterAll(() => c.close());

const messages = [{ role: 'user' as const, content: 'hi' }];
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof OpenAI.APIError ? `${err.status ?? 0}:${err.code ?? 'none'}` : 'other'),
  );

/** `n` concurrent requests spread round-robin over the replicas; returns how many were admitted. */
async function burst(key: string, n: number): Promise<number> {
  const clients = c.replicas.map((r) => r.client(key));
  const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => outcome(clients[i % clients.length]!.chat.completions.create({ model: 'gpt-4o-mini', messages }))));
  expect(outcomes.filter((o) => o !== 'ok' && o !== '429:rate_limit_exceeded')).toEqual([]);
  return outcomes.filter((o) => o === 'ok').length;
}

describe('request rates shared across replicas (GCRA in Redis)', () => {
  it('rpm = 60 over three replicas: admitted count within ±1 of GCRA theory', async () => {
    const { key } = await c.h.createKey({ limits: { rpm: 60 } });
    // GCRA with a burst of `limit`: 60 at once, then one per second of elapsed time.
    expect(Math.abs((await burst(key, 150)) - 60)).toBeLessThanOrEqual(1);
    c.h.clock.advance(10_000);
    expect(Math.abs((await burst(key, 60)) - 10)).toBeLessThanOrEqual(1);
    c.h.clock.advance(500);
    expect(await burst(key, 30)).toBeLessThanOrEqual(1);
    c.h.clock.advance(60_000);
    expect(Math.abs((await burst(key, 150)) - 60)).toBeLessThanOrEqual(1);
  });

  it('concurrency = 4 is one limit across replicas, not four per replica', async () => {
    const { key } = await c.h.createKey({ limits: { concurrency: 4 } });
    c.h.fake.setBehavior({ type: 'ok', delayMs: 800 });
    try {
      const clients = c.replicas.map((r) => r.client(key));
      const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => outcome(clients[i % 3]!.chat.completions.create({ model: 'gpt-4o-mini', messages }))));
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(4);
      expect(outcomes.filter((o) => o === '429:concurrency_limit_exceeded')).toHaveLength(26);
    } finally {
      c.h.fake.reset();
    }
  });
});
