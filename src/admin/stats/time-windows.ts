import { instantOfLocalMidnight, wallTimeAsUtc } from '../../limits/period-reset.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A half-open time range [since, until) in epoch ms. */
export interface TimeWindow {
  since: number;
  until: number;
}

/** True when `tz` names a time zone this runtime knows (the same test the key limits' `time_zone` uses). */
export function isKnownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The local calendar date of `at` in `tz`, as the UTC midnight of that date (y, m, d arithmetic stays in UTC). */
function localDate(at: number, tz: string): number {
  const wall = wallTimeAsUtc(at, tz);
  return wall - (((wall % DAY) + DAY) % DAY);
}

/** The instant local day `date` (a UTC-midnight-encoded calendar date) starts in `tz`. */
function dayStart(date: number, tz: string): number {
  return tz === 'UTC' ? date : instantOfLocalMidnight(date, tz);
}

/**
 * The last `days` local calendar days in `tz`, oldest first; the last one is today and ends at `now` (not at
 * midnight), so nothing in the future is ever asked for. Days follow DST (23 or 25 hours).
 */
export function dayWindows(now: number, days: number, tz: string): Array<TimeWindow & { date: string }> {
  const today = localDate(now, tz);
  const out: Array<TimeWindow & { date: string }> = [];
  for (let i = days - 1; i >= 0; i--) {
    const date = today - i * DAY;
    const until = i === 0 ? now + 1 : dayStart(date + DAY, tz);
    out.push({ since: dayStart(date, tz), until, date: new Date(date).toISOString().slice(0, 10) });
  }
  return out;
}

/** The last `hours` whole hours (the last one is the current hour, up to `now`), oldest first. */
export function hourWindows(now: number, hours: number): TimeWindow[] {
  const current = now - (now % HOUR);
  const out: TimeWindow[] = [];
  for (let i = hours - 1; i >= 0; i--) {
    const since = current - i * HOUR;
    out.push({ since, until: i === 0 ? now + 1 : since + HOUR });
  }
  return out;
}

/** Today and this month so far in `tz`: [local midnight, now] and [local 1st of the month, now]. */
export function todayAndMonth(now: number, tz: string): { today: TimeWindow; month: TimeWindow } {
  const today = localDate(now, tz);
  const d = new Date(today);
  const firstOfMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return { today: { since: dayStart(today, tz), until: now + 1 }, month: { since: dayStart(firstOfMonth, tz), until: now + 1 } };
}
