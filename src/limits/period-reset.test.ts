import { describe, expect, it } from 'vitest';
import { periodKey } from './periods.js';
import { periodResetAt, secondsUntilPeriodReset } from './period-reset.js';

const at = (iso: string): number => Date.parse(iso);

describe('periodResetAt', () => {
  it('ends a day at local midnight of the key time zone, not UTC', () => {
    // 23:30 in Tokyo (UTC+9) is 14:30 UTC; the Tokyo day ends 30 minutes later.
    expect(periodResetAt('day', at('2026-11-29T14:30:00Z'), 'Asia/Tokyo')).toBe(at('2026-11-29T15:00:00Z'));
    expect(secondsUntilPeriodReset('day', at('2026-11-29T14:30:00Z'), 'Asia/Tokyo')).toBe(1800);
    expect(periodResetAt('day', at('2026-11-29T14:30:00Z'), 'UTC')).toBe(at('2026-11-30T00:00:00Z'));
  });

  it('handles zones west of UTC and DST changes (New York, fall back on 2026-11-01)', () => {
    // 2026-10-31 23:00 EDT = 2026-11-01 03:00Z; midnight 2026-11-01 EDT = 04:00Z.
    expect(periodResetAt('day', at('2026-11-01T03:00:00Z'), 'America/New_York')).toBe(at('2026-11-01T04:00:00Z'));
    // 2026-11-01 12:00 EST = 17:00Z; the next midnight is EST: 2026-11-02 05:00Z (a 25-hour day).
    expect(periodResetAt('day', at('2026-11-01T17:00:00Z'), 'America/New_York')).toBe(at('2026-11-02T05:00:00Z'));
    // Spring forward 2026-03-08: midnight 2026-03-09 EDT = 04:00Z.
    expect(periodResetAt('day', at('2026-03-08T12:00:00Z'), 'America/New_York')).toBe(at('2026-03-09T04:00:00Z'));
  });

  it('ends a month on the 1st and an ISO week on Monday, in the zone', () => {
    expect(periodResetAt('month', at('2026-12-31T20:00:00Z'), 'Europe/Berlin')).toBe(at('2026-12-31T23:00:00Z'));
    expect(periodResetAt('month', at('2026-02-10T00:00:00Z'), 'UTC')).toBe(at('2026-03-01T00:00:00Z'));
    // 2026-11-29 is a Sunday; Monday 2026-11-30 00:00 UTC.
    expect(periodResetAt('week', at('2026-11-29T12:00:00Z'), 'UTC')).toBe(at('2026-11-30T00:00:00Z'));
    // On a Monday the week ends the next Monday.
    expect(periodResetAt('week', at('2026-11-30T00:00:01Z'), 'UTC')).toBe(at('2026-12-07T00:00:00Z'));
  });

  it('never resets a lifetime budget', () => {
    expect(periodResetAt('lifetime', Date.now(), 'UTC')).toBeNull();
    expect(secondsUntilPeriodReset('lifetime', Date.now(), 'UTC')).toBeNull();
  });

  it('agrees with the ledger: the period key changes exactly at the reset instant', () => {
    const zones = ['UTC', 'Asia/Kolkata', 'America/Los_Angeles', 'Pacific/Chatham', 'Australia/Lord_Howe'];
    const periods = ['day', 'week', 'month'] as const;
    let now = at('2026-01-01T00:00:00Z');
    for (let i = 0; i < 60; i++, now += 7 * 3_600_000 + 13 * 60_000) {
      for (const zone of zones) {
        for (const period of periods) {
          const reset = periodResetAt(period, now, zone) as number;
          expect(reset).toBeGreaterThan(now);
          expect(periodKey(period, reset - 1000, zone)).toBe(periodKey(period, now, zone));
          expect(periodKey(period, reset, zone)).not.toBe(periodKey(period, now, zone));
        }
      }
    }
  });
});
