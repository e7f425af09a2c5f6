import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import { describeBudgetBenchOnEachBackend, outcomeOf, startBudgetBench, type BudgetBench } from '../adversarial/budget-harness.js';
import type { Harness } from '../support/gateway-harness.js';

interface KeyBody {
  id: string;
  key: string;
  parent_id: string | null;
  expires_at: string | null;
  models: string[];
  status: string;
  error?: { message: string; param: string | null; code: string };
}

// Each top-level block starts its own bench (the gateway suite once per limits backend) and assigns it here.
let bench: BudgetBench;
let h: Harness;
beforeEach(() => {
  bench.ledger.reset();
  h.fake.reset();
});

const mint = (parentId: string, body: Record<string, unknown>): Promise<{ status: number; body: KeyBody }> =>
  h.admin<KeyBody>('POST', `/keys/${parentId}/children`, body);

const chat = (client: OpenAI, model = 'gpt-4o-mini'): Promise<unknown> =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('ephemeral child keys: minting only narrows', () => {
  beforeAll(async () => {
    bench = await startBudgetBench();
    h = bench.h;
  });
  afterAll(() => h.close());

  it('a child asking for a model its parent lacks is refused at mint time; provably narrower globs are accepted', async () => {
    const parent = await h.createKey({ name: 'parent-models', models: ['gpt-4o-mini*', 'gpt-4.1'] });
    for (const models of [['gpt-4o'], ['gpt-4*'], ['*'], [], ['gpt-4.1*'], ['gpt-4?-mini'], ['*mini']]) {
      const res = await mint(parent.id, { ttl: '15m', models });
      expect(res.status, JSON.stringify(models)).toBe(400);
      expect(res.body.error?.param).toBe('models');
    }
    for (const models of [['gpt-4o-mini'], ['gpt-4o-mini-2024*'], ['gpt-4o-mini?'], ['gpt-4.1', 'gpt-4o-mini']]) {
      expect((await mint(parent.id, { ttl: '15m', models })).status, JSON.stringify(models)).toBe(201);
    }
    // Without a model list the child inherits the parent's, never "everything".
    expect((await mint(parent.id, { ttl: '15m' })).body.models).toEqual(['gpt-4o-mini*', 'gpt-4.1']);
  });

  it('endpoints, networks, body size, budgets, ttl and expiry cannot widen', async () => {
    const parent = await h.createKey({
      name: 'parent-scopes',
      ip_allowlist: ['10.0.0.0/8', '127.0.0.1'],
      max_body_bytes: 10_000,
      expires: '1h',
      limits: { budgets: [{ usd: 5, period: 'day' }] },
    });
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ endpoints: ['files'] }, 'endpoints'],
      [{ endpoints: ['*'] }, 'endpoints'],
      [{ ip_allowlist: ['0.0.0.0/0'] }, 'ip_allowlist'],
      [{ ip_allowlist: ['11.0.0.0/8'] }, 'ip_allowlist'],
      [{ ip_allowlist: ['10.0.0.0/7'] }, 'ip_allowlist'],
      [{ ip_allowlist: ['::/0'] }, 'ip_allowlist'],
      [{ ip_allowlist: [] }, 'ip_allowlist'],
      [{ max_body_bytes: 10_001 }, 'max_body_bytes'],
      [{ budget_usd: 5.01 }, 'budget_usd'],
      [{ ttl: '25h' }, 'ttl'],
      [{ ttl: 86_401 }, 'ttl'],
      [{ ttl: 'forever' }, 'ttl'],
    ];
    for (const [extra, param] of refused) {
      const res = await mint(parent.id, { ttl: '15m', ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.body.error?.param, JSON.stringify(extra)).toBe(param);
    }
    // ttl is required; unknown fields (e.g. trying to smuggle a canary flag or an upstream) are rejected.
    expect((await mint(parent.id, {})).status).toBe(400);
    expect((await mint(parent.id, { ttl: '15m', canary: true })).status).toBe(400);
    expect((await mint(parent.id, { ttl: '15m', upstream: 'fake' })).status).toBe(400);
    const ok = await mint(parent.id, { ttl: '20h', ip_allowlist: ['10.1.0.0/16'], max_body_bytes: 500, budget_usd: 1 });
    expect(ok.status).toBe(201);
    // Expiry never after the parent's (1h), even with a 20h ttl.
    const parentView = await h.admin<KeyBody>('GET', `/keys/${parent.id}`);
    expect(Date.parse(ok.body.expires_at ?? '')).toBeLessThanOrEqual(Date.parse(parentView.body.expires_at ?? ''));
  });

  it('no children of canaries, of children, of revoked keys, of unknown keys', async () => {
    const canary = await h.createKey({ name: 'trap', canary: true });
    expect((await mint(canary.id, { ttl: '15m' })).status).toBe(400);
    const parent = await h.createKey({ name: 'p' });
    const child = await mint(parent.id, { ttl: '15m' });
    expect((await mint(child.body.id, { ttl: '15m' })).status).toBe(400);
    await h.admin('POST', `/keys/${parent.id}/revoke`, {});
    expect((await mint(parent.id, { ttl: '15m' })).status).toBe(400);
    expect((await mint('key_doesnotexist', { ttl: '15m' })).status).toBe(404);
  });
});

// A child's spend reserves against its parent's budgets in the same atomic acquire: on both limits backends.
describeBudgetBenchOnEachBackend(
  'child keys',
  (b) => {
    bench = b;
    h = b.h;
  },
  () => {
    describe('ephemeral child keys at the gateway', () => {
      it('works with the SDK, is listed with its parent, and refuses what the parent allows but it does not', async () => {
        const parent = await h.createKey({ name: 'parent-works' });
        const child = await mint(parent.id, { ttl: '15m', models: ['gpt-4o-mini'] });
        expect(child.status).toBe(201);
        expect(child.body.parent_id).toBe(parent.id);
        expect(child.body.key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
        await chat(h.client(child.body.key));
        const err = await apiErrorOf(chat(h.client(child.body.key), 'gpt-4o'));
        expect(err.code).toBe('model_not_allowed');
        const listed = await h.admin<{ data: KeyBody[] }>('GET', '/keys');
        expect(listed.body.data.find((k) => k.id === child.body.id)?.parent_id).toBe(parent.id);
        expect(JSON.stringify(listed.body)).not.toContain(child.body.key);
      });

      it('revoking or suspending the parent kills the child on its next request', async () => {
        const parent = await h.createKey({ name: 'parent-revoke' });
        const child = await mint(parent.id, { ttl: '15m' });
        const client = h.client(child.body.key);
        await chat(client);
        await h.admin('POST', `/keys/${parent.id}/suspend`, { reason: 'investigating' });
        expect((await apiErrorOf(chat(client))).code).toBe('key_suspended');
        await h.admin('POST', `/keys/${parent.id}/unsuspend`, {});
        await chat(client);
        const before = h.fake.requestCount;
        await h.admin('POST', `/keys/${parent.id}/revoke`, {});
        const err = await apiErrorOf(chat(client));
        expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
        expect(err.code).toBe('key_revoked');
        expect(h.fake.requestCount).toBe(before);
      });

      it('keys revoke --children revokes every child; a child expires at its TTL', async () => {
        const parent = await h.createKey({ name: 'parent-cascade' });
        const a = await mint(parent.id, { ttl: '15m' });
        const b = await mint(parent.id, { ttl: '1h' });
        const revoked = await h.admin<{ revoked_children: string[] }>('POST', `/keys/${parent.id}/revoke?children=true`, {});
        expect(revoked.body.revoked_children.sort()).toEqual([a.body.id, b.body.id].sort());
        for (const id of [a.body.id, b.body.id]) expect((await h.admin<KeyBody>('GET', `/keys/${id}`)).body.status).toBe('revoked');

        const other = await h.createKey({ name: 'parent-ttl' });
        const short = await mint(other.id, { ttl: 60 });
        await chat(h.client(short.body.key));
        h.clock.advance(61_000);
        expect((await apiErrorOf(chat(h.client(short.body.key)))).code).toBe('key_expired');
        await chat(h.client(other.key));
      });

      it("child spend counts against the parent's budget: parent + children under concurrency never exceed it (judged by the upstream's bill)", async () => {
        const budgetUsd = 0.01;
        const parent = await h.createKey({ name: 'parent-budget', limits: { budgets: [{ usd: budgetUsd, period: 'day' }] } });
        const children = await Promise.all([1, 2, 3].map(() => mint(parent.id, { ttl: '15m' })));
        const clients = [h.client(parent.key), ...children.map((c) => h.client(c.body.key))];
        // gpt-4o at $10/1M output: a 250-token cap reserves ~$0.0025, so only a few of these 32 fit in the budget.
        const outcomes = await Promise.all(
          Array.from({ length: 32 }, (_, i) =>
            outcomeOf(
              (clients[i % clients.length] as OpenAI).chat.completions.create({
                model: 'gpt-4o',
                max_tokens: 250,
                messages: [{ role: 'user', content: `write a long story number ${i}` }],
              }),
            ),
          ),
        );
        expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThan(0);
        expect(outcomes.filter((o) => o === '429:budget_exceeded').length).toBeGreaterThan(0);
        expect(outcomes.every((o) => o === 'ok' || o === '429:budget_exceeded')).toBe(true);
        bench.expectBilledWithinBudget(budgetUsd);
        // What the children spent shows on the parent's budget.
        expect(await bench.spentOf(parent.id)).toBeGreaterThan(0);
      });

      it("a child alone cannot spend past its parent's budget, nor past its own", async () => {
        const drain = async (client: OpenAI): Promise<string[]> => {
          const outcomes: string[] = [];
          for (let i = 0; i < 12; i++) {
            outcomes.push(await outcomeOf(client.chat.completions.create({ model: 'gpt-4o', max_tokens: 100, messages: [{ role: 'user', content: 'go on' }] })));
          }
          return outcomes;
        };
        // No budget of its own: the parent's binds it.
        const tight = await h.createKey({ name: 'parent-budget-tight', limits: { budgets: [{ usd: 0.002, period: 'day' }] } });
        const unbudgeted = await mint(tight.id, { ttl: '15m' });
        expect(await drain(h.client(unbudgeted.body.key))).toContain('429:budget_exceeded');
        bench.expectBilledWithinBudget(0.002);

        // Its own budget, smaller than the parent's: the child stops there and the parent keeps the rest.
        bench.ledger.reset();
        const roomy = await h.createKey({ name: 'parent-budget-roomy', limits: { budgets: [{ usd: 0.01, period: 'day' }] } });
        const budgeted = await mint(roomy.id, { ttl: '15m', budget_usd: 0.002 });
        expect(await drain(h.client(budgeted.body.key))).toContain('429:budget_exceeded');
        bench.expectBilledWithinBudget(0.002);
        expect(await outcomeOf(h.client(roomy.key).chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }))).toBe('ok');
      });
    });
  },
);
