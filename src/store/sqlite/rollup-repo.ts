import type {
  Granularity,
  MinuteDelta,
  RollupDim,
  RollupQuery,
  RollupRepository,
  RollupRow,
  RollupTotal,
} from '../../monitor/repositories.js';
import { foldIntoParents, rollupFromRow, type RollupDbRow, type RollupUpsert } from '../rows/rollup-rows.js';
import type { SqliteDatabase } from './database.js';

const SUM_SQL = `SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS promptTokens,
  SUM(completion_tokens) AS completionTokens, SUM(cached_tokens) AS cachedTokens, SUM(reasoning_tokens) AS reasoningTokens,
  SUM(cost_usd) AS costUsd, SUM(unpriced) AS unpriced, SUM(latency_sum_ms) AS latencySumMs, MAX(latency_max_ms) AS latencyMaxMs`;

/**
 * Plain range conditions, one statement with and one without a dimension value: an `(@x IS NULL OR col = @x)`
 * filter cannot use the (granularity, dim, dim_value, bucket_start) key, so every read scanned the whole dimension
 * (every key's buckets for all time). Absent bounds are bound as the widest numbers instead of NULL.
 */
const FILTER_ANY = `WHERE granularity = @granularity AND dim = @dim AND bucket_start >= @since AND bucket_start < @until`;
const FILTER_ONE = `WHERE granularity = @granularity AND dim = @dim AND dim_value = @dimValue AND bucket_start >= @since AND bucket_start < @until`;
/** A list of values (JSON array): one primary-key range per value. */
const FILTER_MANY = `WHERE granularity = @granularity AND dim = @dim AND dim_value IN (SELECT value FROM json_each(@dimValues))
  AND bucket_start >= @since AND bucket_start < @until`;

type FilterKind = 'any' | 'one' | 'many';

function filterKind(query: RollupQuery): FilterKind {
  if (query.dimValue !== undefined) return 'one';
  return query.dimValues === undefined ? 'any' : 'many';
}

function bind(query: RollupQuery): Record<string, string | number> {
  return {
    granularity: query.granularity,
    dim: query.dim,
    ...(query.dimValue === undefined ? {} : { dimValue: query.dimValue }),
    ...(query.dimValue !== undefined || query.dimValues === undefined ? {} : { dimValues: JSON.stringify(query.dimValues) }),
    since: query.since ?? Number.MIN_SAFE_INTEGER,
    until: query.until ?? Number.MAX_SAFE_INTEGER,
  };
}

/**
 * Rollups in one table. Minute deltas are upserted, and each minute's new total (RETURNING) feeds the enclosing
 * hour and day buckets' peak-minute columns, all in one transaction per batch.
 */
export class SqliteRollupRepository implements RollupRepository {
  private readonly applyTx;
  private readonly seriesStmt;
  private readonly totalsStmt;
  private readonly firstStmt;
  private readonly pruneStmt;

  constructor(db: SqliteDatabase) {
    const upsert = db.prepare<Record<string, string | number>, { requests: number; cost_usd: number }>(
      `INSERT INTO usage_rollups (granularity, bucket_start, dim, dim_value, requests, errors, prompt_tokens, completion_tokens,
        cached_tokens, reasoning_tokens, cost_usd, unpriced, latency_sum_ms, latency_max_ms, peak_minute_requests, peak_minute_cost)
       VALUES (@granularity, @bucketStart, @dim, @dimValue, @requests, @errors, @promptTokens, @completionTokens, @cachedTokens,
        @reasoningTokens, @costUsd, @unpriced, @latencySumMs, @latencyMaxMs, @peakRequests, @peakCost)
       ON CONFLICT (granularity, dim, dim_value, bucket_start) DO UPDATE SET
        requests = requests + excluded.requests, errors = errors + excluded.errors,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens,
        cached_tokens = cached_tokens + excluded.cached_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
        cost_usd = cost_usd + excluded.cost_usd, unpriced = unpriced + excluded.unpriced,
        latency_sum_ms = latency_sum_ms + excluded.latency_sum_ms, latency_max_ms = MAX(latency_max_ms, excluded.latency_max_ms),
        peak_minute_requests = CASE WHEN granularity = 'minute' THEN requests + excluded.requests
          ELSE MAX(peak_minute_requests, excluded.peak_minute_requests) END,
        peak_minute_cost = CASE WHEN granularity = 'minute' THEN cost_usd + excluded.cost_usd
          ELSE MAX(peak_minute_cost, excluded.peak_minute_cost) END
       RETURNING requests, cost_usd`,
    );
    const run = (u: RollupUpsert) => upsert.get({ ...u }) as { requests: number; cost_usd: number };
    this.applyTx = db.transaction((deltas: readonly MinuteDelta[]) => {
      const parents = new Map<string, RollupUpsert>();
      for (const delta of deltas) {
        const { minuteStart, ...rest } = delta;
        const minute: RollupUpsert = { granularity: 'minute', bucketStart: minuteStart, ...rest, peakRequests: delta.requests, peakCost: delta.costUsd };
        foldIntoParents(parents, minute, run(minute));
      }
      for (const parent of parents.values()) run(parent);
    });
    const series = (filter: string) => db.prepare<Record<string, string | number>, RollupDbRow>(`SELECT * FROM usage_rollups ${filter} ORDER BY bucket_start, dim_value`);
    const totals = (filter: string) =>
      db.prepare<Record<string, string | number>, RollupTotal>(
        `SELECT dim_value AS dimValue, ${SUM_SQL} FROM usage_rollups ${filter} GROUP BY dim_value ORDER BY costUsd DESC, requests DESC, dim_value`,
      );
    this.seriesStmt = { any: series(FILTER_ANY), one: series(FILTER_ONE), many: series(FILTER_MANY) };
    this.totalsStmt = { any: totals(FILTER_ANY), one: totals(FILTER_ONE), many: totals(FILTER_MANY) };
    this.firstStmt = db.prepare<[string, string], { first: number | null }>(
      "SELECT MIN(bucket_start) AS first FROM usage_rollups WHERE granularity = 'day' AND dim = ? AND dim_value = ?",
    );
    this.pruneStmt = db.prepare<[string, number]>('DELETE FROM usage_rollups WHERE granularity = ? AND bucket_start < ?');
  }

  apply(deltas: readonly MinuteDelta[]): Promise<void> {
    if (deltas.length > 0) this.applyTx(deltas);
    return Promise.resolve();
  }

  series(query: RollupQuery): Promise<RollupRow[]> {
    return Promise.resolve(
      this.seriesStmt[filterKind(query)].all(bind(query)).map(rollupFromRow),
    );
  }

  totals(query: RollupQuery): Promise<RollupTotal[]> {
    return Promise.resolve(this.totalsStmt[filterKind(query)].all(bind(query)));
  }

  firstActivity(dim: RollupDim, dimValue: string): Promise<number | null> {
    return Promise.resolve(this.firstStmt.get(dim, dimValue)?.first ?? null);
  }

  prune(granularity: Granularity, before: number): Promise<number> {
    return Promise.resolve(this.pruneStmt.run(granularity, before).changes);
  }
}
