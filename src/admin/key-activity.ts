import type { UsageRepository } from '../store/index.js';
import { aggregateUsage, type AggregateSources } from './stats/usage-aggregate.js';

export interface KeyActivityView {
  /** Settled cost since 00:00 UTC today, from usage records. */
  spend_today_usd: number;
  /** Settled cost since the 1st of this month, 00:00 UTC. */
  spend_month_usd: number;
  /** The last request made with the key (any outcome), or null if never used. */
  last_used_at: string | null;
}

const NEVER: KeyActivityView = { spend_today_usd: 0, spend_month_usd: 0, last_used_at: null };

/** Records stamped after `now` (a skewed clock) still count, as they did when this summed raw records. */
const END_OF_TIME = Number.MAX_SAFE_INTEGER;

/**
 * Spend of these keys in one window, read as the statistics endpoints read it: rollups (by primary key, only the
 * page's keys) plus the raw not-yet-rolled tail.
 */
async function spendPerKey(sources: AggregateSources, keyIds: readonly string[], since: number, until: number): Promise<ReadonlyMap<string, number>> {
  const spend = new Map<string, number>();
  if (since >= until || keyIds.length === 0) return spend;
  const [totals] = await aggregateUsage(sources, [{ since, until }], { dim: 'key', dimValues: keyIds });
  for (const [keyId, counters] of totals ?? []) spend.set(keyId, counters.costUsd);
  return spend;
}

/**
 * Spend today and this month and last use for the keys of one `keys list` page. Spend comes from the monitor's
 * rollups (whole days of the month from day buckets, today from hour and minute buckets) plus the raw records the
 * rollups do not hold yet, so its cost does not grow with the month's record count; last use is one index seek per
 * key on the page. Days and months are UTC here (a list mixes keys of different budget time zones); a key's
 * budgets, in its own zone, are in `keys show`.
 */
export async function keyActivity(
  sources: AggregateSources & { usage: UsageRepository },
  keyIds: readonly string[],
  now: number,
): Promise<(keyId: string) => KeyActivityView> {
  const today = new Date(now);
  const dayStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const monthStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1);
  // Two disjoint windows (aggregateUsage requires that): the month before today, and today onwards.
  const [earlierThisMonth, sinceToday, lastUse] = await Promise.all([
    spendPerKey(sources, keyIds, monthStart, dayStart),
    spendPerKey(sources, keyIds, dayStart, END_OF_TIME),
    keyIds.length === 0 ? [] : sources.usage.lastUsedAt(keyIds),
  ]);
  const lastUsed = new Map(lastUse.map((row) => [row.keyId, row.lastUsedAt]));
  const byKey = new Map<string, KeyActivityView>();
  for (const keyId of keyIds) {
    const day = sinceToday.get(keyId) ?? 0;
    const usedAt = lastUsed.get(keyId) ?? null;
    if (usedAt === null && day === 0 && !earlierThisMonth.has(keyId)) continue;
    byKey.set(keyId, {
      spend_today_usd: day,
      spend_month_usd: day + (earlierThisMonth.get(keyId) ?? 0),
      last_used_at: usedAt === null ? null : new Date(usedAt).toISOString(),
    });
  }
  return (keyId) => byKey.get(keyId) ?? NEVER;
}
