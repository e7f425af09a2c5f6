import type { BudgetPeriod } from './schema.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Local calendar date (YYYY-MM-DD) in a time zone. Cached per minute: zone offsets change only on minute marks. */
const dateCache = new Map<string, { minute: number; date: string }>();
function localDate(now: number, timeZone: string): string {
  const minute = Math.floor(now / 60_000);
  const hit = dateCache.get(timeZone);
  if (hit && hit.minute === minute) return hit.date;
  const date = formatterFor(timeZone).format(new Date(now));
  dateCache.set(timeZone, { minute, date });
  return date;
}

/** ISO-8601 week (Monday start; the week's Thursday decides its year), as YYYY-Www. */
function isoWeek(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const thursday = new Date(Date.UTC(y, m - 1, d));
  thursday.setUTCDate(thursday.getUTCDate() - ((thursday.getUTCDay() + 6) % 7) + 3);
  const january4 = new Date(Date.UTC(thursday.getUTCFullYear(), 0, 4));
  const week = 1 + Math.round(((thursday.getTime() - january4.getTime()) / 86_400_000 - 3 + ((january4.getUTCDay() + 6) % 7)) / 7);
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/**
 * The ledger bucket a budget period falls in at `now`: `day:2026-11-27`, `week:2026-W48`, `month:2026-11`,
 * `lifetime`. Calendar boundaries are those of `timeZone`.
 */
export function periodKey(period: BudgetPeriod, now: number, timeZone: string): string {
  if (period === 'lifetime') return 'lifetime';
  const date = localDate(now, timeZone);
  if (period === 'day') return `day:${date}`;
  if (period === 'month') return `month:${date.slice(0, 7)}`;
  return `week:${isoWeek(date)}`;
}
