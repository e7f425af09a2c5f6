// The paired c=1 latency verdicts of bench:gateway (report.ts): per repetition, the first scenario's p50 (non-streamed,
// and to the first chunk) minus the floor's, each weighted over its alternating windows.
import { describe, expect, it } from 'vitest';
import { pairedLatencyDeltas, summarize, verdicts } from '../../bench/gateway/report.js';
import type { TtfcSample, WrkSample } from '../../bench/gateway/measure.js';
import { GATEWAY_SCENARIOS } from '../../bench/gateway/scenarios.js';

const noise = { foreignBeforePct: 0, waitedMs: 0, foreignGatewayCorePct: 0 };

function wrk(target: string, point: string, rep: number, requests: number, p50: number): WrkSample {
  return { target, point, rep, requests, errors: 0, reqPerSec: requests, latencyUs: { mean: p50, p50, p90: p50, p99: p50, p999: p50, max: p50 }, noise };
}

function ttfc(target: string, point: string, rep: number, requests: number, p50: number): TtfcSample {
  return { target, point, rep, requests, errors: 0, ttfcUs: { p50, p99: p50 }, totalUs: { p50, p99: p50 }, noise };
}

describe('pairedLatencyDeltas', () => {
  it('weights each side over its own alternating windows, one value per repetition, and ignores the long windows', () => {
    const samples = [
      // The long windows of the table: never part of the paired figure.
      wrk('keywarden', 'json-c1', 1, 10_000, 900),
      wrk('floor', 'json-c1', 1, 10_000, 100),
      // Repetition 1: floor 1000 × 200 + 3000 × 220 → 215; keywarden 2000 × 240 + 2000 × 260 → 250.
      wrk('floor', 'json-c1-paired', 1, 1_000, 200),
      wrk('keywarden', 'json-c1-paired', 1, 2_000, 240),
      wrk('keywarden', 'json-c1-paired', 1, 2_000, 260),
      wrk('floor', 'json-c1-paired', 1, 3_000, 220),
      // Repetition 2, reversed order: keywarden 1000 × 230 + 1000 × 250 → 240; floor 3000 × 210 + 1000 × 230 → 215.
      wrk('keywarden', 'json-c1-paired', 2, 1_000, 230),
      wrk('floor', 'json-c1-paired', 2, 3_000, 210),
      wrk('floor', 'json-c1-paired', 2, 1_000, 230),
      wrk('keywarden', 'json-c1-paired', 2, 1_000, 250),
    ];
    expect(pairedLatencyDeltas(samples, [], 'keywarden')).toEqual({ p50Us: [35, 25], ttfcUs: [] });
  });

  it('reads the first chunk from its own paired windows, weighted the same way', () => {
    const first = [
      ttfc('keywarden', 'sse-c1', 1, 5_000, 900),
      // 1000 × 300 + 1000 × 320 → 310 against 3000 × 280 + 1000 × 300 → 285.
      ttfc('floor', 'sse-c1-paired', 1, 3_000, 280),
      ttfc('keywarden', 'sse-c1-paired', 1, 1_000, 300),
      ttfc('keywarden', 'sse-c1-paired', 1, 1_000, 320),
      ttfc('floor', 'sse-c1-paired', 1, 1_000, 300),
    ];
    expect(pairedLatencyDeltas([], first, 'keywarden')).toEqual({ p50Us: [], ttfcUs: [25] });
  });

  it('skips repetitions in which either side has no window', () => {
    const samples = [
      wrk('floor', 'json-c1-paired', 1, 1_000, 200),
      wrk('keywarden', 'json-c1-paired', 1, 1_000, 230),
      wrk('floor', 'json-c1-paired', 2, 1_000, 200),
      wrk('keywarden', 'json-c1-paired', 3, 1_000, 230),
    ];
    expect(pairedLatencyDeltas(samples, [], 'keywarden').p50Us).toEqual([30]);
  });
});

describe('verdicts with the paired c=1 windows', () => {
  const scenarios = GATEWAY_SCENARIOS.slice(0, 1);
  const regular = ['json-c1', 'sse-c1'].flatMap((point) => [wrk('direct', point, 1, 1_000, 100), wrk('floor', point, 1, 1_000, 150), wrk('keywarden', point, 1, 1_000, 200)]);
  const regularTtfc = [ttfc('direct', 'sse-c1', 1, 1_000, 100), ttfc('floor', 'sse-c1', 1, 1_000, 150), ttfc('keywarden', 'sse-c1', 1, 1_000, 200)];
  const points = summarize(regular, regularTtfc, ['direct', 'floor', 'keywarden']);
  const names = (checks: ReturnType<typeof verdicts>): string[] => checks.map((c) => c.name);

  it('adds each paired row right after its regular row, in ms, with the same goal', () => {
    const paired = [...regular, wrk('floor', 'json-c1-paired', 1, 1_000, 200), wrk('keywarden', 'json-c1-paired', 1, 1_000, 240)];
    const pairedTtfc = [...regularTtfc, ttfc('floor', 'sse-c1-paired', 1, 1_000, 300), ttfc('keywarden', 'sse-c1-paired', 1, 1_000, 360)];
    const checks = verdicts(points, scenarios, paired, pairedTtfc);
    const p50 = names(checks).indexOf("added p50 latency, c=1, non-streamed, over the floor's");
    const first = names(checks).indexOf("added time to first chunk, c=1, over the floor's");
    expect(checks[p50 + 1]).toMatchObject({
      name: 'the same, paired: keywarden vs the floor in alternating windows (median of per-repetition differences, c=1, non-streamed)',
      measured: 0.04,
      unit: 'ms',
      limit: 0.05,
      kind: 'max',
      pass: true,
    });
    expect(checks[first + 1]).toMatchObject({
      name: 'the same, paired: keywarden vs the floor in alternating windows (median of per-repetition differences, c=1, first chunk)',
      measured: 0.06,
      unit: 'ms',
      limit: 0.05,
      kind: 'max',
      pass: false,
    });
    // The regular rows stay as they were, on the long windows: 100 µs added against the floor's 50 µs.
    expect(checks[p50]?.measured).toBe(0.05);
    expect(checks[first]?.measured).toBe(0.05);
  });

  it('has no paired c=1 rows in results without those windows', () => {
    const checks = [verdicts(points, scenarios, regular, regularTtfc), verdicts(points, scenarios)];
    for (const c of checks) {
      expect(names(c).filter((n) => n.startsWith('the same, paired: keywarden vs the floor'))).toEqual([]);
      expect(names(c)).toContain("added p50 latency, c=1, non-streamed, over the floor's");
    }
  });
});
