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

const IN = 0.15 / 1e6;
const OUT = 0.6 / 1e6;
const messages = [{ role: 'user' as const, content: 'Write one sentence about tides.' }];
const MAX_TOKENS = 1000;
const WORST_CASE = Buffer.byteLength(JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: MAX_TOKENS })) * IN + MAX_TOKENS * OUT;
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof OpenAI.APIError ? `${err.status ?? 0}:${err.code ?? 'none'}` : 'other'),
  );
const ask = (client: OpenAI): Promise<string> => outcome(client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: MAX_TOKENS }));

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Four worst-case requests and change fit the budget. One finishes (settled spend), four more stay in flight, then Redis loses
 * everything. Five more requests after the loss must all be refused: the settled spend is rebuilt from the ledger
 * and the in-flight reservations are re-registered by their replicas before anything is admitted.
 */
async function budgetSurvives(loseRedis: () => Promise<void>): Promise<void> {
  // Four and a half worst cases: four in flight plus the first request's real cost leave less than one.
  const budget = WORST_CASE * 4.5;
  const { id, key } = await c.h.createKey({ limits: { budgets: [{ usd: budget, period: 'day' }] } });
  const clients = c.replicas.map((r) => r.client(key));
  expect(await ask(clients[0]!)).toBe('ok');
  for (const r of c.replicas) await r.gateway.usage.flush();
  const spentBefore = await c.spentOf(id);
  expect(spentBefore).toBeGreaterThan(0);

  c.h.fake.setBehavior({ type: 'ok', delayMs: 2500 });
  const inFlight = [ask(clients[0]!), ask(clients[1]!), ask(clients[2]!), ask(clients[0]!)];
  await until(() => c.replicas.reduce((n, r) => n + r.backend.openTickets, 0) === 4, 2000);
  await loseRedis();
  await until(() => c.replicas.every((r) => r.backend.available()), 10_000);

  // Reservations for 4 worst cases are open and one request's real cost is spent: one more worst case does not fit.
  const after = await Promise.all(c.replicas.map((_, i) => ask(clients[i]!)));
  expect(after).toEqual(['429:budget_exceeded', '429:budget_exceeded', '429:budget_exceeded']);
  expect(await Promise.all(inFlight)).toEqual(['ok', 'ok', 'ok', 'ok']);
  for (const r of c.replicas) await r.gateway.usage.flush();
  await new Promise((resolve) => setTimeout(resolve, 50));
  // Not refilled: what was spent before the loss is still counted, and nothing was served beyond the budget.
  expect(await c.spentOf(id)).toBeGreaterThanOrEqual(spentBefore);
  expect(c.billing.entries).toHaveLength(5);
  expect(c.billing.totalUsd()).toBeLessThanOrEqual(budget);
}

describe('Redis loses its state mid-run', () => {
  it('FLUSHALL: the budget is not refilled', async () => {
    await budgetSurvives(async () => {
      expect(await c.redis.command('FLUSHALL')).toBe('+OK\r\n');
    });
  });

  it('a real restart of redis-server (empty, no persistence): the budget is not refilled', async () => {
    await budgetSurvives(async () => {
      await c.redis.stop();
      await c.redis.start();
    });
  });

  it('settled spend alone survives a FLUSHALL: spend shown before equals spend shown after', async () => {
    const { id, key } = await c.h.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
    for (let i = 0; i < 4; i++) expect(await ask(c.replicas[i % 3]!.client(key))).toBe('ok');
    for (const r of c.replicas) await r.gateway.usage.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = await c.spentOf(id);
    expect(await c.redis.command('FLUSHALL')).toBe('+OK\r\n');
    expect(await c.spentOf(id)).toBeCloseTo(before, 12);
  });
});
