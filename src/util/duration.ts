const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `90s`, `15m`, `12h`, `30d`, `2w` (or a bare number of seconds) into milliseconds; null if malformed. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/i.exec(text.trim());
  if (!match) return null;
  const unit = (match[2] ?? '').toLowerCase() || 's';
  return Math.round(Number(match[1]) * (UNITS[unit] as number));
}

/**
 * An absolute time from a duration relative to `now` (`30d`) or an ISO-8601 date; null if neither.
 * Durations are what people type; dates are what automation sends.
 */
export function parseTimeOrDuration(text: string, now: number): number | null {
  const duration = parseDuration(text);
  if (duration !== null) return now + duration;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : date;
}
