import { describe, expect, it } from 'vitest';
import { gcra, gcraAdmit } from './gcra.js';
import { periodKey } from './periods.js';
import { parseBudget, parseModelRule } from './schema.js';
import { adjustInPlace, chargeInPlace, levelAfterTake, take } from './token-bucket.js';

describe('GCRA', () => {
  /** Hammers the limiter every `stepMs` for `durationMs` and counts admissions. */
  function admitted(limit: number, periodMs: number, durationMs: number, stepMs: number): number {
    let tat = 0;
    let count = 0;
    for (let now = 0; now < durationMs; now += stepMs) {
      const decision = gcra(tat, now, limit, periodMs);
      // The admission path's number-only form agrees with the full decision at every step.
      expect(gcraAdmit(tat, now, limit, periodMs)).toBe(decision.allowed ? decision.tat : NaN);
      if (decision.allowed) {
        tat = decision.tat;
        count++;
      }
    }
    return count;
  }

  it.each([
    [1, 60_000],
    [10, 60_000],
    [60, 60_000],
    [600, 60_000],
    [7, 1_000],
  ])('stays within ±1 of theory for %i per %i ms', (limit, periodMs) => {
    for (const windows of [1, 3, 10]) {
      const duration = windows * periodMs;
      // Theory: a full burst of `limit`, then one every periodMs/limit for the rest of the run.
      const theory = limit + Math.floor((duration - 1) / (periodMs / limit));
      const count = admitted(limit, periodMs, duration, periodMs / limit / 7);
      expect(Math.abs(count - theory), `${windows} windows`).toBeLessThanOrEqual(1);
    }
  });

  it('reports remaining, retry-after and reset', () => {
    let tat = 0;
    for (let i = 0; i < 10; i++) {
      const d = gcra(tat, 0, 10, 60_000);
      expect(d.allowed).toBe(true);
      expect(d.remaining).toBe(9 - i);
      tat = d.tat;
    }
    const refused = gcra(tat, 0, 10, 60_000);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBe(6_000);
    expect(refused.resetMs).toBe(60_000);
    expect(gcra(tat, 6_000, 10, 60_000).allowed).toBe(true);
  });
});

describe('token bucket', () => {
  it('charges estimates, refills continuously and corrects afterwards', () => {
    let state = { level: 1000, at: 0 };
    const first = take(state, 0, 800, 1000, 60_000);
    expect(first.allowed).toBe(true);
    state = first.state;
    const second = take(state, 0, 300, 1000, 60_000);
    expect(second.allowed).toBe(false);
    expect(second.retryAfterMs).toBe(6_000);
    // The first request really used 100 tokens: refund 700.
    adjustInPlace(state, 0, -700, 1000, 60_000);
    expect(state.level).toBe(900);
    expect(take(state, 0, 300, 1000, 60_000).allowed).toBe(true);
    // Refill: 30 s later half the bucket is back.
    const drained = { level: 0, at: 0 };
    expect(take(drained, 30_000, 500, 1000, 60_000).allowed).toBe(true);
    expect(take(drained, 29_000, 500, 1000, 60_000).allowed).toBe(false);
  });

  it('decides on numbers exactly as take() does, and charges and corrects the state in place', () => {
    const cases: Array<[level: number, at: number, now: number, amount: number]> = [
      [1000, 0, 0, 800],
      [200, 0, 0, 300],
      [0, 0, 30_000, 500],
      [0, 0, 29_000, 500],
      [1000, 0, 0, 5000],
      [999, 0, 0, 5000],
      [-4000, 0, 60_000, 1],
      [500, 10_000, 5_000, 400], // a clock that went back refills nothing
    ];
    for (const [level, at, now, amount] of cases) {
      const decision = take({ level, at }, now, amount, 1000, 60_000);
      const after = levelAfterTake({ level, at }, now, amount, 1000, 60_000);
      expect(Number.isNaN(after)).toBe(!decision.allowed);
      if (decision.allowed) {
        const state = { level, at };
        chargeInPlace(state, now, after);
        expect(state).toEqual(decision.state);
      }
    }
    const state = { level: 100, at: 0 };
    adjustInPlace(state, 30_000, 50, 1000, 60_000); // refilled to 600, then 50 more charged
    expect(state).toEqual({ level: 550, at: 30_000 });
    adjustInPlace(state, 30_000, -2000, 1000, 60_000); // a refund never overfills
    expect(state).toEqual({ level: 1000, at: 30_000 });
  });

  it('lets an oversized request through only on a full bucket, leaving a debt', () => {
    const full = take({ level: 1000, at: 0 }, 0, 5000, 1000, 60_000);
    expect(full.allowed).toBe(true);
    expect(full.state.level).toBe(-4000);
    expect(take(full.state, 60_000, 1, 1000, 60_000).allowed).toBe(false);
  });
});

describe('budget periods', () => {
  const at = Date.UTC(2026, 10, 27, 23, 30); // Friday 27 Nov 2026, 23:30 UTC
  it('uses UTC calendar boundaries by default', () => {
    expect(periodKey('day', at, 'UTC')).toBe('day:2026-11-27');
    expect(periodKey('week', at, 'UTC')).toBe('week:2026-W48');
    expect(periodKey('month', at, 'UTC')).toBe('month:2026-11');
    expect(periodKey('lifetime', at, 'UTC')).toBe('lifetime');
  });

  it('honours a configured time zone', () => {
    expect(periodKey('day', at, 'Europe/Berlin')).toBe('day:2026-11-28');
    expect(periodKey('day', at, 'America/Los_Angeles')).toBe('day:2026-11-27');
    expect(periodKey('month', Date.UTC(2026, 10, 30, 23, 30), 'Asia/Tokyo')).toBe('month:2026-12');
  });

  it('computes ISO weeks across year ends', () => {
    expect(periodKey('week', Date.UTC(2021, 0, 3, 12), 'UTC')).toBe('week:2020-W53');
    expect(periodKey('week', Date.UTC(2024, 11, 30, 12), 'UTC')).toBe('week:2025-W01');
    expect(periodKey('week', Date.UTC(2026, 0, 1, 12), 'UTC')).toBe('week:2026-W01');
  });
});

describe('CLI limit syntax', () => {
  it('parses budgets and model rules', () => {
    expect(parseBudget('5/day')).toEqual({ usd: 5, period: 'day' });
    expect(parseBudget('$100.50/month')).toEqual({ usd: 100.5, period: 'month' });
    expect(parseBudget('5/year')).toBeNull();
    expect(parseModelRule('gpt-4*:rpm=10')).toEqual({ match: 'gpt-4*', rpm: 10 });
    expect(parseModelRule('o3*:rpm=2,tpm=5000')).toEqual({ match: 'o3*', rpm: 2, tpm: 5000 });
    expect(parseModelRule('gpt-4*:rpm=x')).toBeNull();
    expect(parseModelRule('gpt-4*')).toBeNull();
  });
});
