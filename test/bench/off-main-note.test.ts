// The report's note on CPU off the main thread (report.ts): per target, per repetition, at c=64 non-streamed only,
// in repetition order, and absent for results written before the counters existed.
import { describe, expect, it } from 'vitest';
import { offMainThreadNote } from '../../bench/gateway/report.js';
import type { WrkSample } from '../../bench/gateway/measure.js';

function sample(target: string, point: string, rep: number, offMainThreadUs?: number): WrkSample {
  return {
    target,
    point,
    rep,
    requests: 1_000,
    errors: 0,
    reqPerSec: 1_000,
    latencyUs: { mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 },
    gateway: {
      userUs: 0,
      systemUs: 0,
      cpuUsPerRequest: 100,
      rssMaxKb: 0,
      ...(offMainThreadUs === undefined ? {} : { sched: { voluntarySwitches: 0, involuntarySwitches: 0, runQueueWaitUs: 0, minorFaults: 0, offMainThreadUs } }),
    },
    noise: { foreignBeforePct: 0, waitedMs: 0, foreignGatewayCorePct: 0 },
  };
}

const TARGETS = [
  { id: 'floor', label: 'floor' },
  { id: 'pg-redis', label: 'PostgreSQL + Redis' },
];

describe('offMainThreadNote', () => {
  it('lists each target per repetition at c=64 (in repetition order) with its median, ignoring other points', () => {
    const wrk = [
      sample('pg-redis', 'json-c64', 2, 36.4),
      sample('pg-redis', 'json-c64', 1, 71.1),
      sample('pg-redis', 'json-c64', 3, 72),
      sample('pg-redis', 'json-c1', 1, 500), // another point: not in the note
      sample('pg-redis', 'json-c64-paired', 1, 900), // the paired windows: not in the note
      sample('floor', 'json-c64', 1, 3.3),
      sample('floor', 'json-c64', 2, 21.4),
    ];
    expect(offMainThreadNote(wrk, TARGETS)).toBe(
      'CPU off the main thread per request at c=64, non-streamed, per repetition, in µs (V8\'s GC helpers, mostly; they share the gateway\'s core): ' +
        '"floor" 3, 21 (median 12); "PostgreSQL + Redis" 71, 36, 72 (median 71).',
    );
  });

  it('is absent for samples written before the counters existed', () => {
    expect(offMainThreadNote([sample('pg-redis', 'json-c64', 1), sample('floor', 'json-c64', 1)], TARGETS)).toBeNull();
  });
});
