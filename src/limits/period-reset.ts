import type { BudgetPeriod } from './schema.js';

const wallClocks = new Map<string, Intl.DateTimeFormat>();

function wallClockFor(timeZone: string): Intl.DateTimeFormat {
  let format = wallClocks.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    wallClocks.set(timeZone, format);
  }
  return format;
}

/** The wall-clock time in `timeZone` at instant `at`, as if that wall time were UTC (epoch ms). */
export function wallTimeAsUtc(at: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of wallClockFor(timeZone).formatToParts(new Date(at))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
}

/** The instant at which the wall clock in `timeZone` shows local midnight of the UTC-encoded date `localMidnight`. */
export function instantOfLocalMidnight(localMidnight: number, timeZone: string): number {
  // The zone's offset at the guess, then once more at the corrected instant, which settles DST changes.
  let instant = localMidnight - (wallTimeAsUtc(localMidnight, timeZone) - localMidnight);
  instant = localMidnight - (wallTimeAsUtc(instant, timeZone) - instant);
  return instant;
}

/**
 * When the budget period containing `now` ends, in `timeZone` (the zone the key's budgets use), as epoch ms; null
 * for `lifetime`, which never resets. Matches the calendar boundaries of `periodKey`: days at local midnight,
 * ISO weeks on Monday, months on the 1st.
 */
export function periodResetAt(period: BudgetPeriod, now: number, timeZone: string): number | null {
  if (period === 'lifetime') return null;
  const wall = new Date(wallTimeAsUtc(now, timeZone));
  const y = wall.getUTCFullYear();
  const m = wall.getUTCMonth();
  const d = wall.getUTCDate();
  let next: number;
  if (period === 'day') next = Date.UTC(y, m, d + 1);
  else if (period === 'month') next = Date.UTC(y, m + 1, 1);
  else next = Date.UTC(y, m, d + (7 - ((wall.getUTCDay() + 6) % 7)));
  return instantOfLocalMidnight(next, timeZone);
}

/** Whole seconds until the period resets (at least 1), for Retry-After; null when it never resets. */
export function secondsUntilPeriodReset(period: BudgetPeriod, now: number, timeZone: string): number | null {
  const at = periodResetAt(period, now, timeZone);
  return at === null ? null : Math.max(1, Math.ceil((at - now) / 1000));
}
