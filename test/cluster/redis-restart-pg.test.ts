// Redis restarted mid-run under three gateway replicas on PostgreSQL + Redis (issue 11): Redis comes back empty, the
// budget is rebuilt from PostgreSQL's ledger and the replicas' open reservations before anything is admitted, so it
// is not refilled; admission resumes without restarting any gateway. Judged by the fake upstream's bill.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingLedger } from '../support/fake-openai-billing.js';
import type { Harness } from '../support/gateway-harness.js';
import { startPgRedisReplicas, type PgRedisReplicas } from '../support/pg-redis-replicas.js';
import type { TestRedis } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

let stack: PgRedisReplicas | undefined;
let redis: TestRedis;
let replicas: Harness[] = [];
const billing = new BillingLedger();

beforeAll(async () => {
  stack = await startPgRedisReplicas(billing);
  redis = stack.redis;
  replicas = stack.replicas;
}, 90_000);
afterAll(async () => {
  await stack?.close();
}, 30_000);

const IN = 0.15 / 1e6;
const OUT = 0.6 / 1e6;
const MAX_TOKENS = 1000;
const messages = [{ role: 'user' as const, content: 'Write one sentence about tides.' }];
const WORST_CASE = Buffer.byteLength(JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: MAX_TOKENS })) * IN + MAX_TOKENS * OUT;
const ask = (client: OpenAI): Promise<string> =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: MAX_TOKENS }).then(
    () => 'ok',
    (err: unknown) => (err instanceof OpenAI.APIError ? `${err.status ?? 0}:${err.code ?? 'none'}` : 'other'),
  );

async function spentOf(h: Harness, id: string): Promise<number> {
  return (await h.admin<{ budgets: Array<{ spent_usd: number }> }>('GET', `/keys/${id}`)).body.budgets[0]?.spent_usd ?? Number.NaN;
}
async function flushAll(): Promise<void> {
  for (const r of replicas) {
    await r.server.gateway.usage.flush();
    await r.server.services.store.flushSpend();
  }
}

describe('Redis restarted mid-run on PostgreSQL + Redis', () => {
  it('the budget is not refilled: spend after >= spend before, requests beyond the budget are still refused, admission resumes', async () => {
    const [a, b, c] = replicas as [Harness, Harness, Harness];
    for (const r of replicas) expect(r.server.services.store.kind).toBe('postgres');
    // Four worst cases in flight plus one request's real cost leave less than one worst case.
    const budget = WORST_CASE * 4.5;
    const { id, key } = await b.createKey({ limits: { budgets: [{ usd: budget, period: 'day' }] } });
    const clients = replicas.map((r) => r.client(key, { maxRetries: 0, timeout: 20_000 }));
    expect(await ask(clients[0]!)).toBe('ok');
    await flushAll();
    const spentBefore = await spentOf(c, id);
    expect(spentBefore).toBeGreaterThan(0);

    a.fake.setBehavior({ type: 'ok', delayMs: 2500 });
    const inFlight = [ask(clients[0]!), ask(clients[1]!), ask(clients[2]!), ask(clients[0]!)];
    await waitFor(() => a.fake.requests.length === 5, { timeoutMs: 5000, what: 'four requests in flight upstream' });

    // A real restart: redis-server killed (no persistence, everything in memory lost) and started again. What it held
    // is gone: a marker written before the kill is not there afterwards. (Not DBSIZE 0: the replicas reconnect at once
    // and their heartbeat may already have written its keys again by the time this asks.)
    expect(await redis.command('SET', 'kw-test:before-restart', '1')).toBe('+OK\r\n');
    await redis.stop();
    await redis.start();
    expect(await redis.command('EXISTS', 'kw-test:before-restart')).toBe(':0\r\n');
    await waitFor(() => replicas.every((r) => r.server.gateway.limiter.backend.available?.() !== false), { timeoutMs: 15_000, what: 'every replica to reconnect' });

    // Not refilled: one more worst case does not fit on any replica.
    const after = await Promise.all(clients.map((client) => ask(client)));
    expect(after).toEqual(['429:budget_exceeded', '429:budget_exceeded', '429:budget_exceeded']);
    expect(await Promise.all(inFlight)).toEqual(['ok', 'ok', 'ok', 'ok']);
    a.fake.setBehavior({ type: 'ok' });
    await flushAll();
    const spentAfter = await spentOf(a, id);
    expect(spentAfter).toBeGreaterThanOrEqual(spentBefore);
    // The judge: five requests served, within the budget; what keywarden counts covers what the upstream billed.
    expect(billing.entries).toHaveLength(5);
    expect(billing.totalUsd()).toBeLessThanOrEqual(budget);
    expect(spentAfter).toBeGreaterThanOrEqual(billing.totalUsd() * 0.999);

    // Admission resumes without restarting anything: a budgeted key with room is served on every replica.
    const fresh = await c.createKey({ limits: { budgets: [{ usd: 1, period: 'day' }], rpm: 1000 } });
    for (const r of replicas) expect(await ask(r.client(fresh.key, { maxRetries: 0 }))).toBe('ok');
    for (const r of replicas) expect(await (await fetch(`${r.server.url}/readyz`)).json()).toMatchObject({ redis: 'up', postgres: 'up' });
  }, 90_000);
});
