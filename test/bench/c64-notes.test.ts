// The report's notes at c=64 (report.ts): CPU off the main thread, and the load core's wake-ups with what they cost.
// Per target, per repetition, at c=64 non-streamed only, in repetition order, and absent for results written before
// their counters existed.
import { describe, expect, it } from 'vitest';
import { offMainThreadNote, wakeupNote } from '../../bench/gateway/report.js';
import type { WrkSample } from '../../bench/gateway/measure.js';

function sample(target: string, point: string, rep: number, offMainThreadUs?: number, loadCoreWakeups?: number): WrkSample {
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
      ...(loadCoreWakeups === undefined ? {} : { loadCoreWakeups }),
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

describe('wakeupNote', () => {
  const KEYWARDEN = [{ id: 'floor', label: 'floor' }, { id: 'keywarden', label: 'keywarden' }, { id: 'limits', label: 'limits' }];
  const wrk = [
    sample('keywarden', 'json-c64', 2, 5, 0.62),
    sample('keywarden', 'json-c64', 1, 5, 0.5),
    sample('keywarden', 'json-c64', 3, 5, 0.58),
    sample('keywarden', 'json-c1', 1, 5, 3), // another point: not in the note
    sample('keywarden', 'json-c64-paired', 1, 5, 9), // the paired windows: not in the note
    sample('floor', 'json-c64', 1, 5, 0.3),
    sample('floor', 'json-c64', 2, 5, 0.2),
    sample('floor', 'json-c64', 3, 5, 0.25),
    sample('limits', 'json-c64', 1, 5, 0.15),
  ];

  it('lists each target per repetition with its median, and the wake-ups beyond the floor priced by the probe', () => {
    // keywarden: median 0.58, floor 0.25 → 0.33 × (40 − 10) µs = +10; limits: 0.15 − 0.25 → −0.1 × 30 = −3.
    expect(wakeupNote(wrk, KEYWARDEN, { asleepUs: 40, awakeUs: 10 })).toBe(
      'Load-core wake-ups per request at c=64, non-streamed, per repetition (interrupts the load core received: answers ' +
        'written while wrk or the fake upstream slept, so that the write had to wake it): ' +
        '"floor" 0.30, 0.20, 0.25 (median 0.25); "keywarden" 0.50, 0.62, 0.58 (median 0.58); "limits" 0.15 (median 0.15). ' +
        'A write that woke a reader asleep on the other core cost the writer 40.0 µs of CPU in this run, against 10.0 µs to a running reader (wake-probe.ts). ' +
        'While a target\'s own core is the bottleneck, wrk waits for its answers and more of them pay that; at the medians, ' +
        'the wake-ups beyond the floor\'s come to about "keywarden" +10, "limits" −3 µs of CPU per request.',
    );
  });

  it('prices nothing without the probe, and estimates nothing without the floor', () => {
    expect(wakeupNote(wrk, KEYWARDEN, null)).not.toContain('µs');
    const withoutFloor = wakeupNote(wrk, KEYWARDEN.slice(1), { asleepUs: 40, awakeUs: 10 });
    expect(withoutFloor).toContain('cost the writer 40.0 µs');
    expect(withoutFloor).not.toContain('beyond the floor');
  });

  it('is absent for samples written before the counter existed', () => {
    expect(wakeupNote([sample('keywarden', 'json-c64', 1, 5), sample('floor', 'json-c64', 1, 5)], KEYWARDEN, { asleepUs: 40, awakeUs: 10 })).toBeNull();
  });
});
