import { describe, expect, it } from 'vitest';
import { emptyCounters } from '../counters.js';
import type { RollupRow } from '../repositories.js';
import { networkOf } from '../net.js';
import { SecurityWindow } from '../security-window.js';
import { budgetThresholdCrossed } from './budget.js';
import { sameHourBaseline } from './spike.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW_HOUR = Date.UTC(2025, 5, 20, 14);

function hourRow(bucketStart: number, peakMinuteRequests: number): RollupRow {
  return {
    granularity: 'hour',
    bucketStart,
    dim: 'key',
    dimValue: 'key_a',
    ...emptyCounters(),
    requests: peakMinuteRequests * 30,
    peakMinuteRequests,
    peakMinuteCost: peakMinuteRequests / 100,
  };
}

describe('sameHourBaseline', () => {
  const config = { lookbackDays: 7, alpha: 0.5 };

  it('is an EWMA over days of the same hour, oldest first', () => {
    const rows = [3, 2, 1].map((daysAgo, i) => hourRow(NOW_HOUR - daysAgo * DAY, [10, 20, 40][i] as number));
    // 10 → 0.5·20 + 0.5·10 = 15 → 0.5·40 + 0.5·15 = 27.5
    expect(sameHourBaseline(rows, NOW_HOUR, NOW_HOUR - 3 * DAY, config, 'requests')).toBe(27.5);
    expect(sameHourBaseline(rows, NOW_HOUR, NOW_HOUR - 3 * DAY, config, 'cost')).toBeCloseTo(0.275, 10);
  });

  it('counts quiet days after first activity as zero but skips days before it', () => {
    const rows = [hourRow(NOW_HOUR - 3 * DAY, 40)];
    // Active for 3 days: 40 → 20 → 10. Active for 30: four quiet days first, 0 → 0 → 0 → 0 → 20 → 10 → 5.
    expect(sameHourBaseline(rows, NOW_HOUR, NOW_HOUR - 3 * DAY, config, 'requests')).toBe(10);
    expect(sameHourBaseline(rows, NOW_HOUR, NOW_HOUR - 30 * DAY, config, 'requests')).toBe(5);
    expect(sameHourBaseline([], NOW_HOUR, NOW_HOUR - 3 * DAY, config, 'requests')).toBe(0);
  });

  it('takes the busier neighbouring hour, so a rhythm that drifts by an hour is not a spike', () => {
    const rows = [1, 2, 3].map((daysAgo) => hourRow(NOW_HOUR - daysAgo * DAY + HOUR, 30));
    expect(sameHourBaseline(rows, NOW_HOUR, NOW_HOUR - 3 * DAY, config, 'requests')).toBe(30);
    const twoHoursOff = [1, 2, 3].map((daysAgo) => hourRow(NOW_HOUR - daysAgo * DAY + 2 * HOUR, 30));
    expect(sameHourBaseline(twoHoursOff, NOW_HOUR, NOW_HOUR - 3 * DAY, config, 'requests')).toBe(0);
  });
});

describe('budgetThresholdCrossed', () => {
  it('returns the highest threshold reached', () => {
    const t = [0.5, 0.8, 1];
    expect(budgetThresholdCrossed(49.99, 100, t)).toBeNull();
    expect(budgetThresholdCrossed(50, 100, t)).toBe(0.5);
    expect(budgetThresholdCrossed(80, 100, t)).toBe(0.8);
    expect(budgetThresholdCrossed(250, 100, t)).toBe(1);
    expect(budgetThresholdCrossed(10, 0, t)).toBeNull();
  });
});

describe('networkOf', () => {
  it('groups IPv4 by /24 and IPv6 by /64, and IPv4-mapped IPv6 as IPv4', () => {
    expect(networkOf('203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(networkOf('not-an-ip')).toBeNull();
    expect(networkOf('')).toBeNull();
  });
});

describe('SecurityWindow', () => {
  it('sums a sliding window per subject, forgets old minutes and caps subjects', () => {
    const window = new SecurityWindow(2);
    const t = Date.UTC(2025, 5, 2, 12);
    expect(window.add('a', t, ['reason:invalid'])).toBe(true);
    expect(window.add('a', t + 4 * 60_000, ['reason:expired'])).toBe(true);
    expect(window.add('b', t, [])).toBe(true);
    expect(window.add('c', t, [])).toBe(false);
    expect(window.totals(t + 5 * 60_000, 5 * 60_000).map((s) => [s.subject, s.count])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(window.totals(t + 6 * 60_000, 5 * 60_000).map((s) => [s.subject, s.count])).toEqual([['a', 1]]);
    expect(window.size).toBe(1);
    expect(window.add('c', t + 6 * 60_000, [])).toBe(true);
  });
});
