import { beforeEach, describe, expect, it } from 'vitest';
import { usage } from '../../../test/monitor/records.js';
import { UsageIntake } from '../../monitor/usage-intake.js';
import { openDatabase } from './database.js';
import { SqliteRollupRepository } from './rollup-repo.js';

const T0 = Date.UTC(2025, 5, 2, 12, 0);
const MINUTE = 60_000;

let repo: SqliteRollupRepository;
let intake: UsageIntake;

beforeEach(() => {
  repo = new SqliteRollupRepository(openDatabase(':memory:'));
  intake = new UsageIntake();
});

async function flush(): Promise<void> {
  await repo.apply(intake.drain().deltas);
}

describe('rollups', () => {
  it('rolls usage up per minute, hour and day for every dimension', async () => {
    intake.add(usage({ ts: T0, latencyMs: 100 }));
    intake.add(usage({ ts: T0 + 10_000, model: 'gpt-4o', costUsd: 0.01, latencyMs: 300 }));
    intake.add(usage({ ts: T0 + MINUTE, keyId: 'key_b', status: 502, errorCode: 'upstream_unavailable', costUsd: null, priceMissing: true, promptTokens: 0, completionTokens: 0 }));
    await flush();

    const minutes = await repo.series({ granularity: 'minute', dim: 'all' });
    expect(minutes.map((m) => [m.bucketStart - T0, m.requests, m.errors])).toEqual([
      [0, 2, 0],
      [MINUTE, 1, 1],
    ]);
    const [hour] = await repo.series({ granularity: 'hour', dim: 'all' });
    expect(hour).toMatchObject({ bucketStart: T0, requests: 3, errors: 1, promptTokens: 200, completionTokens: 40, unpriced: 1, latencyMaxMs: 300 });
    expect(hour?.costUsd).toBeCloseTo(0.011, 10);
    const [day] = await repo.series({ granularity: 'day', dim: 'all' });
    expect(day).toMatchObject({ bucketStart: Date.UTC(2025, 5, 2), requests: 3 });

    const byKey = await repo.totals({ granularity: 'hour', dim: 'key' });
    expect(byKey.map((r) => [r.dimValue, r.requests])).toEqual([
      ['key_a', 2],
      ['key_b', 1],
    ]);
    const byModel = await repo.totals({ granularity: 'day', dim: 'model' });
    expect(Object.fromEntries(byModel.map((r) => [r.dimValue, r.requests]))).toEqual({ 'gpt-4o': 1, 'gpt-4o-mini': 2 });
    expect((await repo.totals({ granularity: 'hour', dim: 'upstream' }))[0]).toMatchObject({ dimValue: 'ups_1', requests: 3 });
  });

  it('adds up a minute split across batches and tracks each hour\'s peak minute', async () => {
    for (let i = 0; i < 5; i++) intake.add(usage({ ts: T0 + i * 1000 }));
    await flush();
    for (let i = 0; i < 7; i++) intake.add(usage({ ts: T0 + 30_000 + i * 1000 }));
    for (let i = 0; i < 3; i++) intake.add(usage({ ts: T0 + 5 * MINUTE }));
    await flush();
    const [minute] = await repo.series({ granularity: 'minute', dim: 'key', dimValue: 'key_a', until: T0 + MINUTE });
    expect(minute).toMatchObject({ requests: 12, peakMinuteRequests: 12 });
    const [hour] = await repo.series({ granularity: 'hour', dim: 'key', dimValue: 'key_a' });
    expect(hour).toMatchObject({ requests: 15, peakMinuteRequests: 12 });
    expect(hour?.peakMinuteCost).toBeCloseTo(0.012, 10);
  });

  it('filters by time range, reports first activity and prunes by granularity', async () => {
    intake.add(usage({ ts: T0 - 3 * 86_400_000 }));
    intake.add(usage({ ts: T0 }));
    await flush();
    expect(await repo.firstActivity('key', 'key_a')).toBe(Date.UTC(2025, 4, 30));
    expect(await repo.firstActivity('key', 'key_unknown')).toBeNull();
    expect(await repo.series({ granularity: 'hour', dim: 'all', since: T0 - 1 })).toHaveLength(1);
    expect(await repo.prune('minute', T0)).toBe(4);
    expect(await repo.series({ granularity: 'minute', dim: 'all' })).toHaveLength(1);
    expect(await repo.series({ granularity: 'hour', dim: 'all' })).toHaveLength(2);
  });

  it('retries a failed write by restoring the batch into the intake', async () => {
    intake.add(usage({ ts: T0 }));
    const batch = intake.drain();
    intake.add(usage({ ts: T0 + 1000 }));
    intake.restore(batch);
    await flush();
    expect((await repo.series({ granularity: 'minute', dim: 'all' }))[0]?.requests).toBe(2);
  });
});
