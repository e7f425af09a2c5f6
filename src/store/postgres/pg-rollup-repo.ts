import type { Granularity, MinuteDelta, RollupCounters, RollupDim, RollupQuery, RollupRepository, RollupRow, RollupTotal } from '../../monitor/repositories.js';
import { addCounters, emptyCounters } from '../../monitor/counters.js';
import type { PgDatabase, PgValue } from './pg-database.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Row {
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

interface Upsert extends RollupCounters {
  granularity: Granularity;
  bucketStart: number;
  dim: RollupDim;
  dimValue: string;
  peakRequests: number;
  peakCost: number;
}

const UPSERT_SQL = `INSERT INTO usage_rollups AS r (granularity, bucket_start, dim, dim_value, requests, errors, prompt_tokens, completion_tokens,
    cached_tokens, reasoning_tokens, cost_usd, unpriced, latency_sum_ms, latency_max_ms, peak_minute_requests, peak_minute_cost)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
  ON CONFLICT (granularity, dim, dim_value, bucket_start) DO UPDATE SET
    requests = r.requests + excluded.requests, errors = r.errors + excluded.errors,
    prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens,
    cached_tokens = r.cached_tokens + excluded.cached_tokens, reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens,
    cost_usd = r.cost_usd + excluded.cost_usd, unpriced = r.unpriced + excluded.unpriced,
    latency_sum_ms = r.latency_sum_ms + excluded.latency_sum_ms, latency_max_ms = GREATEST(r.latency_max_ms, excluded.latency_max_ms),
    peak_minute_requests = CASE WHEN r.granularity = 'minute' THEN r.requests + excluded.requests
      ELSE GREATEST(r.peak_minute_requests, excluded.peak_minute_requests) END,
    peak_minute_cost = CASE WHEN r.granularity = 'minute' THEN r.cost_usd + excluded.cost_usd
      ELSE GREATEST(r.peak_minute_cost, excluded.peak_minute_cost) END
  RETURNING requests, cost_usd`;

const SUM_SQL = `SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS "promptTokens",
  SUM(completion_tokens) AS "completionTokens", SUM(cached_tokens) AS "cachedTokens", SUM(reasoning_tokens) AS "reasoningTokens",
  SUM(cost_usd) AS "costUsd", SUM(unpriced) AS unpriced, SUM(latency_sum_ms) AS "latencySumMs", MAX(latency_max_ms) AS "latencyMaxMs"`;

const FILTER = `WHERE granularity = $1 AND dim = $2 AND ($3::text IS NULL OR dim_value = $3)
  AND ($4::bigint IS NULL OR bucket_start >= $4) AND ($5::bigint IS NULL OR bucket_start < $5)`;

function bind(query: RollupQuery): PgValue[] {
  return [query.granularity, query.dim, query.dimValue ?? null, query.since ?? null, query.until ?? null];
}

function upsertValues(u: Upsert): PgValue[] {
  return [
    u.granularity,
    u.bucketStart,
    u.dim,
    u.dimValue,
    u.requests,
    u.errors,
    u.promptTokens,
    u.completionTokens,
    u.cachedTokens,
    u.reasoningTokens,
    u.costUsd,
    u.unpriced,
    u.latencySumMs,
    u.latencyMaxMs,
    u.peakRequests,
    u.peakCost,
  ];
}

/**
 * Rollups in one table, as in the SQLite store: minute deltas are upserted, and each minute's new total
 * (RETURNING) feeds the enclosing hour and day buckets' peak-minute columns, all in one transaction per batch.
 * Row locks taken by the upserts serialise two replicas adding to the same bucket.
 */
export class PgRollupRepository implements RollupRepository {
  constructor(private readonly db: PgDatabase) {}

  async apply(deltas: readonly MinuteDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    await this.db.transaction(async () => {
      const parents = new Map<string, Upsert>();
      for (const delta of deltas) {
        const { minuteStart, dim, dimValue, ...counters } = delta;
        const minute: Upsert = { granularity: 'minute', bucketStart: minuteStart, dim, dimValue, ...counters, peakRequests: delta.requests, peakCost: delta.costUsd };
        const total = (await this.db.one<{ requests: number; cost_usd: number }>(UPSERT_SQL, upsertValues(minute))) as { requests: number; cost_usd: number };
        for (const [granularity, size] of [['hour', HOUR], ['day', DAY]] as const) {
          const bucketStart = Math.floor(minuteStart / size) * size;
          const id = `${granularity}\0${dim}\0${dimValue}\0${bucketStart}`;
          let parent = parents.get(id);
          if (!parent) {
            parent = { granularity, bucketStart, dim, dimValue, ...emptyCounters(), peakRequests: 0, peakCost: 0 };
            parents.set(id, parent);
          }
          addCounters(parent, counters);
          parent.peakRequests = Math.max(parent.peakRequests, total.requests);
          parent.peakCost = Math.max(parent.peakCost, total.cost_usd);
        }
      }
      for (const parent of parents.values()) await this.db.query(UPSERT_SQL, upsertValues(parent));
    });
  }

  async series(query: RollupQuery): Promise<RollupRow[]> {
    const rows = await this.db.rows<Row>(`SELECT * FROM usage_rollups ${FILTER} ORDER BY bucket_start, dim_value COLLATE "C"`, bind(query));
    return rows.map((row) => ({
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
    }));
  }

  async totals(query: RollupQuery): Promise<RollupTotal[]> {
    return this.db.rows<RollupTotal>(
      `SELECT dim_value AS "dimValue", ${SUM_SQL} FROM usage_rollups ${FILTER} GROUP BY dim_value
       ORDER BY "costUsd" DESC, requests DESC, dim_value COLLATE "C"`,
      bind(query),
    );
  }

  async firstActivity(dim: RollupDim, dimValue: string): Promise<number | null> {
    const row = await this.db.one<{ first: number | null }>(
      "SELECT MIN(bucket_start) AS first FROM usage_rollups WHERE granularity = 'day' AND dim = $1 AND dim_value = $2",
      [dim, dimValue],
    );
    return row?.first ?? null;
  }

  async prune(granularity: Granularity, before: number): Promise<number> {
    return (await this.db.query('DELETE FROM usage_rollups WHERE granularity = $1 AND bucket_start < $2', [granularity, before])).rowCount ?? 0;
  }
}
