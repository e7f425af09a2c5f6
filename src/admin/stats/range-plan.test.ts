import { describe, expect, it } from 'vitest';
import { planRange, type RollupCoverage } from './range-plan.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 15, 10, 30, 17);
const coverage: RollupCoverage = { completeBefore: NOW - 150_000, minuteSince: NOW - 2 * DAY + MINUTE, hourSince: NOW - 90 * DAY + HOUR };

function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a * 1_103_515_245 + 12_345) % 2_147_483_648;
    return a / 2_147_483_648;
  };
}

describe('planRange', () => {
  it('covers every window exactly, in order, without overlap, and reads only whole buckets from rollups', () => {
    const next = random(5);
    for (let i = 0; i < 2_000; i++) {
      const since = NOW - Math.floor(next() * 120 * DAY);
      const until = Math.min(NOW + 1, since + Math.floor(next() * 40 * DAY) + 1);
      const plan = planRange({ since, until }, coverage);
      let at = since;
      for (const segment of plan) {
        expect(segment.since).toBe(at);
        expect(segment.until).toBeGreaterThan(segment.since);
        at = segment.until;
        if (segment.source === 'raw') continue;
        const size = segment.source === 'day' ? DAY : segment.source === 'hour' ? HOUR : MINUTE;
        expect(segment.since % size).toBe(0);
        expect(segment.until % size).toBe(0);
        // Nothing read from rollups past what they hold, or from buckets retention has pruned.
        expect(segment.until).toBeLessThanOrEqual(coverage.completeBefore ?? -1);
        if (segment.source === 'hour') expect(segment.since).toBeGreaterThanOrEqual(coverage.hourSince);
        if (segment.source === 'minute') expect(segment.since).toBeGreaterThanOrEqual(coverage.minuteSince);
      }
      expect(at).toBe(until);
    }
  });

  it('reads whole UTC days as one day segment', () => {
    const today = NOW - (NOW % DAY);
    expect(planRange({ since: today - 30 * DAY, until: today }, coverage)).toEqual([{ source: 'day', since: today - 30 * DAY, until: today }]);
  });

  it('reads raw only the sub-minute edges and the unrolled tail of a recent window', () => {
    const since = NOW - 5 * HOUR - 12_345;
    const raw = planRange({ since, until: NOW + 1 }, coverage).filter((s) => s.source === 'raw');
    // The leading part-minute, then the last part-minute before the rolled-up point and the tail after it.
    expect(raw[0]?.since).toBe(since);
    expect((raw[0]?.until ?? 0) - since).toBeLessThan(MINUTE);
    const tail = raw.slice(1);
    expect(tail.at(-1)?.until).toBe(NOW + 1);
    for (let i = 1; i < tail.length; i++) expect(tail[i]?.since).toBe(tail[i - 1]?.until);
    expect(NOW + 1 - (tail[0]?.since ?? 0)).toBeLessThan(150_000 + MINUTE + 1);
  });

  it('reads everything raw when nothing is rolled up (monitor off)', () => {
    expect(planRange({ since: 0, until: NOW }, { ...coverage, completeBefore: null })).toEqual([{ source: 'raw', since: 0, until: NOW }]);
  });

  it('reads the edges of a window older than the hour retention raw, its whole days from day buckets', () => {
    const since = NOW - 100 * DAY + 7 * HOUR;
    const plan = planRange({ since, until: since + 3 * DAY }, coverage);
    expect(plan.map((s) => s.source)).toEqual(['raw', 'day', 'raw']);
  });
});
