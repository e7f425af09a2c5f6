import type { UsageRecord, VirtualKeyRecord } from '../../store/index.js';
import { budgetLines, point, sourcesAt, type StatsDeps } from './stats-context.js';
import { dayWindows, hourWindows } from './time-windows.js';
import { aggregateUsage, sumValues } from './usage-aggregate.js';

const RECENT = 50;

/** What the key page shows of a request: metadata only. Usage records hold no bodies, and none are added here. */
function recentView(r: UsageRecord) {
  return {
    id: r.id,
    time: r.ts,
    endpoint: r.endpoint,
    model: r.model,
    status: r.status,
    stream: r.stream,
    error_code: r.errorCode,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    cached_tokens: r.cachedTokens,
    reasoning_tokens: r.reasoningTokens,
    cost_usd: r.costUsd,
    latency_ms: r.latencyMs,
  };
}

/**
 * One key's page: daily (last `days` local days in `tz`) and hourly (48 h) series from the key's rollups, spend by
 * model over the same days, its budgets from the spend ledger, and its 50 newest requests.
 */
export async function keyStats(deps: StatsDeps, key: VirtualKeyRecord, now: number, days: number, tz: string) {
  const sources = sourcesAt(deps, now);
  const dayList = dayWindows(now, days, tz);
  const hours = hourWindows(now, 48);
  const since = dayList[0]?.since ?? now;
  const [daily, hourly, byModel, budgets, recent] = await Promise.all([
    aggregateUsage(sources, dayList, { dim: 'key', dimValue: key.id }),
    aggregateUsage(sources, hours, { dim: 'key', dimValue: key.id }),
    // Rollups have no key × model dimension; the (key_id, ts) index bounds this read to the key's own records.
    deps.store.usage.totalsBy({ dim: 'model', keyId: key.id, since, until: now + 1 }),
    budgetLines(deps.limiter, key, now),
    deps.store.usage.recentForKey(key.id, RECENT),
  ]);
  return {
    object: 'key_stats' as const,
    key_id: key.id,
    generated_at: now,
    time_zone: tz,
    days,
    series: {
      daily: dayList.map((w, i) => ({ ...point(w.since, sumValues(daily[i])), date: w.date })),
      hourly: hours.map((w, i) => point(w.since, sumValues(hourly[i]))),
    },
    by_model: byModel
      .map((row) => ({ model: row.dimValue === '(none)' ? null : row.dimValue, requests: row.requests, errors: row.errors, cost_usd: row.costUsd }))
      .sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests),
    budgets,
    recent: recent.map(recentView),
  };
}
