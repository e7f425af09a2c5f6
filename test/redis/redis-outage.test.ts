import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from '../support/gateway-harness.js';
import { startTestRedis } from '../support/redis-server.js';
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

describe('Redis lost while requests are in flight', () => {
  it('charges a request that finished during the outage to the ledger exactly once: no loss, no double count', async () => {
    const { id, key } = await c.h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    const client = c.replicas[1]!.client(key);
    expect(await ask(client)).toBe('ok');
    c.h.fake.setBehavior({ type: 'ok', delayMs: 800 });
    try {
      const pending = ask(client);
      const deadline = Date.now() + 2000;
      while (c.replicas[1]!.backend.openTickets === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(c.replicas[1]!.backend.openTickets).toBe(1);
      await c.redis.stop();
      // Admitted before the outage, answered during it: served, and its settlement goes to the ledger.
      expect(await pending).toBe('ok');
      await c.redis.start();
      const until = Date.now() + 10_000;
      while (!c.replicas.every((r) => r.backend.available()) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
      for (const r of c.replicas) await r.backend.beat();
    } finally {
      c.h.fake.reset();
    }
    for (const r of c.replicas) await r.gateway.usage.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { body } = await c.h.admin<{ data: Array<{ costUsd: number | null }> }>('GET', `/usage/records?key_id=${id}`);
    expect(body.data).toHaveLength(2);
    const recorded = body.data.reduce((sum, r) => sum + (r.costUsd ?? 0), 0);
    expect(recorded).toBeGreaterThan(0);
    expect(await c.spentOf(id)).toBeCloseTo(recorded, 12);
  });
});

describe('Redis unreachable from the start, or refusing our password', () => {
  it('starts degraded, refuses limited keys, and serves them once redis-server comes up, without a restart', async () => {
    const redis = await startTestRedis();
    await redis.stop();
    const h = await startHarness({ config: { limits: { redis: { url: redis.url } } } });
    try {
      const limited = await h.createKey({ limits: { rpm: 10 } });
      expect(await ask(h.client(limited.key))).toBe('503:limits_unavailable');
      expect(await readyz(h.server.url)).toEqual({ status: 503, body: { status: 'unavailable', redis: 'down' } });
      await redis.start();
      const deadline = Date.now() + 10_000;
      let result = '';
      while (Date.now() < deadline && (result = await ask(h.client(limited.key))) !== 'ok') await new Promise((resolve) => setTimeout(resolve, 100));
      expect(result).toBe('ok');
      expect(await readyz(h.server.url)).toEqual({ status: 200, body: { status: 'ok', redis: 'up' } });
    } finally {
      await h.close();
      await redis.stop();
    }
  });

  it('never logs or answers with the Redis password', async () => {
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const redis = await startTestRedis(['--requirepass', password]);
    const h = await startHarness({ config: { limits: { redis: { url: `redis://:${password}x@127.0.0.1:${redis.port}` } } } });
    try {
      const limited = await h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
      const res = await fetch(`${h.server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${limited.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: 20 }),
      });
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'limits_unavailable' } });
      const ready = await fetch(`${h.server.url}/readyz`);
      const everything = `${text}${await ready.text()}${h.logs()}`;
      expect(everything).not.toContain(password);
      expect(h.logs()).toContain('redis');
    } finally {
      await h.close();
      await redis.stop();
    }
  });
});
