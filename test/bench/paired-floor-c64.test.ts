// The paired c=64 rows of bench:gateway (report.ts): per repetition, the first scenario's CPU per request as a
// multiple of the floor's and its throughput as a share of the floor's, each side read over its own alternating windows.
import { describe, expect, it } from 'vitest';
import { pairedFloorC64, summarize, verdicts } from '../../bench/gateway/report.js';
import type { WrkSample } from '../../bench/gateway/measure.js';
import { GATEWAY_SCENARIOS } from '../../bench/gateway/scenarios.js';

const noise = { foreignBeforePct: 0, waitedMs: 0, foreignGatewayCorePct: 0 };
const POINT = 'json-c64-floor-paired';

function wrk(target: string, point: string, rep: number, requests: number, reqPerSec: number, cpuUsPerRequest: number): WrkSample {
  const latency = { mean: 1, p50: 1, p90: 1, p99: 1, p999: 1, max: 1 };
  return { target, point, rep, requests, errors: 0, reqPerSec, latencyUs: latency, gateway: { userUs: 0, systemUs: 0, cpuUsPerRequest, rssMaxKb: 0 }, noise };
}

describe('pairedFloorC64', () => {
  it('weights CPU by requests and throughput by time over each side\'s windows, one value per repetition, and ignores the long windows', () => {
    const samples = [
      // The long windows of the table: never part of the paired figures.
      wrk('keywarden', 'json-c64', 1, 30_000, 10_000, 500),
      wrk('floor', 'json-c64', 1, 30_000, 10_000, 10),
      // Repetition 1. Floor: 10,000 requests in 1 s at 80 µs, 30,000 in 3 s at 100 µs → CPU 95, 40,000 in 4 s → 10,000/s.
      // Keywarden: 8,000 in 1 s at 120 µs, 8,000 in 2 s at 130 µs → CPU 125, 16,000 in 3 s → 5,333.3/s.
      wrk('floor', POINT, 1, 10_000, 10_000, 80),
      wrk('keywarden', POINT, 1, 8_000, 8_000, 120),
      wrk('keywarden', POINT, 1, 8_000, 4_000, 130),
      wrk('floor', POINT, 1, 30_000, 10_000, 100),
      // Repetition 2, reversed: keywarden 110 and 2 windows of 8,000/s; floor 100 and 10,000/s.
      wrk('keywarden', POINT, 2, 8_000, 8_000, 110),
      wrk('floor', POINT, 2, 10_000, 10_000, 100),
      wrk('floor', POINT, 2, 10_000, 10_000, 100),
      wrk('keywarden', POINT, 2, 8_000, 8_000, 110),
    ];
    const { cpuRatios, throughputShares } = pairedFloorC64(samples, 'keywarden');
    expect(cpuRatios.map((r) => r.toFixed(4))).toEqual([(125 / 95).toFixed(4), '1.1000']);
    expect(throughputShares.map((r) => r.toFixed(4))).toEqual([(16_000 / 3 / 10_000).toFixed(4), '0.8000']);
  });

  it('skips repetitions in which either side has no window', () => {
    const samples = [wrk('floor', POINT, 1, 1_000, 1_000, 100), wrk('keywarden', POINT, 1, 1_000, 1_000, 120), wrk('floor', POINT, 2, 1_000, 1_000, 100), wrk('keywarden', POINT, 3, 1_000, 1_000, 120)];
    expect(pairedFloorC64(samples, 'keywarden')).toEqual({ cpuRatios: [1.2], throughputShares: [1] });
  });
});

describe('verdicts with the paired c=64 windows', () => {
  const scenarios = GATEWAY_SCENARIOS.slice(0, 1);
  const regular = [wrk('direct', 'json-c64', 1, 20_000, 20_000, 0), wrk('floor', 'json-c64', 1, 10_000, 10_000, 100), wrk('keywarden', 'json-c64', 1, 7_000, 7_000, 140)];
  const points = summarize(regular, [], ['direct', 'floor', 'keywarden']);
  const names = (checks: ReturnType<typeof verdicts>): string[] => checks.map((c) => c.name);

  it('adds each paired row right after its regular row, with the same goal, while the regular rows keep the long windows', () => {
    const paired = [...regular, wrk('floor', POINT, 1, 10_000, 10_000, 100), wrk('keywarden', POINT, 1, 8_000, 8_000, 125)];
    const checks = verdicts(points, scenarios, paired);
    const cpu = names(checks).indexOf("gateway CPU per non-streamed request (c=64), × the floor's");
    const share = names(checks).indexOf("throughput, c=64, non-streamed, share of the floor's");
    expect(checks[cpu]).toMatchObject({ measured: 1.4, pass: false });
    expect(checks[cpu + 1]).toMatchObject({
      name: 'the same, paired: keywarden vs the floor in alternating windows (median of per-repetition CPU ratios, c=64)',
      measured: 1.25,
      unit: '×',
      limit: 1.3,
      kind: 'max',
      pass: true,
    });
    expect(checks[share]).toMatchObject({ measured: 0.7, pass: false });
    expect(checks[share + 1]).toMatchObject({
      name: 'the same, paired: keywarden vs the floor in alternating windows (median of per-repetition throughput shares, c=64)',
      measured: 0.8,
      unit: '×',
      limit: 0.75,
      kind: 'min',
      pass: true,
    });
  });

  it('has no paired c=64 rows in results without those windows', () => {
    for (const checks of [verdicts(points, scenarios, regular), verdicts(points, scenarios)]) {
      expect(names(checks).filter((n) => n.includes('c=64)') && n.startsWith('the same, paired: keywarden vs the floor'))).toEqual([]);
      expect(names(checks)).toContain("gateway CPU per non-streamed request (c=64), × the floor's");
    }
  });
});
