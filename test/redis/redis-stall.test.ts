import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './redis-cluster.js';

let c: Cluster;
beforeAll(async () => {
  c = await startCluster({ replicas: 1, leaseMs: 900 });
});
afterAll(async () => {
  c.redis.resume();
  await c.close();
});

const messages = [{ role: 'user' as const, content: 'hi' }];
const ask = (client: OpenAI): Promise<string> =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 200 }).then(
    () => 'ok',
    (err: unknown) => (err instanceof OpenAI.APIError ? `${err.status ?? 0}:${err.code ?? 'none'}` : 'other'),
  );
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a stalled Redis (SIGSTOP: connected, silent)', () => {
  it('refuses within the command timeout instead of hanging, and the late-running reservation is released, not charged', async () => {
    const { id, key } = await c.h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    const client = c.replicas[0]!.client(key);
    expect(await ask(client)).toBe('ok');

    c.redis.pause();
    const started = Date.now();
    expect(await ask(client)).toBe('503:limits_unavailable');
    // commandTimeoutMs is 1 s.
    expect(Date.now() - started).toBeLessThan(2500);
    c.redis.resume();

    // The frozen server now runs the queued acquire, then the release sent after it.
    const deadline = Date.now() + 10_000;
    let result = '';
    while (Date.now() < deadline && (result = await ask(client)) !== 'ok') await sleep(100);
    expect(result).toBe('ok');
    // Past the lease and a sweep: nothing but the two served requests is charged.
    await sleep(2000);
    await c.replicas[0]!.gateway.usage.flush();
    await sleep(50);
    const { body } = await c.h.admin<{ data: Array<{ status: number; costUsd: number | null }> }>('GET', `/usage/records?key_id=${id}`);
    const served = body.data.filter((r) => r.status === 200);
    expect(served).toHaveLength(2);
    const recorded = served.reduce((sum, r) => sum + (r.costUsd ?? 0), 0);
    expect(await c.spentOf(id)).toBeCloseTo(recorded, 12);
  });
});
