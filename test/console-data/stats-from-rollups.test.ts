import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageTotalsQuery } from '../../src/store/index.js';
import { DAY, EVALUATION_MS, seeded, statsEnv, usageRecord, type StatsEnv } from './stats-harness.js';

const NOW = Date.UTC(2026, 10, 15, 10, 30, 17);
/** What rollupCoverage() says is rolled up at NOW with the harness's monitor settings. */
const ROLLED_BEFORE = NOW - 2 * EVALUATION_MS - 30_000;

let env: StatsEnv;
let keyIds: string[];

beforeAll(async () => {
  env = await statsEnv(NOW);
  keyIds = [];
  for (let i = 0; i < 20; i++) keyIds.push((await env.keys.create({ name: `k${i}` }, 'system:test')).record.id);
  const random = seeded(3);
  const records = Array.from({ length: 100_000 }, () =>
    usageRecord({ ts: NOW - Math.floor(random() * 90 * DAY), keyId: keyIds[Math.floor(random() * 20)], costUsd: Math.round(random() * 1e5) / 1e8 }),
  );
  await env.record(records);
}, 120_000);

afterAll(async () => {
  await env.close();
});

describe('the statistics on a 100k-record store', () => {
  it('read raw records only after the rolled-up point, and give the same answer once older raw rows are gone', { timeout: 60_000 }, async () => {
    const rawReads: UsageTotalsQuery[] = [];
    const totalsBy = env.store.usage.totalsBy.bind(env.store.usage);
    env.store.usage.totalsBy = (query) => {
      rawReads.push(query);
      return totalsBy(query);
    };
    const list = env.store.usage.list.bind(env.store.usage);
    let listed = 0;
    env.store.usage.list = (query) => {
      listed++;
      return list(query);
    };
    const summarize = env.store.usage.summarize.bind(env.store.usage);
    let summarized = 0;
    env.store.usage.summarize = (query, groups) => {
      summarized++;
      return summarize(query, groups);
    };

    const before = await env.get('/stats/overview');
    expect(before.status).toBe(200);
    const keyBefore = await env.get(`/keys/${keyIds[0]}/stats?days=30`);
    expect(keyBefore.status).toBe(200);
    // Overview: raw reads cover only the last part-minute before the rolled-up point and what follows it.
    const overviewReads = rawReads.filter((q) => q.keyId === undefined);
    expect(overviewReads.length).toBeGreaterThan(0);
    for (const q of overviewReads) expect(q.since).toBeGreaterThanOrEqual(ROLLED_BEFORE - (ROLLED_BEFORE % 60_000));
    expect(listed).toBe(0);
    expect(summarized).toBe(0);

    // Take the raw records the rollups already hold away: the numbers must not move.
    env.store.db.prepare('DELETE FROM usage WHERE ts < ?').run(ROLLED_BEFORE - (ROLLED_BEFORE % 60_000));
    expect(env.store.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM usage').get()?.n).toBeLessThan(100);
    const after = await env.get('/stats/overview');
    expect(after.body).toEqual(before.body);
    const keyAfter = (await env.get(`/keys/${keyIds[0]}/stats?days=30`)).body as { series: unknown; recent: unknown[]; by_model: unknown };
    // The key's series come from the rollups too (by_model and recent read the key's own records by index).
    expect(keyAfter.series).toEqual((keyBefore.body as { series: unknown }).series);
  });
});
