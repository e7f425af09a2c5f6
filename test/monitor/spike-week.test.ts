import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { ManualClock } from '../../src/monitor/clock.js';
import { parseMonitorConfig } from '../../src/monitor/config.js';
import { createSqliteMonitorRepos } from '../../src/monitor/create-monitor.js';
import { MonitorEngine } from '../../src/monitor/engine.js';
import type { MonitorRepositories } from '../../src/monitor/engine.js';
import type { UsageRecord } from '../../src/store/index.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { usage } from './records.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.UTC(2025, 5, 2); // a Monday, 00:00 UTC

/** Deterministic noise (mulberry32), so a failure reproduces exactly. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A business app's day: about 3 requests/min around 03:00 UTC, about 20/min around 15:00, ±30% noise per
 * minute, and on weekends half of that.
 */
function normalCount(ts: number, rnd: () => number): number {
  const hour = (ts % DAY) / HOUR;
  const diurnal = 0.15 + 0.85 * ((1 - Math.cos((2 * Math.PI * (hour - 3)) / 24)) / 2);
  const weekday = new Date(ts).getUTCDay();
  const weekend = weekday === 0 || weekday === 6 ? 0.5 : 1;
  return Math.round(20 * diurnal * weekend * (0.7 + 0.6 * rnd()));
}

function minuteOf(keyId: string, ts: number, count: number): UsageRecord[] {
  return Array.from({ length: count }, (_, i) =>
    usage({ keyId, ts: ts + Math.floor((i * MINUTE) / Math.max(count, 1)), clientIp: `10.0.0.${(i % 20) + 1}`, costUsd: 0.0004 }),
  );
}

let clock: ManualClock;
let engine: MonitorEngine;
let repos: MonitorRepositories;
let suspended: Array<[string, string]>;
const rnd = random(42);

/** Runs the normal traffic of `keys` minute by minute, letting the engine evaluate every minute. */
async function runNormal(keys: readonly string[], minutes: number): Promise<void> {
  for (let m = 0; m < minutes; m++) {
    for (const keyId of keys) engine.ingestUsage(minuteOf(keyId, clock.now(), normalCount(clock.now(), rnd)));
    await clock.advance(MINUTE);
  }
}

describe('volume and spend spikes against a learned baseline', () => {
  beforeAll(async () => {
    clock = new ManualClock(START);
    repos = createSqliteMonitorRepos(openDatabase(':memory:'));
    suspended = [];
    engine = new MonitorEngine({
      config: parseMonitorConfig({ detectors: { volumeSpike: { policy: 'both' } } }),
      repos,
      sinks: [],
      logger: silentLogger,
      clock,
      sleep: () => Promise.resolve(),
      suspendKey: (keyId, reason) => Promise.resolve(void suspended.push([keyId, reason])),
    });
    await engine.start();
    // One week of history for key_app. key_young starts afterwards, so it is 38 hours old at the spike.
    await runNormal(['key_app'], 7 * 24 * 60);
  });

  it('raises nothing over a further day of normal diurnal traffic', async () => {
    await runNormal(['key_app', 'key_young'], 24 * 60);
    expect(await repos.alerts.list({ limit: 100 })).toEqual([]);
    expect(suspended).toEqual([]);
  });

  it('alerts on 1,000x the volume within one evaluation interval and suspends when the policy says so', async () => {
    await runNormal(['key_app', 'key_young'], 14 * 60); // to 14:00, near the daily peak
    const normal = normalCount(clock.now(), random(7));
    expect(normal).toBeGreaterThan(10);
    const spikeStart = clock.now();
    engine.ingestUsage(minuteOf('key_app', spikeStart, normal * 1_000));
    engine.ingestUsage(minuteOf('key_young', spikeStart, normal * 1_000));
    await clock.advance(MINUTE); // exactly one evaluation interval

    const alerts = await repos.alerts.list({ limit: 10 });
    expect(alerts.map((a) => [a.detector, a.keyId]).sort()).toEqual([
      ['spend_spike', 'key_app'],
      ['volume_spike', 'key_app'],
    ]);
    const byDetector = Object.fromEntries(alerts.map((a) => [a.detector, a]));
    expect(byDetector.volume_spike).toMatchObject({ keyId: 'key_app', suspended: true, severity: 'critical' });
    expect(byDetector.volume_spike?.createdAt).toBe(spikeStart + MINUTE);
    expect(Number(byDetector.volume_spike?.details.rate_per_minute)).toBe(normal * 1_000);
    expect(byDetector.spend_spike).toMatchObject({ keyId: 'key_app', suspended: false });
    expect(suspended).toEqual([['key_app', expect.stringContaining('volume_spike') as string]]);
    // key_young had the same spike, but with 38 hours of history it has no baseline yet (minimum 3 days).
  });
});
