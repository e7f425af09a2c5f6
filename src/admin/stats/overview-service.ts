import { alertView } from '../../monitor/alert-view.js';
import type { RollupCounters } from '../../monitor/repositories.js';
import type { VirtualKeyRecord } from '../../store/index.js';
import { keyStatus } from '../key-view.js';
import { budgetLines, hasBudgets, point, sourcesAt, type StatsDeps } from './stats-context.js';
import { dayWindows, hourWindows, todayAndMonth } from './time-windows.js';
import { aggregateUsage, sumValues } from './usage-aggregate.js';

const NEAR_BUDGET = 0.8;
const TOP_KEYS = 10;
const LATEST_ALERTS = 5;
/** Open alerts counted at most; beyond it the console shows "1000+" (count_capped). */
const OPEN_ALERT_CAP = 1000;

/**
 * The console's overview, for every key or for one project's keys (`project` set: a project-limited token).
 * Usage numbers come from the rollups (see usage-aggregate.ts); budget numbers from the spend ledger through
 * `limiter.budgetStatus`, the figures the gateway enforces.
 */
export async function overview(deps: StatsDeps, now: number, tz: string, project: string | null) {
  const allKeys = await deps.store.keys.list();
  const keys = project === null ? allKeys : allKeys.filter((k) => k.projectId === project);
  const visible = new Set(keys.map((k) => k.id));
  // An unlimited token reads the `all` dimension; a limited one sums its project's keys.
  const dim = project === null ? 'all' : 'key';
  const keep = project === null ? undefined : (id: string) => visible.has(id);
  const sources = sourcesAt(deps, now);
  const { today, month } = todayAndMonth(now, tz);
  const hours = hourWindows(now, 48);
  const days = dayWindows(now, 30, tz);

  // Today lies inside the month: windows of one call must not overlap, so each is its own call.
  const [[todayTotals] = [], [monthTotals] = [], hourly, daily, [monthByKey] = [], budgets, alerts, upstreams] = await Promise.all([
    aggregateUsage(sources, [today], { dim }),
    aggregateUsage(sources, [month], { dim }),
    aggregateUsage(sources, hours, { dim }),
    aggregateUsage(sources, days, { dim }),
    aggregateUsage(sources, [month], { dim: 'key' }),
    nearBudget(deps, keys, now),
    deps.alerts.list({ acknowledged: false, limit: OPEN_ALERT_CAP }),
    project === null ? deps.store.upstreams.list() : Promise.resolve(null),
  ]);
  const names = new Map(allKeys.map((k) => [k.id, k.name]));
  const sum = (totals: Map<string, RollupCounters> | undefined): RollupCounters => sumValues(totals, keep);
  const topKeys = [...(monthByKey ?? [])]
    .filter(([id, c]) => (keep ? keep(id) : true) && c.costUsd > 0)
    .sort((a, b) => b[1].costUsd - a[1].costUsd || b[1].requests - a[1].requests || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP_KEYS)
    .map(([id, c]) => ({ id, name: names.get(id) ?? null, cost_usd: c.costUsd, requests: c.requests }));
  const openAlerts = alerts.filter((a) => project === null || (a.keyId !== null && visible.has(a.keyId)));
  const statuses = keys.map((k) => keyStatus(k, now));

  return {
    object: 'overview' as const,
    generated_at: now,
    time_zone: tz,
    spend: { today_usd: sum(todayTotals).costUsd, month_usd: sum(monthTotals).costUsd },
    budgets: budgets.summary,
    series: {
      hourly: hours.map((w, i) => point(w.since, sum(hourly[i]))),
      daily: days.map((w, i) => ({ ...point(w.since, sum(daily[i])), date: w.date })),
    },
    top_keys: topKeys,
    open_alerts: {
      count: openAlerts.length,
      count_capped: alerts.length >= OPEN_ALERT_CAP,
      latest: openAlerts.slice(0, LATEST_ALERTS).map(alertView),
    },
    near_budget: budgets.near,
    totals: {
      keys_active: statuses.filter((s) => s === 'active').length,
      keys_suspended: statuses.filter((s) => s === 'suspended').length,
      upstreams: upstreams === null ? null : upstreams.length,
    },
  };
}

/** Every live key with a budget, checked against the ledger; those at ≥ 80 % of any budget, fullest first. */
async function nearBudget(deps: StatsDeps, keys: readonly VirtualKeyRecord[], now: number) {
  const budgeted = keys.filter((k) => hasBudgets(k) && k.revokedAt === null);
  const lines = await Promise.all(budgeted.map(async (k) => ({ key: k, lines: await budgetLines(deps.limiter, k, now) })));
  const near = lines
    .flatMap(({ key, lines: ls }) =>
      ls.filter((l) => l.fraction >= NEAR_BUDGET).map((l) => ({ id: key.id, name: key.name, window: l.period, period_key: l.period_key, spent_usd: l.spent_usd, limit_usd: l.limit_usd, fraction: l.fraction })),
    )
    .sort((a, b) => b.fraction - a.fraction || (a.id < b.id ? -1 : 1));
  return { summary: { keys_with_budget: budgeted.length, keys_over_80pct: new Set(near.map((n) => n.id)).size }, near };
}
