import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './redis-cluster.js';

// Replica 0 has limits.failOpen: true, replica 1 keeps the default (false).
let c: Cluster;
beforeAll(async () => {
  c = await startCluster({ replicas: 2, failOpen: true, extraFailOpen: false });
});
afterAll(() => c.close());

const messages = [{ role: 'user' as const, content: 'hi' }];
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof OpenAI.APIError ? `${err.status ?? 0}:${err.code ?? 'none'}` : `other:${String(err)}`),
  );
const ask = (client: OpenAI): Promise<string> => outcome(client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 20 }));
const readyz = async (url: string): Promise<{ status: number; body: Record<string, string> }> => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};

describe('Redis unreachable', () => {
  it('refuses limited keys with 503 limits_unavailable, keeps failOpen keys working, and recovers without a restart', async () => {
    const budgeted = await c.h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    const rated = await c.h.createKey({ limits: { rpm: 100 } });
    const plain = await c.h.createKey();
    const [open, closed] = c.replicas;
    expect(await ask(open!.client(budgeted.key))).toBe('ok');
    await open!.gateway.usage.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const spentBefore = await c.spentOf(budgeted.id);
    expect(spentBefore).toBeGreaterThan(0);
    expect(await readyz(c.h.server.url)).toEqual({ status: 200, body: { status: 'ok', redis: 'up' } });

    await c.redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    const down = {
      budgetedOpen: await ask(open!.client(budgeted.key)),
      ratedOpen: await ask(open!.client(rated.key)),
      plainOpen: await ask(open!.client(plain.key)),
      budgetedClosed: await ask(closed!.client(budgeted.key)),
      plainClosed: await ask(closed!.client(plain.key)),
    };
    expect(down).toEqual({
      budgetedOpen: '503:limits_unavailable',
      ratedOpen: '503:limits_unavailable',
      plainOpen: 'ok',
      budgetedClosed: '503:limits_unavailable',
      plainClosed: '503:limits_unavailable',
    });
    // Refused at once, not after a queue or a long timeout.
    expect(Date.now() - started).toBeLessThan(3000);
    // Replica 0 still serves keys without limits: ready, degraded; the error body names no internals.
    expect(await readyz(c.h.server.url)).toEqual({ status: 200, body: { status: 'degraded', redis: 'down' } });
    const raw = await fetch(`${c.h.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${budgeted.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: 20 }),
    });
    expect(raw.status).toBe(503);
    const text = await raw.text();
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'server_error', code: 'limits_unavailable', param: null } });
    expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|ioredis|stream/i);
    expect(c.h.logs()).not.toContain(budgeted.key);

    await c.redis.start();
    const deadline = Date.now() + 10_000;
    let recovered = '';
    while (Date.now() < deadline) {
      recovered = await ask(closed!.client(budgeted.key));
      if (recovered === 'ok') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(recovered).toBe('ok');
    expect(await ask(open!.client(rated.key))).toBe('ok');
    expect(await ask(closed!.client(plain.key))).toBe('ok');
    expect(await readyz(c.h.server.url)).toEqual({ status: 200, body: { status: 'ok', redis: 'up' } });
    // The restarted Redis was empty: the spend came back from the ledger, not from zero.
    expect(await c.spentOf(budgeted.id)).toBeGreaterThanOrEqual(spentBefore);
  });
});
