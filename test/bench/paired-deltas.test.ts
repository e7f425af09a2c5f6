// The paired limits verdict of bench:gateway (report.ts): per repetition, the limited key's CPU per request minus
// the plain key's on the same gateway, each weighted over its alternating windows.
import { describe, expect, it } from 'vitest';
import { pairedDeltas } from '../../bench/gateway/report.js';
import type { WrkSample } from '../../bench/gateway/measure.js';

function sample(target: string, point: string, rep: number, requests: number, cpuUsPerRequest: number): WrkSample {
  return {
    target,
    point,
    rep,
    requests,
    errors: 0,
    reqPerSec: requests,
    latencyUs: { mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 },
    gateway: { cpuUsPerRequest, rssMaxKb: 0 } as WrkSample['gateway'],
    noise: { foreignBeforePct: 0, foreignGatewayCorePct: 0 } as WrkSample['noise'],
  };
}

describe('pairedDeltas', () => {
  it('weights each key over its own alternating windows, per repetition, and ignores the long windows', () => {
    const wrk = [
      // The long windows of the table: left out once alternating windows exist.
      sample('limits', 'json-c64', 1, 20_000, 500),
      sample('plain', 'json-c64', 1, 20_000, 100),
      // Repetition 1: limited 1000 × 120 + 3000 × 140 → 135; plain 2000 × 110 + 2000 × 130 → 120.
      sample('limits', 'json-c64-paired', 1, 1_000, 120),
      sample('plain', 'json-c64-paired', 1, 2_000, 110),
      sample('plain', 'json-c64-paired', 1, 2_000, 130),
      sample('limits', 'json-c64-paired', 1, 3_000, 140),
      // Repetition 2: 100 and 90.
      sample('limits', 'json-c64-paired', 2, 1_000, 100),
      sample('plain', 'json-c64-paired', 2, 1_000, 90),
    ];
    expect(pairedDeltas(wrk, 'limits', 'plain')).toEqual([15, 10]);
  });

  it('reads results written before the alternating windows from the long windows', () => {
    const wrk = [sample('limits', 'json-c64', 1, 10_000, 140), sample('plain', 'json-c64', 1, 10_000, 120), sample('limits', 'json-c64', 2, 10_000, 130)];
    expect(pairedDeltas(wrk, 'limits', 'plain')).toEqual([20]);
  });
});
