import type { Granularity, RollupCounters, RollupDim, RollupRow } from '../../monitor/repositories.js';
import { addCounters, emptyCounters } from '../../monitor/counters.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The buckets a minute is folded into, with their sizes (both stores keep hour and day buckets beside minutes). */
export const PARENT_BUCKETS = [
  ['hour', HOUR],
  ['day', DAY],
] as const;

/** One usage_rollups row as both stores return it (SQLite and PostgreSQL use the same column names and types). */
export interface RollupDbRow {
  granularity: string;
  bucket_start: number;
  dim: string;
  dim_value: string;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  unpriced: number;
  latency_sum_ms: number;
  latency_max_ms: number;
  peak_minute_requests: number;
  peak_minute_cost: number;
}

/** A bucket to add to (an upsert's values): counters plus its peak minute so far. */
export interface RollupUpsert extends RollupCounters {
  granularity: Granularity;
  bucketStart: number;
  dim: RollupDim;
  dimValue: string;
  peakRequests: number;
  peakCost: number;
}

/** A bucket's identity inside one batch. */
export const bucketId = (granularity: string, dim: string, dimValue: string, bucketStart: number): string => `${granularity}\0${dim}\0${dimValue}\0${bucketStart}`;

export function rollupFromRow(row: RollupDbRow): RollupRow {
  return {
    granularity: row.granularity as Granularity,
    bucketStart: row.bucket_start,
    dim: row.dim as RollupDim,
    dimValue: row.dim_value,
    requests: row.requests,
    errors: row.errors,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    cachedTokens: row.cached_tokens,
    reasoningTokens: row.reasoning_tokens,
    costUsd: row.cost_usd,
    unpriced: row.unpriced,
    latencySumMs: row.latency_sum_ms,
    latencyMaxMs: row.latency_max_ms,
    peakMinuteRequests: row.peak_minute_requests,
    peakMinuteCost: row.peak_minute_cost,
  };
}

/**
 * Adds one minute bucket's counters (the batch's delta, not its new total) to its hour and day buckets in `parents` (created empty on first use) and raises
 * their peak minute to the minute bucket's new total, as both stores fold a batch before upserting the parents.
 */
export function foldIntoParents(
  parents: Map<string, RollupUpsert>,
  minute: RollupCounters & { bucketStart: number; dim: RollupDim; dimValue: string },
  minuteTotal: { requests: number; cost_usd: number },
): void {
  const { dim, dimValue } = minute;
  for (const [granularity, size] of PARENT_BUCKETS) {
    const bucketStart = Math.floor(minute.bucketStart / size) * size;
    const id = bucketId(granularity, dim, dimValue, bucketStart);
    let parent = parents.get(id);
    if (!parent) {
      parent = { granularity, bucketStart, dim, dimValue, ...emptyCounters(), peakRequests: 0, peakCost: 0 };
      parents.set(id, parent);
    }
    addCounters(parent, minute);
    parent.peakRequests = Math.max(parent.peakRequests, minuteTotal.requests);
    parent.peakCost = Math.max(parent.peakCost, minuteTotal.cost_usd);
  }
}
