import type { Granularity, MinuteDelta, RollupDim, RollupQuery, RollupRepository, RollupRow, RollupTotal } from '../../monitor/repositories.js';
import { addCounters, emptyCounters } from '../../monitor/counters.js';
import type { PgDatabase, PgValue } from './pg-database.js';
import { bucketId, foldIntoParents, rollupFromRow, type RollupDbRow, type RollupUpsert } from '../rows/rollup-rows.js';

/** One statement for a whole batch of buckets (unique within the batch): 16 arrays, one per column. */
const UPSERT_SQL = `INSERT INTO usage_rollups AS r (granularity, bucket_start, dim, dim_value, requests, errors, prompt_tokens, completion_tokens,
    cached_tokens, reasoning_tokens, cost_usd, unpriced, latency_sum_ms, latency_max_ms, peak_minute_requests, peak_minute_cost)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],
    $9::bigint[], $10::bigint[], $11::double precision[], $12::bigint[], $13::double precision[], $14::double precision[],
    $15::bigint[], $16::double precision[])
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
  RETURNING dim, dim_value, bucket_start, requests, cost_usd`;

const SUM_SQL = `SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS "promptTokens",
  SUM(completion_tokens) AS "completionTokens", SUM(cached_tokens) AS "cachedTokens", SUM(reasoning_tokens) AS "reasoningTokens",
  SUM(cost_usd) AS "costUsd", SUM(unpriced) AS unpriced, SUM(latency_sum_ms) AS "latencySumMs", MAX(latency_max_ms) AS "latencyMaxMs"`;

/** $6: a list of values (a page of keys), each read by the primary key; ignored when $3 names one value. */
const FILTER = `WHERE granularity = $1 AND dim = $2 AND ($3::text IS NULL OR dim_value = $3)
  AND ($4::bigint IS NULL OR bucket_start >= $4) AND ($5::bigint IS NULL OR bucket_start < $5)
  AND ($3::text IS NOT NULL OR $6::text[] IS NULL OR dim_value = ANY($6::text[]))`;

function bind(query: RollupQuery): PgValue[] {
  return [query.granularity, query.dim, query.dimValue ?? null, query.since ?? null, query.until ?? null, query.dimValues ?? null];
}

/** The batch as column arrays, in UPSERT_SQL's parameter order. */
function upsertColumns(rows: readonly RollupUpsert[]): PgValue[] {
  return [
    rows.map((u) => u.granularity),
    rows.map((u) => u.bucketStart),
    rows.map((u) => u.dim),
    rows.map((u) => u.dimValue),
    rows.map((u) => u.requests),
    rows.map((u) => u.errors),
    rows.map((u) => u.promptTokens),
    rows.map((u) => u.completionTokens),
    rows.map((u) => u.cachedTokens),
    rows.map((u) => u.reasoningTokens),
    rows.map((u) => u.costUsd),
    rows.map((u) => u.unpriced),
    rows.map((u) => u.latencySumMs),
    rows.map((u) => u.latencyMaxMs),
    rows.map((u) => u.peakRequests),
    rows.map((u) => u.peakCost),
  ];
}

/**
 * Rollups in one table, as in the SQLite store: minute deltas are upserted, and each minute's new total
 * (RETURNING) feeds the enclosing hour and day buckets' peak-minute columns, all in one transaction per batch.
 * Row locks taken by the upserts serialise two replicas adding to the same bucket.
 */
export class PgRollupRepository implements RollupRepository {
  constructor(private readonly db: PgDatabase) {}

  /**
   * Two statements per batch, whatever its size: the minute buckets (deltas for one bucket merged first, which
   * ends at the same totals as adding them one by one), then the hour and day buckets, whose peak minute comes from
   * the minute totals the first statement returned.
   */
  async apply(deltas: readonly MinuteDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const minutes = new Map<string, RollupUpsert>();
    for (const delta of deltas) {
      const { minuteStart, dim, dimValue, ...counters } = delta;
      const id = bucketId('minute', dim, dimValue, minuteStart);
      const minute = minutes.get(id);
      if (minute) addCounters(minute, counters);
      else minutes.set(id, { granularity: 'minute', bucketStart: minuteStart, dim, dimValue, ...emptyCounters(), ...counters, peakRequests: 0, peakCost: 0 });
    }
    for (const minute of minutes.values()) {
      minute.peakRequests = minute.requests;
      minute.peakCost = minute.costUsd;
    }
    await this.db.transaction(async () => {
      const totals = await this.db.rows<{ dim: string; dim_value: string; bucket_start: number; requests: number; cost_usd: number }>(
        UPSERT_SQL,
        upsertColumns([...minutes.values()]),
      );
      const totalOf = new Map(totals.map((t) => [bucketId('minute', t.dim, t.dim_value, t.bucket_start), t]));
      const parents = new Map<string, RollupUpsert>();
      for (const [id, minute] of minutes) {
        const total = totalOf.get(id);
        if (!total) continue;
        foldIntoParents(parents, minute, total);
      }
      if (parents.size > 0) await this.db.query(UPSERT_SQL, upsertColumns([...parents.values()]));
    });
  }

  async series(query: RollupQuery): Promise<RollupRow[]> {
    const rows = await this.db.rows<RollupDbRow>(`SELECT * FROM usage_rollups ${FILTER} ORDER BY bucket_start, dim_value COLLATE "C"`, bind(query));
    return rows.map(rollupFromRow);
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
