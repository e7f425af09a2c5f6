import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodKey } from '../../src/limits/periods.js';
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

  it('a sweep sent just before the stall charges nothing when it runs after it: the settlement queued behind it bills the real cost', async () => {
    const { id } = await c.h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    const day = periodKey('day', c.h.clock.now(), 'UTC');
    // Lease 300 ms, so the stall below outlasts it while staying inside the client's 1 s command timeout.
    const { backend } = await c.extraBackend(300);
    const result = await backend.acquire({
      keyId: id,
      now: c.h.clock.now(),
      rates: [],
      tokens: [],
      concurrency: null,
      budgets: [{ periodKey: day, limitUsd: 1 }],
      reserveUsd: 0.001,
    });
    if (!result.ok) throw new Error(`refused: ${result.refusal.reason}`);

    // One beat cut in two by the stall: the renewal runs, the sweep after it is sent and waits in Redis's socket.
    const renewedAt = await backend.renew();
    c.redis.pause();
    const sweep = backend.sweep(renewedAt);
    void backend.settle(result.ticket, { costUsd: 0.0002, tokensUsed: 0 }, c.h.clock.now());
    await sleep(500);
    c.redis.resume();
    // Should the host delay this past the client's 1 s command timeout, the sweep still runs in Redis: the same test.
    await sweep.catch(() => undefined);
    await backend.flush();
    // The lease ran out during the stall, but the request was settled: its cost is charged, not its reservation.
    expect((await backend.spent(id, [day]))[day]).toBeCloseTo(0.0002, 12);
    await backend.beat();
    expect((await backend.spent(id, [day]))[day]).toBeCloseTo(0.0002, 12);
    await sleep(60);
    expect((await c.h.server.services.store.spend.spentFor(id))[day]).toBeCloseTo(0.0002, 12);
  });
});
