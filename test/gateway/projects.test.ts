// Projects (teams): shared limits on top of each key's. The budget judge is the fake upstream's own bill, never
// what the gateway recorded; admin scoping is exercised with a real project-limited admin token over HTTP.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeBudgetBenchOnEachBackend, longReply, outcomeOf, startBudgetBench, type BudgetBench } from '../adversarial/budget-harness.js';
import { waitFor } from '../support/wait-for.js';

const PROJECT_BUDGET_USD = 0.01;

// Each top-level block starts its own bench (the limit suites once per limits backend) and assigns it here.
let bench: BudgetBench;
beforeEach(() => {
  bench.ledger.reset();
  bench.h.fake.reset();
  bench.h.fake.setBehavior({ type: 'ok' });
  bench.h.fake.configure({ reply: longReply(2_000) });
});

let seq = 0;
const unique = (prefix: string): string => `${prefix}-${++seq}`;

async function createProject(body: Record<string, unknown>): Promise<{ id: string; name: string }> {
  const res = await bench.h.admin<{ id: string; name: string }>('POST', '/projects', { name: unique('team'), ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.id).toMatch(/^prj_/);
  return res.body;
}

async function keyIn(project: string | null, body: Record<string, unknown> = {}): Promise<{ id: string; key: string; client: OpenAI }> {
  const created = await bench.h.createKey({ name: unique('k'), ...(project === null ? {} : { project }), ...body });
  return { ...created, client: bench.h.client(created.key) };
}

async function projectSpent(id: string): Promise<number> {
  const res = await bench.h.admin<{ budgets: Array<{ spent_usd: number }> }>('GET', `/projects/${id}`);
  expect(res.status).toBe(200);
  return res.body.budgets[0]?.spent_usd ?? Number.NaN;
}

const ask = (client: OpenAI, model = 'gpt-4o-mini', max_tokens = 400) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Write a long story.' }], max_tokens });

// The shared limits are enforced by the limits backend: the same suites run in-process and on Redis.
describeBudgetBenchOnEachBackend(
  'projects',
  (b) => {
    bench = b;
  },
  () => {
    describe('projects: a shared budget', () => {
      it('is never exceeded by two keys under 100 concurrent requests, and a restart does not refill it', async () => {
        const project = await createProject({ limits: { budgets: [{ usd: PROJECT_BUDGET_USD, period: 'day' }] } });
        // Neither key has a budget of its own: only the project's stands between them and the upstream.
        const a = await keyIn(project.name);
        const b = await keyIn(project.id);
        const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => outcomeOf(ask(i % 2 === 0 ? a.client : b.client))));
        const ok = outcomes.filter((o) => o === 'ok').length;
        expect(ok).toBeGreaterThan(5);
        expect(outcomes.filter((o) => o === '429:budget_exceeded').length).toBeGreaterThan(0);
        expect(outcomes.every((o) => o === 'ok' || o === '429:budget_exceeded')).toBe(true);
        bench.expectBilledWithinBudget(PROJECT_BUDGET_USD);
        // Both keys were billed: the budget really is shared, not per key.
        await bench.h.server.gateway.usage.flush();
        const byKey = await bench.h.admin<{ data: Array<{ keyId: string; requests: number }> }>('GET', '/usage?group_by=key');
        const served = (id: string) => byKey.body.data.find((r) => r.keyId === id)?.requests ?? 0;
        expect(served(a.id)).toBeGreaterThan(0);
        expect(served(b.id)).toBeGreaterThan(0);

        const before = await projectSpent(project.id);
        expect(before).toBeGreaterThan(0);
        expect(before).toBeLessThanOrEqual(PROJECT_BUDGET_USD + 1e-12);
        await bench.h.restart();
        const after = await projectSpent(project.id);
        expect(after).toBeGreaterThanOrEqual(before - 1e-12);
        // A request that a fresh budget would admit (its bound is below the budget) but the remainder does not.
        const remaining = PROJECT_BUDGET_USD - after;
        const wanted = Math.min(PROJECT_BUDGET_USD * 0.9, remaining + 0.004);
        const maxTokens = Math.ceil(wanted / (0.6 / 1_000_000));
        bench.ledger.reset();
        const err = await ask(bench.h.client(a.key), 'gpt-4o-mini', maxTokens).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.APIError);
        expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('budget_exceeded');
        expect((err as InstanceType<typeof OpenAI.APIError>).message).toContain(project.name);
        expect(bench.ledger.totalUsd()).toBe(0);

        // The monitor reports the project's budget, named by project, and alerts filter by project.
        const monitor = bench.h.server.monitor;
        expect(monitor).not.toBeNull();
        await monitor?.tick();
        const alerts = await bench.h.admin<{ data: Array<{ title: string; key_id: string | null; project_id: string | null; project_name: string | null }> }>(
          'GET',
          `/alerts?project=${project.name}`,
        );
        expect(alerts.status).toBe(200);
        const own = alerts.body.data.find((a) => a.key_id === null);
        expect(own?.title).toMatch(new RegExp(`^Project ${project.name} \\(${project.id}\\) (reached \\d+%|exhausted)`));
        expect(alerts.body.data.every((a) => a.project_id === project.id && a.project_name === project.name)).toBe(true);
        expect((await bench.h.admin('GET', '/alerts?project=no-such-project')).status).toBe(404);
      });

      it('stacks with a key budget: the narrower one refuses', async () => {
        const project = await createProject({ limits: { budgets: [{ usd: 1, period: 'day' }] } });
        const tight = await keyIn(project.id, { limits: { budgets: [{ usd: 0.001, period: 'day' }] } });
        const outcomes: string[] = [];
        for (let i = 0; i < 8; i++) outcomes.push(await outcomeOf(ask(tight.client, 'gpt-4o-mini', 800)));
        expect(outcomes).toContain('429:budget_exceeded');
        expect(bench.ledger.totalUsd()).toBeLessThanOrEqual(0.001 + 1e-12);
        // The key's spend counted against the project too.
        expect(await projectSpent(project.id)).toBeGreaterThan(0);
      });
    });

    describe('projects: shared rates and models', () => {
      it('shares the project rpm between two keys, leaves other keys alone, and applies an update on the next request', async () => {
        const project = await createProject({ limits: { rpm: 3 } });
        const a = await keyIn(project.id);
        const b = await keyIn(project.id);
        const outsider = await keyIn(null);
        expect(await outcomeOf(ask(a.client, 'gpt-4o-mini', 5))).toBe('ok');
        expect(await outcomeOf(ask(a.client, 'gpt-4o-mini', 5))).toBe('ok');
        expect(await outcomeOf(ask(b.client, 'gpt-4o-mini', 5))).toBe('ok');
        const refused = await ask(b.client, 'gpt-4o-mini', 5).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(OpenAI.APIError);
        expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
        expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('rate_limit_exceeded');
        expect((refused as InstanceType<typeof OpenAI.APIError>).message).toContain(project.name);
        expect(await outcomeOf(ask(a.client, 'gpt-4o-mini', 5))).toBe('429:rate_limit_exceeded');
        for (let i = 0; i < 5; i++) expect(await outcomeOf(ask(outsider.client, 'gpt-4o-mini', 5))).toBe('ok');
        expect(bench.h.fake.requests).toHaveLength(8);

        const patched = await bench.h.admin('PATCH', `/projects/${project.id}`, { limits: { rpm: 1000 } });
        expect(patched.status).toBe(200);
        expect(await outcomeOf(ask(b.client, 'gpt-4o-mini', 5))).toBe('ok');
      });

      it('shares the project concurrency between its keys', async () => {
        const project = await createProject({ limits: { concurrency: 1 } });
        const a = await keyIn(project.id);
        const b = await keyIn(project.id);
        bench.h.fake.setBehavior({ type: 'ok', delayMs: 400 });
        const slow = outcomeOf(ask(a.client, 'gpt-4o-mini', 5));
        await waitFor(() => bench.h.fake.requests.length === 1, { what: 'the first request to reach the upstream' });
        expect(await outcomeOf(ask(b.client, 'gpt-4o-mini', 5))).toBe('429:concurrency_limit_exceeded');
        expect(await slow).toBe('ok');
        bench.h.fake.setBehavior({ type: 'ok' });
        // The slot was given back, to either key.
        await waitFor(async () => (await bench.h.server.gateway.limiter.backend.inflight(project.id)) === 0, { what: 'the project slot to be released' });
        expect(await outcomeOf(ask(b.client, 'gpt-4o-mini', 5))).toBe('ok');
      });

      it('narrows a key allowed every model to the project allowlist; the narrower of the two wins', async () => {
        const project = await createProject({ models: ['gpt-4o-mini'] });
        const any = await keyIn(project.id, { models: ['*'] });
        expect(await outcomeOf(ask(any.client, 'gpt-4o-mini', 5))).toBe('ok');
        const refused = await ask(any.client, 'gpt-4o', 5).catch((e: unknown) => e);
        expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(403);
        expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_allowed');
        expect((refused as InstanceType<typeof OpenAI.APIError>).message).toContain(project.name);
        // A model-bearing POST must name a model when the project has an allowlist.
        const res = await bench.rawPost('/v1/chat/completions', any.key, JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }));
        expect(res.status).toBe(400);
        expect(res.json.error?.code).toBe('model_required');

        const narrowKey = await keyIn(project.id, { models: ['gpt-4o'] });
        expect(await outcomeOf(ask(narrowKey.client, 'gpt-4o', 5))).toBe('403:model_not_allowed');
        expect(await outcomeOf(ask(narrowKey.client, 'gpt-4o-mini', 5))).toBe('403:model_not_allowed');
        expect(bench.h.fake.requests).toHaveLength(1);

        // The model list is filtered by the project too.
        const listed = await any.client.models.list();
        expect(listed.data.map((m) => m.id).every((id) => id === 'gpt-4o-mini')).toBe(true);

        // An update of the allowlist applies on the very next request.
        expect((await bench.h.admin('PATCH', `/projects/${project.name}`, { models: ['gpt-4o*'] })).status).toBe(200);
        expect(await outcomeOf(ask(any.client, 'gpt-4o', 5))).toBe('ok');
      });
    });
  },
);

describe('projects: administration', () => {
  beforeAll(async () => {
    bench = await startBudgetBench();
  });
  afterAll(() => bench.h.close());

  describe('projects: admin API', () => {
    it('validates, refuses duplicates, refuses removal while keys belong, and audits every change', async () => {
      const project = await createProject({});
      expect((await bench.h.admin('POST', '/projects', { name: project.name })).status).toBe(409);
      for (const bad of [
        { name: 'prj_fake' },
        { name: '' },
        { name: 'x', extra: 1 },
        { name: 'x', limits: { rpm: -1 } },
        { name: 'x', limits: { max_output_tokens: 5 } },
        { name: 'x', models: ['gpt 4'] },
        { name: 'x'.repeat(101) },
      ]) {
        const res = await bench.h.admin<{ error: { code: string } }>('POST', '/projects', bad);
        expect(res.status, JSON.stringify(bad)).toBe(400);
      }
      const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
      const raw = await fetch(`${bench.h.server.url}/admin/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${bench.h.adminToken}` }, body: deep });
      expect(raw.status).toBe(400);
      expect((await bench.h.admin('POST', '/keys', { name: 'x', project: 'no-such-project' })).status).toBe(400);

      const key = await keyIn(project.name);
      const refused = await bench.h.admin<{ error: { code: string; message: string } }>('DELETE', `/projects/${project.id}`);
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toContain(key.id);
      expect((await bench.h.admin('POST', `/keys/${key.id}/revoke`)).status).toBe(200);
      expect((await bench.h.admin('DELETE', `/projects/${project.id}`)).status).toBe(200);
      expect((await bench.h.admin('GET', `/projects/${project.id}`)).status).toBe(404);

      const audit = await bench.h.admin<{ data: Array<{ action: string; target: string }> }>('GET', '/audit?limit=5000');
      const actions = audit.body.data.filter((e) => e.target === `project:${project.id}`).map((e) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['project.created', 'project.removed']));
    });

    it('lets a viewer read projects but not write them', async () => {
      const viewer = await bench.h.admin<{ token: string }>('POST', '/admin-tokens', { name: 'viewer', role: 'viewer' });
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${bench.h.server.url}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${viewer.body.token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
      expect((await call('GET', '/projects')).status).toBe(200);
      expect((await call('POST', '/projects', { name: unique('v') })).status).toBe(403);
    });
  });

  describe('projects: a project-limited admin token', () => {
    it('sees and manages only its own project: other projects and unassigned keys are 404, everything else 403', async () => {
      const mine = await createProject({});
      const theirs = await createProject({});
      const ownKey = await keyIn(mine.id);
      const otherKey = await keyIn(theirs.id, { name: 'their-key' });
      const loose = await keyIn(null, { name: 'loose-key' });
      const issued = await bench.h.admin<{ token: string; project_id: string }>('POST', '/admin-tokens', { name: 'team', role: 'admin', project: mine.name });
      expect(issued.status).toBe(201);
      expect(issued.body.project_id).toBe(mine.id);
      expect((await bench.h.admin('POST', '/admin-tokens', { name: 't', role: 'admin', project: 'nope' })).status).toBe(400);
      const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
        const res = await fetch(`${bench.h.server.url}/admin/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${issued.body.token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : {}) as Record<string, unknown> };
      };

      const listed = await call('GET', '/keys');
      expect(listed.status).toBe(200);
      const ids = (listed.body.data as Array<{ id: string }>).map((k) => k.id);
      expect(ids).toEqual([ownKey.id]);

      for (const other of [otherKey.id, loose.id, 'their-key', 'loose-key']) {
        expect((await call('GET', `/keys/${other}`)).status).toBe(404);
        expect((await call('PATCH', `/keys/${other}`, { name: 'stolen' })).status).toBe(404);
        expect((await call('POST', `/keys/${other}/revoke`)).status).toBe(404);
        expect((await call('POST', `/keys/${other}/rotate`, {})).status).toBe(404);
        expect((await call('POST', `/keys/${other}/suspend`, {})).status).toBe(404);
      }
      // Nothing changed on the other keys.
      const untouched = await bench.h.admin<{ name: string; status: string }>('GET', `/keys/${otherKey.id}`);
      expect(untouched.body).toMatchObject({ name: 'their-key', status: 'active' });

      // Keys it creates land in its project; it cannot put one elsewhere, take one out, or borrow objects across.
      const created = await call('POST', '/keys', { name: 'made-by-team' });
      expect(created.status).toBe(201);
      expect(created.body.project_id).toBe(mine.id);
      expect((await call('POST', '/keys', { name: 'x', project: theirs.id })).status).toBe(403);
      expect((await call('PATCH', `/keys/${ownKey.id}`, { project: null })).status).toBe(403);
      expect((await call('PATCH', `/keys/${ownKey.id}`, { project: theirs.name })).status).toBe(403);
      expect((await call('PATCH', `/keys/${ownKey.id}`, { objects_from: [otherKey.id] })).status).toBe(400);
      expect((await call('PATCH', `/keys/${ownKey.id}`, { name: 'renamed' })).status).toBe(200);

      const projects = await call('GET', '/projects');
      expect((projects.body.data as Array<{ id: string }>).map((p) => p.id)).toEqual([mine.id]);
      expect((await call('GET', `/projects/${theirs.id}`)).status).toBe(404);
      expect((await call('GET', `/projects/${mine.id}`)).status).toBe(200);
      expect((await call('PATCH', `/projects/${mine.id}`, { limits: {} })).status).toBe(403);
      expect((await call('POST', '/projects', { name: unique('x') })).status).toBe(403);

      for (const [method, path] of [
        ['GET', '/upstreams'],
        ['GET', '/usage/records'],
        ['GET', '/alerts'],
        ['GET', '/audit'],
        ['GET', '/admin-tokens'],
        ['POST', '/keys/report-leak'],
        ['GET', '/usage/rollups'],
      ] as const) {
        expect((await call(method, path, method === 'POST' ? { key: 'kw_x', source: 's' } : undefined)).status, path).toBe(403);
      }

      // Usage: only its own keys, even when it names another key.
      await outcomeOf(ask(ownKey.client, 'gpt-4o-mini', 5));
      await outcomeOf(ask(otherKey.client, 'gpt-4o-mini', 5));
      await outcomeOf(ask(loose.client, 'gpt-4o-mini', 5));
      await bench.h.server.gateway.usage.flush();
      const usage = await call('GET', '/usage?group_by=key');
      expect(usage.status).toBe(200);
      expect((usage.body.data as Array<{ keyId: string }>).map((r) => r.keyId)).toEqual([ownKey.id]);
      expect((await call('GET', `/usage?key_id=${otherKey.id}`)).status).toBe(404);
      const total = await call('GET', '/usage?group_by=model');
      expect((total.body.data as Array<{ requests: number }>).reduce((n, r) => n + r.requests, 0)).toBe(1);
    });
  });

  describe('projects: usage', () => {
    it('groups usage by project, with names, keys in no project under null, in JSON and CSV', async () => {
      const p1 = await createProject({});
      const p2 = await createProject({});
      const a = await keyIn(p1.id);
      const b = await keyIn(p1.id);
      const c = await keyIn(p2.id);
      const since = new Date(bench.h.clock.now() - 1000).toISOString();
      for (const k of [a, b, b, c]) expect(await outcomeOf(ask(k.client, 'gpt-4o-mini', 5))).toBe('ok');
      await bench.h.server.gateway.usage.flush();
      const res = await bench.h.admin<{ data: Array<{ projectId: string | null; projectName: string | null; requests: number; keyId?: string }> }>(
        'GET',
        `/usage?group_by=project&since=${encodeURIComponent(since)}`,
      );
      expect(res.status).toBe(200);
      const row = (id: string) => res.body.data.find((r) => r.projectId === id);
      expect(row(p1.id)).toMatchObject({ projectName: p1.name, requests: 3 });
      expect(row(p2.id)).toMatchObject({ projectName: p2.name, requests: 1 });
      expect(res.body.data.every((r) => r.keyId === undefined)).toBe(true);
      const csv = await fetch(`${bench.h.server.url}/admin/v1/usage?group_by=project,model&format=csv&since=${encodeURIComponent(since)}`, {
        headers: { authorization: `Bearer ${bench.h.adminToken}` },
      });
      const text = await csv.text();
      expect(text.split('\n')[0]).toMatch(/^projectId,projectName,model,/);
      expect(text).toContain(`${p1.id},${p1.name},gpt-4o-mini,3`);
      expect((await bench.h.admin('GET', '/usage?group_by=team')).status).toBe(400);
    });
  });
});
