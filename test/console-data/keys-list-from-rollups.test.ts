import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectService } from '../../src/admin/project-service.js';
import { AuditLog } from '../../src/audit/index.js';
import { SqliteStore, type UsageRecord, type UsageTotalsQuery } from '../../src/store/index.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { adminStoreEnv, EVALUATION_MS, type AdminStoreEnv } from '../support/admin-store-env.js';
import { STORE_BACKENDS } from '../support/store-backends.js';
import { seeded, usageRecord } from './stats-harness.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Mid-month, mid-day: the month has whole days before today, today has whole hours and a ragged minute. */
const NOW = Date.UTC(2026, 10, 15, 10, 30, 17);
const DAY_START = Date.UTC(2026, 10, 15);
const MONTH_START = Date.UTC(2026, 10, 1);
/** What rollupCoverage() counts as rolled up at NOW: the list reads raw records only after this. */
const ROLLED_BEFORE = NOW - 2 * EVALUATION_MS - 30_000;

interface ListedKey {
  id: string;
  name: string;
  project_id: string | null;
  spend_today_usd: number;
  spend_month_usd: number;
  last_used_at: string | null;
}
interface KeyPage {
  object: string;
  data: ListedKey[];
  has_more: boolean;
  next_cursor: string | null;
}

/** The oracle: the figures summed from the raw records in the test, independent of the code under test. */
function expectedFrom(records: readonly UsageRecord[]): Map<string, { day: number; month: number; last: number }> {
  const out = new Map<string, { day: number; month: number; last: number }>();
  for (const r of records) {
    const e = out.get(r.keyId) ?? { day: 0, month: 0, last: Number.NEGATIVE_INFINITY };
    const cost = r.costUsd ?? 0;
    if (r.ts >= DAY_START) e.day += cost;
    if (r.ts >= MONTH_START) e.month += cost;
    e.last = Math.max(e.last, r.ts);
    out.set(r.keyId, e);
  }
  return out;
}

async function walk(env: AdminStoreEnv, limit: number, token?: string): Promise<{ keys: ListedKey[]; pages: number }> {
  const keys: ListedKey[] = [];
  let after: string | null = null;
  for (let pages = 1; pages <= 100; pages++) {
    const res = await env.get(`/keys?limit=${limit}${after === null ? '' : `&after=${encodeURIComponent(after)}`}`, token);
    expect(res.status).toBe(200);
    const page = res.body as KeyPage;
    expect(page.data.length).toBeLessThanOrEqual(limit);
    keys.push(...page.data);
    if (!page.has_more) {
      expect(page.next_cursor).toBeNull();
      return { keys, pages };
    }
    after = page.next_cursor;
  }
  throw new Error('the key list never ended');
}

describe.each(STORE_BACKENDS)('GET /admin/v1/keys on the $name store', ({ name }) => {
  let env: AdminStoreEnv;
  let keyIds: string[];
  let records: UsageRecord[];
  let projectId: string;

  beforeAll(async () => {
    env = await adminStoreEnv(name, NOW - 40 * DAY);
    keyIds = [];
    const projects = new ProjectService(env.store, () => NOW - 40 * DAY, new AuditLog(env.store.auditRepository(null)));
    projectId = (await projects.create({ name: 'team-a' }, 'system:test')).id;
    // 25 keys; the first ten at the same instant (ties are ordered by id), the rest a minute apart; every fifth in a project.
    for (let i = 0; i < 25; i++) {
      env.setNow(NOW - 40 * DAY + Math.max(0, i - 9) * MINUTE);
      keyIds.push((await env.keys.create({ name: `k${String(i).padStart(2, '0')}`, ...(i % 5 === 0 ? { project: projectId } : {}) }, 'system:test')).record.id);
    }
    env.setNow(NOW);
    const random = seeded(11);
    // 20 keys used (the last five never), over 40 days: last month, whole days of this month, today's hours.
    const history = Array.from({ length: 6000 }, () =>
      usageRecord({
        ts: NOW - 3 * MINUTE - Math.floor(random() * 40 * DAY),
        keyId: keyIds[Math.floor(random() * 20)],
        costUsd: random() < 0.05 ? null : Math.round(random() * 1e6) / 1e9,
        priceMissing: false,
        status: random() < 0.05 ? 500 : 200,
      }),
    );
    // The edges: exactly at today's and the month's start, one ms before each.
    const edges = [DAY_START, DAY_START - 1, MONTH_START, MONTH_START - 1].map((ts, i) => usageRecord({ ts, keyId: keyIds[i], costUsd: 0.25 + i }));
    // Rolled up although newer than the rolled-up point (the monitor ran early): must not be counted twice.
    const rolledEarly = [usageRecord({ ts: ROLLED_BEFORE + 5_000, keyId: keyIds[5], costUsd: 0.125 })];
    // The tail the monitor has not folded in yet: only in the raw records. One is stamped after NOW (a skewed clock).
    const tail = Array.from({ length: 40 }, (_, i) =>
      usageRecord({ ts: ROLLED_BEFORE + 1 + i * 2_000, keyId: keyIds[i % 8], costUsd: 0.01 * (i + 1) }),
    );
    tail.push(usageRecord({ ts: NOW + 90_000, keyId: keyIds[6], costUsd: 0.5 }));
    await env.record([...history, ...edges, ...rolledEarly]);
    await env.record(tail, { rollups: false });
    records = [...history, ...edges, ...rolledEarly, ...tail];
  }, 120_000);

  afterAll(async () => {
    await env.close();
  }, 30_000);

  it("lists each key's spend today and this month and its last use exactly as the raw records sum them", async () => {
    const { keys } = await walk(env, 200);
    expect(keys.map((k) => k.id).sort()).toEqual([...keyIds].sort());
    const expected = expectedFrom(records);
    let checkedTail = 0;
    for (const key of keys) {
      const e = expected.get(key.id);
      if (!e) {
        expect(key).toMatchObject({ spend_today_usd: 0, spend_month_usd: 0, last_used_at: null });
        continue;
      }
      expect(key.spend_today_usd).toBeCloseTo(e.day, 9);
      expect(key.spend_month_usd).toBeCloseTo(e.month, 9);
      expect(key.last_used_at).toBe(new Date(e.last).toISOString());
      if (keyIds.indexOf(key.id) < 8) checkedTail++;
    }
    expect(checkedTail).toBe(8);
    // The figures are not trivially zero: today's tail alone is several dollars.
    expect(keys.reduce((sum, k) => sum + k.spend_today_usd, 0)).toBeGreaterThan(8);
  });

  it('reads raw records only after the rolled-up point: spend stays the same once older raw rows are gone', async () => {
    const rawReads: UsageTotalsQuery[] = [];
    const usage = env.store.usage;
    const totalsBy = usage.totalsBy.bind(usage);
    const summarize = usage.summarize.bind(usage);
    const list = usage.list.bind(usage);
    let scans = 0;
    usage.totalsBy = (query) => {
      rawReads.push(query);
      return totalsBy(query);
    };
    usage.summarize = (query, groups) => {
      scans++;
      return summarize(query, groups);
    };
    usage.list = (query) => {
      scans++;
      return list(query);
    };
    try {
      const before = (await walk(env, 200)).keys;
      expect(scans).toBe(0);
      expect(rawReads.length).toBeGreaterThan(0);
      for (const q of rawReads) expect(q.since).toBeGreaterThanOrEqual(ROLLED_BEFORE - (ROLLED_BEFORE % MINUTE));
      // Without the rolled-up raw rows, spend must not move (last use is read from raw rows, so it may).
      await deleteRawBefore(env, ROLLED_BEFORE - (ROLLED_BEFORE % MINUTE));
      const after = (await walk(env, 200)).keys;
      expect(after.map((k) => [k.id, k.spend_today_usd, k.spend_month_usd])).toEqual(before.map((k) => [k.id, k.spend_today_usd, k.spend_month_usd]));
    } finally {
      usage.totalsBy = totalsBy;
      usage.summarize = summarize;
      usage.list = list;
    }
  });

  it('pages in creation order (ties by id) without repeats or gaps, at any page size', async () => {
    const all = (await walk(env, 200)).keys.map((k) => k.id);
    expect(all).toEqual(keyIds.slice(0, 10).sort().concat(keyIds.slice(10)));
    for (const limit of [1, 7, 10, 24, 25]) {
      const { keys, pages } = await walk(env, limit);
      expect(keys.map((k) => k.id)).toEqual(all);
      expect(pages).toBe(Math.max(1, Math.ceil(all.length / limit)));
    }
    // No limit: the default page (100) holds all 25.
    const plain = await env.get('/keys');
    expect((plain.body as KeyPage).data.map((k) => k.id)).toEqual(all);
    expect((plain.body as KeyPage).has_more).toBe(false);
  });

  it('keeps paging correct while keys are created between pages', async () => {
    const first = (await env.get('/keys?limit=10')).body as KeyPage;
    env.setNow(NOW + 1000);
    const late = (await env.keys.create({ name: 'created-mid-walk' }, 'system:test')).record.id;
    env.setNow(NOW);
    const rest: ListedKey[] = [];
    let after = first.next_cursor;
    for (let i = 0; i < 10 && after !== null; i++) {
      const page = (await env.get(`/keys?limit=10&after=${encodeURIComponent(after)}`)).body as KeyPage;
      rest.push(...page.data);
      after = page.next_cursor;
    }
    const ids = [...first.data, ...rest].map((k) => k.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.at(-1)).toBe(late);
    expect(ids).toHaveLength(26);
  });

  it('pages a project-limited token through its own project only', async () => {
    const token = await env.token('viewer', projectId);
    const { keys } = await walk(env, 2, token);
    const inProject = new Set(keyIds.filter((_, i) => i % 5 === 0));
    const ordered = (await walk(env, 200)).keys.map((k) => k.id).filter((id) => inProject.has(id));
    expect(ordered).toHaveLength(5);
    expect(keys.map((k) => k.id)).toEqual(ordered);
    for (const k of keys) expect(k.project_id).toBe(projectId);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1e3', 'limit'],
    ['limit=abc', 'limit'],
    ['after=', 'after'],
    ['after=not-a-cursor', 'after'],
    [`after=${Buffer.from('[1,2]').toString('base64url')}`, 'after'],
    [`after=${Buffer.from(JSON.stringify([1, 'x'.repeat(101)])).toString('base64url')}`, 'after'],
    [`after=${Buffer.from(JSON.stringify([1.5, 'key_x'])).toString('base64url')}`, 'after'],
    [`after=${Buffer.from(JSON.stringify({ ts: 1, id: 'key_x' })).toString('base64url')}`, 'after'],
    [`after=${'A'.repeat(5000)}`, 'after'],
    ['cursor=abc', 'cursor'],
  ])('refuses ?%s with an OpenAI-shaped 400 naming the parameter', async (query, param) => {
    const res = await env.get(`/keys?${query}`);
    expect(res.status).toBe(400);
    const error = (res.body as { error: { message: string; type: string; code: string; param: string | null } }).error;
    expect(error.code).toBe('validation_failed');
    expect(error.type).toBe('invalid_request_error');
    expect(`${error.param ?? ''} ${error.message}`).toContain(param);
  });
});

async function deleteRawBefore(env: AdminStoreEnv, before: number): Promise<void> {
  if (env.store instanceof SqliteStore) env.store.db.prepare('DELETE FROM usage WHERE ts < ?').run(before);
  else if (env.store instanceof PostgresStore) await env.store.db.query('DELETE FROM usage WHERE ts < $1', [before]);
  else throw new Error('no way to delete raw rows on this store');
}
