import type { UsageTotalsDim } from '../types.js';

/**
 * The select lists of the usage summaries, shared by both stores (the SQL is the same in SQLite and PostgreSQL:
 * quoted camelCase aliases, CASE instead of summing booleans). Errors are counted as UsageIntake counts them into
 * the rollups (status >= 400, or 0: no response), so a range read raw adds up with ranges read from rollups.
 */
const ERRORS_SQL = 'SUM(CASE WHEN status >= 400 OR status = 0 THEN 1 ELSE 0 END) AS errors';

/** Whitelisted SQL per rollup dimension, with the monitor's names for "no model/upstream" and "everything". */
export const TOTALS_DIM_SQL: Record<UsageTotalsDim, string> = {
  all: "'*'",
  key: 'key_id',
  model: "COALESCE(model, '(none)')",
  upstream: "COALESCE(upstream_id, '(none)')",
};

/** UsageTotalsRow's counters (after its dimValue): what a rollup bucket holds. */
export const TOTALS_SUMS_SQL = `COUNT(*) AS requests, ${ERRORS_SQL},
  SUM(prompt_tokens) AS "promptTokens", SUM(completion_tokens) AS "completionTokens", SUM(cached_tokens) AS "cachedTokens",
  SUM(reasoning_tokens) AS "reasoningTokens", COALESCE(SUM(cost_usd), 0) AS "costUsd", SUM(price_missing) AS unpriced,
  SUM(latency_ms) AS "latencySumMs", MAX(latency_ms) AS "latencyMaxMs"`;

/** UsageSummaryRow's counters (after its group columns). */
export const SUMMARY_SUMS_SQL = `COUNT(*) AS requests, ${ERRORS_SQL},
  SUM(prompt_tokens) AS "promptTokens", SUM(cached_tokens) AS "cachedTokens",
  SUM(completion_tokens) AS "completionTokens", SUM(reasoning_tokens) AS "reasoningTokens",
  COALESCE(SUM(cost_usd), 0) AS "costUsd", SUM(price_missing) AS "unpricedRequests"`;
