import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeUsage, type AdminUsageGroup } from '../../src/admin/usage-by-project.js';
import type { UsageRecord, VirtualKeyRecord } from '../../src/store/index.js';
import { DAY, HOUR, seeded, statsEnv, usageRecord, type StatsEnv } from './stats-harness.js';

const NOW = Date.UTC(2026, 10, 15, 10, 30, 17);

interface Row {
  keyId?: string;
  keyName?: string | null;
  model?: string | null;
  upstreamId?: string | null;
  upstreamName?: string | null;
  projectId?: string | null;
  day?: string;
  hour?: number;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  unpricedRequests: number;
}

let env: StatsEnv;
let records: UsageRecord[];
let keys: VirtualKeyRecord[];
let project: string;

beforeAll(async () => {
  env = await statsEnv(NOW);
  project = (await env.projects.create({ name: 'p' }, 'system:test')).id;
  keys = [
    (await env.keys.create({ name: 'k1', project }, 'system:test')).record,
    (await env.keys.create({ name: 'k2' }, 'system:test')).record,
    (await env.keys.create({ name: 'k3', project }, 'system:test')).record,
  ];
  const random = seeded(11);
  records = [];
  for (let i = 0; i < 3_000; i++) {
    const status = [200, 200, 500, 429, 0][Math.floor(random() * 5)] as number;
    records.push(
      usageRecord({
        ts: NOW - Math.floor(random() * 20 * DAY),
        keyId: (keys[Math.floor(random() * 3)] as VirtualKeyRecord).id,
        model: [null, 'gpt-4o', 'gpt-4o-mini'][Math.floor(random() * 3)] ?? null,
        upstreamId: [null, 'ups_a', 'ups_b'][Math.floor(random() * 3)] ?? null,
        status,
        costUsd: random() > 0.1 ? Math.round(random() * 1e6) / 1e8 : null,
        priceMissing: random() > 0.9,
        promptTokens: Math.floor(random() * 500),
      }),
    );
  }
  await env.record(records);
});

afterAll(async () => {
  await env.close();
});

function comparable(rows: readonly Row[]) {
  return rows.map(({ requests, errors, promptTokens, completionTokens, unpricedRequests, keyId, model, day, projectId }) => ({ requests, errors, promptTokens, completionTokens, unpricedRequests, keyId, model, day, projectId }));
}

describe('GET /usage from the rollups', () => {
  it.each([['key'], ['model'], ['day'], ['key', 'day'], ['model', 'day'], ['project'], ['project', 'day'], ['key', 'project']])(
    'group_by=%s gives the same rows as the raw summary',
    async (...groups: string[]) => {
      const since = NOW - 10 * DAY + 12_345;
      const res = await env.get(`/usage?group_by=${groups.join(',')}&since=${since}&until=${NOW - 60_000}`);
      expect(res.status).toBe(200);
      const got = (res.body as { data: Row[] }).data;
      const raw = (await summarizeUsage(env.store, { since, until: NOW - 60_000 }, groups as AdminUsageGroup[], null)) as Row[];
      const sort = (rows: Row[]) => [...rows].sort((a, b) => JSON.stringify([a.projectId, a.keyId, a.model, a.day]).localeCompare(JSON.stringify([b.projectId, b.keyId, b.model, b.day])));
      expect(comparable(sort(got))).toEqual(comparable(sort(raw)));
      sort(got).forEach((row, i) => expect(row.costUsd).toBeCloseTo(sort(raw)[i]?.costUsd ?? -1, 9));
      expect(got.length).toBeGreaterThan(0);
    },
  );

  it('groups by upstream and hour, counted from the records', async () => {
    const since = NOW - 2 * DAY;
    const res = await env.get(`/usage?group_by=upstream,hour&since=${since}`);
    expect(res.status).toBe(200);
    const got = (res.body as { data: Row[] }).data;
    const want = new Map<string, number>();
    for (const r of records) {
      if (r.ts < since || r.ts > NOW) continue;
      const id = `${r.upstreamId}|${r.ts - (r.ts % HOUR)}`;
      want.set(id, (want.get(id) ?? 0) + 1);
    }
    expect(new Map(got.map((row) => [`${row.upstreamId}|${row.hour}`, row.requests]))).toEqual(want);
    expect(got.every((row) => row.upstreamName === null)).toBe(true);
  });

  it('answers CSV with the new columns', async () => {
    const res = await env.get(`/usage?group_by=upstream,day&since=${NOW - 3 * DAY}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.contentType).toContain('text/csv');
    const [header, ...lines] = res.text.trim().split('\r\n');
    expect(header).toBe('upstreamId,upstreamName,day,requests,errors,promptTokens,cachedTokens,completionTokens,reasoningTokens,costUsd,unpricedRequests');
    expect(lines.length).toBeGreaterThanOrEqual(9);
  });

  it('keeps a project token to its own keys', async () => {
    const token = await env.token('viewer', project);
    const res = await env.get('/usage?group_by=key', token);
    expect(res.status).toBe(200);
    const ids = (res.body as { data: Row[] }).data.map((r) => r.keyId).sort();
    expect(ids).toEqual([keys[0]?.id, keys[2]?.id].sort());
    const total = (res.body as { data: Row[] }).data.reduce((s, r) => s + r.requests, 0);
    expect(total).toBe(records.filter((r) => r.keyId !== keys[1]?.id).length);
  });

  it.each([
    ['group_by=bogus', 'group_by'],
    ['group_by=key,bogus', 'group_by'],
    ['group_by=key,upstream', 'group_by'],
    ['group_by=day,hour', 'group_by'],
    [`group_by=hour&since=${NOW - 40 * DAY}`, 'since'],
    ['since=yesterday-ish', 'since'],
  ])('refuses %s with 400', async (query, param) => {
    const res = await env.get(`/usage?${query}`);
    expect(res.status).toBe(400);
    const error = (res.body as { error: { code: string; param: string | null; message: string } }).error;
    expect(error.code).toBe('validation_failed');
    expect(`${error.param} ${error.message}`).toContain(param);
  });

  it('answers an inverted range with no rows', async () => {
    const res = await env.get(`/usage?group_by=upstream&since=${NOW}&until=${NOW - DAY}`);
    expect(res.status).toBe(200);
    expect((res.body as { data: Row[] }).data).toEqual([]);
  });
});
