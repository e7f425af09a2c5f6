import type { Limiter } from '../../limits/limiter.js';
import type { AlertRepository, RollupCounters, RollupRepository } from '../../monitor/repositories.js';
import type { Store, VirtualKeyRecord } from '../../store/index.js';
import type { AggregateSources } from './usage-aggregate.js';
import type { RollupCoverage } from './range-plan.js';

/** What the statistics endpoints read from. */
export interface StatsDeps {
  store: Store;
  rollups: RollupRepository;
  alerts: AlertRepository;
  limiter: Limiter;
  /** What the rollups can answer at `now` (see rollup-coverage.ts). */
  coverage: (now: number) => RollupCoverage;
}

export function sourcesAt(deps: StatsDeps, now: number): AggregateSources {
  return { rollups: deps.rollups, usage: deps.store.usage, coverage: deps.coverage(now) };
}

/** A point of a time series in the console's shape. */
export interface SeriesPoint {
  t: number;
  requests: number;
  errors: number;
  cost_usd: number;
}

export function point(t: number, counters: RollupCounters): SeriesPoint {
  return { t, requests: counters.requests, errors: counters.errors, cost_usd: counters.costUsd };
}

export interface BudgetLine {
  period: string;
  period_key: string;
  limit_usd: number;
  spent_usd: number;
  fraction: number;
}

/** A key's budgets as `limiter.budgetStatus` sees them (the spend ledger the gateway enforces), with the fraction used. */
export async function budgetLines(limiter: Limiter, key: VirtualKeyRecord, now: number): Promise<BudgetLine[]> {
  const status = await limiter.budgetStatus(key, now);
  return status.map((b) => ({ ...b, fraction: b.limit_usd > 0 ? b.spent_usd / b.limit_usd : 0 }));
}

export function hasBudgets(key: VirtualKeyRecord): boolean {
  const budgets = (key.limits as { budgets?: unknown[] }).budgets;
  return Array.isArray(budgets) && budgets.length > 0;
}
