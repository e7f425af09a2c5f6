import { toCsv } from '../util/csv.js';
import { KeywardenError } from '../errors/index.js';
import type { Granularity, RollupCounters, RollupRepository } from './repositories.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SIZE: Record<Granularity, number> = { minute: 60_000, hour: HOUR, day: DAY };

export type UsageGroupBy = 'key' | 'model' | 'upstream' | 'day' | 'hour' | 'minute';

export interface UsageReportQuery {
  groupBy: UsageGroupBy;
  since?: number;
  until?: number;
  keyId?: string;
}

export interface UsageReportRow {
  group: string;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  cost_usd: number;
  unpriced_requests: number;
  avg_latency_ms: number;
  max_latency_ms: number;
}

export interface UsageReport {
  group_by: UsageGroupBy;
  /** The bucket size the numbers come from: range edges are rounded out to it. */
  granularity: Granularity;
  rows: UsageReportRow[];
}

function row(group: string, c: RollupCounters): UsageReportRow {
  return {
    group,
    requests: c.requests,
    errors: c.errors,
    prompt_tokens: c.promptTokens,
    completion_tokens: c.completionTokens,
    cached_tokens: c.cachedTokens,
    reasoning_tokens: c.reasoningTokens,
    total_tokens: c.promptTokens + c.completionTokens,
    cost_usd: Math.round(c.costUsd * 1e6) / 1e6,
    unpriced_requests: c.unpriced,
    avg_latency_ms: c.requests > 0 ? Math.round((c.latencySumMs / c.requests) * 10) / 10 : 0,
    max_latency_ms: c.latencyMaxMs,
  };
}

/**
 * Usage from the rollups, grouped by a dimension (totals over the range) or by time (one row per bucket).
 * Totals use hour buckets while they are retained for the whole range, else day buckets.
 */
export async function usageReport(
  rollups: RollupRepository,
  query: UsageReportQuery,
  options: { now: number; hourRetentionMs: number },
): Promise<UsageReport> {
  const { groupBy, keyId } = query;
  if (groupBy === 'day' || groupBy === 'hour' || groupBy === 'minute') {
    const size = SIZE[groupBy];
    const series = await rollups.series({
      granularity: groupBy,
      dim: keyId ? 'key' : 'all',
      dimValue: keyId ?? '*',
      since: query.since === undefined ? undefined : query.since - (query.since % size),
      until: query.until,
    });
    return { group_by: groupBy, granularity: groupBy, rows: series.map((r) => row(new Date(r.bucketStart).toISOString(), r)) };
  }
  if (keyId !== undefined && groupBy !== 'key') {
    throw new KeywardenError('KW_VALIDATION', { message: 'key_id can be combined with group_by key, day, hour or minute only.', param: 'key_id' });
  }
  const granularity: Granularity = query.since !== undefined && query.since >= options.now - options.hourRetentionMs ? 'hour' : 'day';
  const size = SIZE[granularity];
  const totals = await rollups.totals({
    granularity,
    dim: groupBy,
    dimValue: keyId,
    since: query.since === undefined ? undefined : query.since - (query.since % size),
    until: query.until,
  });
  return { group_by: groupBy, granularity, rows: totals.map((t) => row(t.dimValue, t)) };
}

const CSV_COLUMNS: ReadonlyArray<keyof UsageReportRow> = [
  'group',
  'requests',
  'errors',
  'prompt_tokens',
  'completion_tokens',
  'cached_tokens',
  'reasoning_tokens',
  'total_tokens',
  'cost_usd',
  'unpriced_requests',
  'avg_latency_ms',
  'max_latency_ms',
];

/** The report as CSV (see util/csv.ts for quoting and formula neutralisation). */
export function usageReportCsv(report: UsageReport): string {
  return toCsv(
    [report.group_by, ...CSV_COLUMNS.slice(1)],
    report.rows.map((r) => CSV_COLUMNS.map((column) => r[column])),
  );
}
