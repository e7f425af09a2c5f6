// Three gateway replicas on one PostgreSQL (store) and one Redis (limits), as issue 11 deploys them: a budget holds
// across all three under 300 concurrent SDK requests (judged by what the fake upstream billed), no usage record of
// a served request is lost, and a revocation on one replica is refused on the other two on their next request.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingLedger } from '../support/fake-openai-billing.js';
import type { Harness } from '../support/gateway-harness.js';
import { startPgRedisReplicas, type PgRedisReplicas } from '../support/pg-redis-replicas.js';

let stack: PgRedisReplicas | undefined;
let replicas: Harness[] = [];
const billing = new BillingLedger();

beforeAll(async () => {
  stack = await startPgRedisReplicas(billing);
  replicas = stack.replicas;
}, 90_000);
afterAll(async () => {
  await stack?.close();
}, 30_000);

// gpt-4o-mini list prices: $0.15 / 1M input, $0.60 / 1M output.
const IN = 0.15 / 1e6;
const OUT = 0.6 / 1e6;
const messages = [{ role: 'user' as const, content: 'Summarize the plot of a short story about a lighthouse keeper.' }];
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof OpenAI.APIError ? `${err.status ?? 0}:${err.code ?? 'none'}` : 'other'),
  );

describe('three replicas on PostgreSQL + Redis', () => {
  it('all three really run on PostgreSQL and Redis', () => {
    for (const r of replicas) {
      expect(r.server.services.store.kind).toBe('postgres');
      expect(r.server.gateway.limiter.backend.constructor.name).toBe('RedisLimitsBackend');
    }
  });

  it('300 concurrent SDK requests over three replicas stay within a budget that fits 20 worst cases; every served request is recorded', async () => {
    const [a, b, c] = replicas as [Harness, Harness, Harness];
    const maxTokens = 1000;
    const bodyBytes = Buffer.byteLength(JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens }));
    const budget = (bodyBytes * IN + maxTokens * OUT) * 20;
    const { id, key } = await b.createKey({ limits: { budgets: [{ usd: budget, period: 'day' }] } });
    a.fake.setBehavior({ type: 'ok', delayMs: 3000 });
    const clients = replicas.map((r) => r.client(key, { maxRetries: 0 }));
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) => outcome(clients[i % 3]!.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: maxTokens }))),
    );
    a.fake.setBehavior({ type: 'ok' });
    const admitted = outcomes.filter((o) => o === 'ok').length;
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThanOrEqual(20);
    expect(outcomes.filter((o) => o === '429:budget_exceeded')).toHaveLength(300 - admitted);
    // The judge: what the upstream billed at list prices.
    expect(billing.entries).toHaveLength(admitted);
    expect(billing.totalUsd()).toBeLessThanOrEqual(budget);
    for (const r of replicas) await r.server.gateway.usage.flush();
    const shown = await c.admin<{ budgets: Array<{ spent_usd: number }> }>('GET', `/keys/${id}`);
    const spent = shown.body.budgets[0]?.spent_usd ?? Number.NaN;
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(budget);
    // Every served request left its usage record in the shared store, whichever replica served it.
    const usage = await a.admin<{ data: Array<{ keyId: string; requests: number }> }>('GET', '/usage?group_by=key');
    expect(usage.body.data.find((row) => row.keyId === id)?.requests).toBe(300);
    const byStatus = await a.admin<{ data: Array<{ keyId: string; requests: number; errors: number }> }>('GET', '/usage?group_by=key');
    const row = byStatus.body.data.find((r) => r.keyId === id);
    expect((row?.requests ?? 0) - (row?.errors ?? 0)).toBe(admitted);
  });

  it('a key revoked on one replica is refused by the other two on their next request (time measured)', async () => {
    const [a, b, c] = replicas as [Harness, Harness, Harness];
    const { id, key } = await a.createKey({ name: 'revoke-me' });
    const onB = b.client(key, { maxRetries: 0 });
    const onC = c.client(key, { maxRetries: 0 });
    for (const client of [onB, onC]) expect(await outcome(client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 5 }))).toBe('ok');
    expect((await a.admin('POST', `/keys/${id}/revoke`)).status).toBe(200);
    const returned = performance.now();
    const next = await Promise.all([onB, onC].map((client) => outcome(client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 5 }))));
    const took = performance.now() - returned;
    expect(next).toEqual(['401:key_revoked', '401:key_revoked']);
    expect(took).toBeLessThan(2000);
  });
});
