import { describe, expect, it } from 'vitest';
import { usage } from '../../test/monitor/records.js';
import type { UsageRecord } from '../store/index.js';
import { UsageIntake } from './usage-intake.js';

const MINUTE = 60_000;
const T0 = 1_700_000_040_000 - (1_700_000_040_000 % MINUTE);

type Figures = Record<string, { requests: number; promptTokens: number }>;

/** A drain's rollup deltas (every dimension) as "minute dim value" -> requests and prompt tokens. */
function drained(intake: UsageIntake): Figures {
  const out: Figures = {};
  for (const delta of intake.drain().deltas) {
    out[`${delta.minuteStart} ${delta.dim} ${delta.dimValue}`] = { requests: delta.requests, promptTokens: delta.promptTokens };
  }
  return out;
}

/** The same figures computed straight from the records: the judge the intake is checked against. */
function expected(records: readonly UsageRecord[]): Figures {
  const out: Figures = {};
  for (const r of records) {
    const minute = r.ts - (r.ts % MINUTE);
    for (const [dim, value] of [['all', '*'], ['key', r.keyId], ['model', r.model ?? '(none)'], ['upstream', r.upstreamId ?? '(none)']]) {
      const entry = (out[`${minute} ${dim} ${value}`] ??= { requests: 0, promptTokens: 0 });
      entry.requests++;
      entry.promptTokens += r.promptTokens;
    }
  }
  return out;
}

describe('UsageIntake', () => {
  it('counts interleaved keys, models, addresses and minutes each in their own bucket', () => {
    const intake = new UsageIntake();
    const records: UsageRecord[] = [];
    // Runs of one bucket broken by others, so the remembered last bucket is both reused and left.
    const shapes: Array<Partial<UsageRecord>> = [
      { keyId: 'key_a', promptTokens: 1 },
      { keyId: 'key_a', promptTokens: 2 },
      { keyId: 'key_b', promptTokens: 4 },
      { keyId: 'key_a', promptTokens: 8 },
      { keyId: 'key_a', promptTokens: 16, model: 'gpt-4o' },
      { keyId: 'key_a', promptTokens: 32, clientIp: '203.0.113.9' },
      { keyId: 'key_a', promptTokens: 64, upstreamId: 'ups_other' },
      { keyId: 'key_a', promptTokens: 128, ts: T0 + MINUTE },
      { keyId: 'key_a', promptTokens: 256 },
    ];
    for (const shape of shapes) {
      const record = usage({ ts: T0 + 5, ...shape });
      records.push(record);
      intake.add(record);
    }
    expect(drained(intake)).toEqual(expected(records));
  });

  it('sees every client address of a key, also when it changes between records of one bucket otherwise', () => {
    const intake = new UsageIntake();
    for (const clientIp of ['198.51.100.7', '198.51.100.7', '203.0.113.9', '198.51.100.7']) intake.add(usage({ ts: T0, clientIp }));
    const samples = intake
      .drain()
      .seen.filter((o) => o.kind === 'network')
      .map((o) => o.sample)
      .sort();
    expect(samples).toEqual(['198.51.100.7', '203.0.113.9']);
  });

  it('after a drain, counts a record like the last one into a new bucket, not the drained one', () => {
    const intake = new UsageIntake();
    const first = usage({ ts: T0 + 1, keyId: 'key_a', promptTokens: 10 });
    intake.add(first);
    expect(drained(intake)).toEqual(expected([first]));
    const again = usage({ ts: T0 + 2, keyId: 'key_a', promptTokens: 5 });
    intake.add(again);
    intake.add(again);
    expect(drained(intake)).toEqual(expected([again, again]));
    expect(drained(intake)).toEqual({});
  });

  it('tells a null model from a model of another name on the same key', () => {
    const intake = new UsageIntake();
    const records = [usage({ ts: T0, model: null }), usage({ ts: T0, model: 'gpt-4o-mini' }), usage({ ts: T0, model: null })];
    for (const record of records) intake.add(record);
    const byModel = intake
      .drain()
      .deltas.filter((d) => d.dim === 'model')
      .map((d) => [d.dimValue, d.requests]);
    expect(Object.fromEntries(byModel)).toEqual({ '(none)': 2, 'gpt-4o-mini': 1 });
  });
});
