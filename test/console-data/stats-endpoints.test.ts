import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord, VirtualKeyRecord } from '../../src/store/index.js';
import { DAY, HOUR, MINUTE, localDateOf, seeded, statsEnv, usageRecord, type StatsEnv } from './stats-harness.js';

// 10:30 UTC on 15 Nov 2026: in New York it is still 05:30 on the 15th; in Kolkata (+05:30) it is 16:00.
const NOW = Date.UTC(2026, 10, 15, 10, 30, 17);

interface Point {
  t: number;
  date?: string;
  requests: number;
  errors: number;
  cost_usd: number;
}
interface Overview {
  object: string;
  spend: { today_usd: number; month_usd: number };
  budgets: { keys_with_budget: number; keys_over_80pct: number };
  series: { hourly: Point[]; daily: Point[] };
  top_keys: Array<{ id: string; name: string | null; cost_usd: number; requests: number }>;
  open_alerts: { count: number; latest: unknown[] };
  near_budget: Array<{ id: string; window: string; spent_usd: number; limit_usd: number; fraction: number }>;
  totals: { keys_active: number; keys_suspended: number; upstreams: number | null };
}
interface KeyStats {
  series: { daily: Point[]; hourly: Point[] };
  by_model: Array<{ model: string | null; requests: number; cost_usd: number }>;
  budgets: Array<{ period: string; spent_usd: number; limit_usd: number }>;
  recent: Array<Record<string, unknown>>;
}

/** Records spread over 40 days with errors, status 0, null models, unpriced rows, and some in the unrolled tail. */
function dataset(keyIds: readonly string[]): UsageRecord[] {
  const random = seeded(7);
  const models = ['gpt-4o-mini', 'gpt-4o', null] as const;
  const out: UsageRecord[] = [];
  for (let i = 0; i < 4_000; i++) {
    const ts = NOW - Math.floor(random() * 40 * DAY);
    const status = [200, 200, 200, 429, 500, 0][Math.floor(random() * 6)] as number;
    const priced = random() > 0.05;
    out.push(
      usageRecord({
        ts,
        keyId: keyIds[Math.floor(random() * keyIds.length)],
        model: models[Math.floor(random() * 3)] ?? null,
        upstreamId: random() > 0.5 ? 'ups_a' : null,
        status,
        errorCode: status >= 400 ? 'upstream_error' : null,
        promptTokens: Math.floor(random() * 1000),
        completionTokens: Math.floor(random() * 300),
        costUsd: priced ? Math.round(random() * 1e6) / 1e8 : null,
        priceMissing: !priced,
      }),
    );
  }
  // Records exactly on boundaries: UTC midnight, New York midnight, Kolkata midnight, and in the last minutes.
  for (const ts of [Date.UTC(2026, 10, 15), Date.UTC(2026, 10, 15) - 1, Date.UTC(2026, 10, 15, 5), Date.UTC(2026, 10, 14, 18, 30), NOW - 30_000, NOW, NOW - 2 * MINUTE]) {
    out.push(usageRecord({ ts, keyId: keyIds[0], costUsd: 0.5 }));
  }
  return out;
}

/** The test's own reckoning from the raw records. */
function expected(records: readonly UsageRecord[], pick: (r: UsageRecord) => boolean) {
  const chosen = records.filter(pick);
  return {
    requests: chosen.length,
    errors: chosen.filter((r) => r.status >= 400 || r.status === 0).length,
    cost: chosen.reduce((s, r) => s + (r.costUsd ?? 0), 0),
  };
}

function expectPoint(point: Point | undefined, want: { requests: number; errors: number; cost: number }): void {
  expect(point).toBeDefined();
  expect(point?.requests).toBe(want.requests);
  expect(point?.errors).toBe(want.errors);
  expect(point?.cost_usd).toBeCloseTo(want.cost, 9);
}

let env: StatsEnv;
let rawOnly: StatsEnv;
let records: UsageRecord[];
let keyA: VirtualKeyRecord;
let keyB: VirtualKeyRecord;
let keyC: VirtualKeyRecord;
let projectOne: string;

async function seed(target: StatsEnv): Promise<{ a: VirtualKeyRecord; b: VirtualKeyRecord; c: VirtualKeyRecord; project: string }> {
  const project = (await target.projects.create({ name: 'one' }, 'system:test')).id;
  const a = (await target.keys.create({ name: 'alpha', project, limits: { budgets: [{ usd: 1, period: 'day' }] } }, 'system:test')).record;
  const b = (await target.keys.create({ name: 'beta', project }, 'system:test')).record;
  const c = (await target.keys.create({ name: 'gamma', limits: { budgets: [{ usd: 100, period: 'month' }] } }, 'system:test')).record;
  return { a, b, c, project };
}

beforeAll(async () => {
  env = await statsEnv(NOW);
  rawOnly = await statsEnv(NOW, { monitor: false });
  ({ a: keyA, b: keyB, c: keyC, project: projectOne } = await seed(env));
  records = dataset([keyA.id, keyB.id, keyC.id]);
  await env.record(records);
  // The same records under the same ids in a store whose monitor is off: every statistic is read raw.
  const other = await seed(rawOnly);
  const ids = new Map([[keyA.id, other.a.id], [keyB.id, other.b.id], [keyC.id, other.c.id]]);
  await rawOnly.record(records.map((r) => ({ ...r, keyId: ids.get(r.keyId) ?? r.keyId })), { rollups: false });
  // Budgets read the spend ledger: alpha has spent 0.9 of its $1 day budget today, gamma 10 of 100 this month.
  await env.store.spend.settle({ reservationId: null, keyId: keyA.id, periodKeys: [`day:${localDateOf(NOW, 'UTC')}`], usd: 0.9 });
  await env.store.spend.settle({ reservationId: null, keyId: keyC.id, periodKeys: [`month:${localDateOf(NOW, 'UTC').slice(0, 7)}`], usd: 10 });
  env.store.spend.flushSettlements();
});

afterAll(async () => {
  await env.close();
  await rawOnly.close();
});

describe.each(['UTC', 'America/New_York', 'Asia/Kolkata', 'Europe/Berlin'])('GET /stats/overview?tz=%s', (tz) => {
  it('adds up to what the raw records say, day by day and hour by hour', async () => {
    const res = await env.get(`/stats/overview?tz=${encodeURIComponent(tz)}`);
    expect(res.status).toBe(200);
    const body = res.body as Overview;
    const today = localDateOf(NOW, tz);
    expect(body.spend.today_usd).toBeCloseTo(expected(records, (r) => localDateOf(r.ts, tz) === today).cost, 9);
    expect(body.spend.month_usd).toBeCloseTo(expected(records, (r) => localDateOf(r.ts, tz).slice(0, 7) === today.slice(0, 7)).cost, 9);
    expect(body.series.daily).toHaveLength(30);
    expect(body.series.daily.at(-1)?.date).toBe(today);
    for (const point of body.series.daily) {
      expect(localDateOf(point.t, tz)).toBe(point.date);
      expectPoint(point, expected(records, (r) => localDateOf(r.ts, tz) === point.date));
    }
    expect(body.series.hourly).toHaveLength(48);
    expect(body.series.hourly.at(-1)?.t).toBe(NOW - (NOW % HOUR));
    for (const point of body.series.hourly) expectPoint(point, expected(records, (r) => r.ts >= point.t && r.ts < point.t + HOUR));
    // Nothing lost or counted twice across the whole 30 days.
    const firstDay = body.series.daily[0]?.t ?? 0;
    expect(body.series.daily.reduce((s, p) => s + p.requests, 0)).toBe(records.filter((r) => r.ts >= firstDay && r.ts <= NOW).length);
  });
});

describe('GET /stats/overview', () => {
  it('ranks the top keys by month-to-date spend and reads budgets from the spend ledger', async () => {
    const body = (await env.get('/stats/overview')).body as Overview;
    const month = localDateOf(NOW, 'UTC').slice(0, 7);
    const want = [keyA, keyB, keyC]
      .map((k) => ({ id: k.id, name: k.name, cost: expected(records, (r) => r.keyId === k.id && localDateOf(r.ts, 'UTC').startsWith(month)).cost }))
      .sort((x, y) => y.cost - x.cost);
    expect(body.top_keys.map((k) => k.id)).toEqual(want.map((k) => k.id));
    body.top_keys.forEach((k, i) => expect(k.cost_usd).toBeCloseTo(want[i]?.cost ?? -1, 9));
    expect(body.budgets).toEqual({ keys_with_budget: 2, keys_over_80pct: 1 });
    expect(body.near_budget).toEqual([{ id: keyA.id, name: 'alpha', window: 'day', period_key: `day:${localDateOf(NOW, 'UTC')}`, spent_usd: 0.9, limit_usd: 1, fraction: 0.9 }]);
    // The same figures limiter.budgetStatus gives the key page and `keys show`.
    const status = await env.limiter.budgetStatus(keyA, NOW);
    expect(status[0]?.spent_usd).toBe(body.near_budget[0]?.spent_usd);
    expect(body.totals).toEqual({ keys_active: 3, keys_suspended: 0, upstreams: 0 });
    expect(body.open_alerts).toEqual({ count: 0, count_capped: false, latest: [] });
  });

  it('gives the same answer read from the rollups as read from raw records only (monitor off)', async () => {
    const rolled = (await env.get('/stats/overview?tz=Asia/Kolkata')).body as Overview;
    const raw = (await rawOnly.get('/stats/overview?tz=Asia/Kolkata')).body as Overview;
    expect(raw.series.daily.map((p) => [p.requests, p.errors])).toEqual(rolled.series.daily.map((p) => [p.requests, p.errors]));
    expect(raw.series.hourly.map((p) => [p.requests, p.errors])).toEqual(rolled.series.hourly.map((p) => [p.requests, p.errors]));
    raw.series.daily.forEach((p, i) => expect(p.cost_usd).toBeCloseTo(rolled.series.daily[i]?.cost_usd ?? -1, 9));
    expect(raw.spend.month_usd).toBeCloseTo(rolled.spend.month_usd, 9);
  });

  it('limits a project token to its project: spend, series, top keys and totals of its keys only', async () => {
    const token = await env.token('viewer', projectOne);
    const res = await env.get('/stats/overview', token);
    expect(res.status).toBe(200);
    const body = res.body as Overview;
    const mine = new Set([keyA.id, keyB.id]);
    const today = localDateOf(NOW, 'UTC');
    expect(body.spend.today_usd).toBeCloseTo(expected(records, (r) => mine.has(r.keyId) && localDateOf(r.ts, 'UTC') === today).cost, 9);
    for (const point of body.series.daily) expectPoint(point, expected(records, (r) => mine.has(r.keyId) && localDateOf(r.ts, 'UTC') === point.date));
    expect(body.top_keys.map((k) => k.id).sort()).toEqual([...mine].sort());
    expect(body.totals).toEqual({ keys_active: 2, keys_suspended: 0, upstreams: null });
    expect(body.budgets.keys_with_budget).toBe(1);
    expect(JSON.stringify(body)).not.toContain(keyC.id);
  });

  it('answers a viewer, refuses no token and a wrong token', async () => {
    expect((await env.get('/stats/overview', await env.token('viewer'))).status).toBe(200);
    expect((await env.get('/stats/overview', 'kwa_not-a-token')).status).toBe(401);
  });

  it.each([
    ['tz=Not/AZone', 'tz'],
    ['tz=', 'tz'],
    [`tz=${'A'.repeat(5000)}`, 'tz'],
    ['bogus=1', 'bogus'],
  ])('refuses %s with 400 validation_failed', async (query, field) => {
    const res = await env.get(`/stats/overview?${query}`);
    expect(res.status).toBe(400);
    const error = (res.body as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain(field);
  });
});

describe('GET /keys/:id/stats', () => {
  it('gives the key series, spend by model, budgets and its 50 newest requests (metadata only)', async () => {
    const res = await env.get(`/keys/${keyA.id}/stats?days=30&tz=America/New_York`);
    expect(res.status).toBe(200);
    const body = res.body as KeyStats;
    const tz = 'America/New_York';
    const mine = records.filter((r) => r.keyId === keyA.id);
    expect(body.series.daily).toHaveLength(30);
    for (const point of body.series.daily) expectPoint(point, expected(mine, (r) => localDateOf(r.ts, tz) === point.date));
    for (const point of body.series.hourly) expectPoint(point, expected(mine, (r) => r.ts >= point.t && r.ts < point.t + HOUR));
    const since = body.series.daily[0]?.t ?? 0;
    for (const model of ['gpt-4o-mini', 'gpt-4o', null]) {
      const row = body.by_model.find((m) => m.model === model);
      const want = expected(mine, (r) => r.model === model && r.ts >= since && r.ts <= NOW);
      expect(row?.requests).toBe(want.requests);
      expect(row?.cost_usd).toBeCloseTo(want.cost, 9);
    }
    expect(body.budgets).toEqual([{ period: 'day', period_key: `day:${localDateOf(NOW, 'UTC')}`, limit_usd: 1, spent_usd: 0.9, fraction: 0.9 }]);
    expect(body.recent).toHaveLength(50);
    const newest = [...mine].sort((x, y) => y.ts - x.ts || (x.id < y.id ? 1 : -1)).slice(0, 50);
    expect(body.recent.map((r) => r.id)).toEqual(newest.map((r) => r.id));
    expect(Object.keys(body.recent[0] ?? {}).sort()).toEqual(
      ['cached_tokens', 'completion_tokens', 'cost_usd', 'endpoint', 'error_code', 'id', 'latency_ms', 'model', 'prompt_tokens', 'reasoning_tokens', 'status', 'stream', 'time'].sort(),
    );
  });

  it('answers a key by name as /keys/:id does, and 404 for an unknown key', async () => {
    expect((await env.get('/keys/beta/stats')).status).toBe(200);
    const missing = await env.get('/keys/key_doesnotexist/stats');
    expect(missing.status).toBe(404);
  });

  it('is 404 for another project key under a limited token, 200 for its own', async () => {
    const token = await env.token('viewer', projectOne);
    expect((await env.get(`/keys/${keyC.id}/stats`, token)).status).toBe(404);
    expect((await env.get(`/keys/${keyA.id}/stats`, token)).status).toBe(200);
  });

  it.each(['days=-1', 'days=0', 'days=100000', 'days=91', 'days=1.5', 'days=abc', 'tz=Not/AZone', 'days=30&days=31'])('refuses %s with 400', async (query) => {
    const res = await env.get(`/keys/${keyA.id}/stats?${query}`);
    expect(res.status).toBe(400);
    expect((res.body as { error: { code: string } }).error.code).toBe('validation_failed');
  });

  it('bounds the longest range to 90 days', async () => {
    const body = (await env.get(`/keys/${keyA.id}/stats?days=90`)).body as KeyStats;
    expect(body.series.daily).toHaveLength(90);
  });
});

describe('an empty store', () => {
  it('answers zeros and empty lists, not errors', async () => {
    const empty = await statsEnv(NOW);
    try {
      const body = (await empty.get('/stats/overview?tz=Europe/Berlin')).body as Overview;
      expect(body.spend).toEqual({ today_usd: 0, month_usd: 0 });
      expect(body.series.daily).toHaveLength(30);
      expect(body.series.hourly).toHaveLength(48);
      expect(body.series.daily.every((p) => p.requests === 0 && p.cost_usd === 0 && p.errors === 0)).toBe(true);
      expect(body.top_keys).toEqual([]);
      expect(body.near_budget).toEqual([]);
      expect(body.totals).toEqual({ keys_active: 0, keys_suspended: 0, upstreams: 0 });
      const key = (await empty.keys.create({ name: 'idle' }, 'system:test')).record;
      const stats = (await empty.get(`/keys/${key.id}/stats`)).body as KeyStats;
      expect(stats.by_model).toEqual([]);
      expect(stats.recent).toEqual([]);
      expect(stats.budgets).toEqual([]);
      expect(stats.series.daily.every((p) => p.requests === 0)).toBe(true);
    } finally {
      await empty.close();
    }
  });
});
