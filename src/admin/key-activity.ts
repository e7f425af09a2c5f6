import type { Store } from '../store/index.js';

export interface KeyActivityView {
  /** Settled cost since 00:00 UTC today, from usage records. */
  spend_today_usd: number;
  /** Settled cost since the 1st of this month, 00:00 UTC. */
  spend_month_usd: number;
  /** The last request made with the key (any outcome), or null if never used. */
  last_used_at: string | null;
}

const NEVER: KeyActivityView = { spend_today_usd: 0, spend_month_usd: 0, last_used_at: null };

/**
 * Spend today and this month and last use for every key, for `keys list`: one grouped query through the Store,
 * not one per key. Days and months are UTC here (a list mixes keys of different budget time zones); a key's
 * budgets, in its own zone, are in `keys show`.
 */
export async function keyActivity(store: Store, now: number): Promise<(keyId: string) => KeyActivityView> {
  const today = new Date(now);
  const dayStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const monthStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1);
  const rows = await store.usage.keyActivity(dayStart, monthStart);
  const byKey = new Map<string, KeyActivityView>();
  for (const row of rows) {
    byKey.set(row.keyId, {
      spend_today_usd: row.costSinceDayUsd,
      spend_month_usd: row.costSinceMonthUsd,
      last_used_at: row.lastUsedAt === null ? null : new Date(row.lastUsedAt).toISOString(),
    });
  }
  return (keyId) => byKey.get(keyId) ?? NEVER;
}
