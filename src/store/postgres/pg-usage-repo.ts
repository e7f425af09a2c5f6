import { USAGE_GROUPS, type UsageTotalsQuery, type UsageTotalsRow, type KeyLastUseRow, type UsageGroup, type UsageQuery, type UsageRecord, type UsageRepository, type UsageSummaryRow } from '../types.js';
import type { PgDatabase, PgValue } from './pg-database.js';
import type { UsageRow } from '../rows/usage-rows.js';
import { fromRow } from '../rows/usage-rows.js';
import { SUMMARY_SUMS_SQL, TOTALS_DIM_SQL, TOTALS_SUMS_SQL } from '../rows/usage-summary-sql.js';
import { pgArrayLiteral } from './pg-array-literal.js';


const COLUMNS = `id, ts, key_id, upstream_id, endpoint, model, status, stream, prompt_tokens, cached_tokens, completion_tokens,
  reasoning_tokens, cost_usd, price_missing, latency_ms, client_ip, error_code, upstream_key_id`;

/**
 * One statement per batch, whatever its size: the batch goes as 18 array literals (one per column) and unnest turns
 * them back into rows. DO NOTHING keeps a replayed record from failing the whole batch.
 */
const INSERT_SQL = `INSERT INTO usage (${COLUMNS})
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::integer[], $8::smallint[],
    $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::double precision[], $14::smallint[], $15::double precision[],
    $16::text[], $17::text[], $18::text[])
  ON CONFLICT (id) DO NOTHING`;

/** Each column's value of a record, in COLUMNS order: one array literal per column (pg-array-literal.ts). */
const INSERT_COLUMNS: ReadonlyArray<(r: UsageRecord) => string | number | null> = [
  (r) => r.id,
  (r) => r.ts,
  (r) => r.keyId,
  (r) => r.upstreamId,
  (r) => r.endpoint,
  (r) => r.model,
  (r) => r.status,
  (r) => (r.stream ? 1 : 0),
  (r) => r.promptTokens,
  (r) => r.cachedTokens,
  (r) => r.completionTokens,
  (r) => r.reasoningTokens,
  (r) => r.costUsd,
  (r) => (r.priceMissing ? 1 : 0),
  (r) => r.latencyMs,
  (r) => r.clientIp,
  (r) => r.errorCode,
  (r) => r.upstreamKeyId ?? null,
];

/** Batches larger than this are sent as several statements (a bound on one message's size). */
const INSERT_CHUNK = 5000;

/** Filter on $1 since, $2 until, $3 key id; later parameters start at $4. */
const FILTER = `WHERE ($1::bigint IS NULL OR ts >= $1) AND ($2::bigint IS NULL OR ts < $2) AND ($3::text IS NULL OR key_id = $3)`;

function bind(query: UsageQuery): PgValue[] {
  return [query.since ?? null, query.until ?? null, query.keyId ?? null];
}

/** Whitelisted SQL for each grouping dimension: user input never reaches the statement text. */
const GROUP_COLUMNS: Record<UsageGroup, string> = {
  key: 'key_id AS "keyId"',
  model: 'model',
  day: `to_char(to_timestamp(div(ts, 1000)) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day`,
};
/** SQLite sorts NULL first and compares text bytewise: the same order here. */
const GROUP_ORDER: Record<UsageGroup, string> = {
  key: 'key_id COLLATE "C"',
  model: 'model COLLATE "C" NULLS FIRST',
  day: 'day',
};
const GROUP_BY: Record<UsageGroup, string> = { key: 'key_id', model: 'model', day: 'day' };

export class PgUsageRepository implements UsageRepository {
  constructor(private readonly db: PgDatabase) {}

  /** Counted as UsageIntake counts into the rollups (errors: status >= 400 or 0), as the SQLite store does. */
  async totalsBy(query: UsageTotalsQuery): Promise<UsageTotalsRow[]> {
    return this.db.rows<UsageTotalsRow>(
      `SELECT ${TOTALS_DIM_SQL[query.dim]} AS "dimValue", ${TOTALS_SUMS_SQL}
       FROM usage WHERE ts >= $1 AND ts < $2 AND ($3::text IS NULL OR key_id = $3)
       GROUP BY 1`,
      [query.since, query.until, query.keyId ?? null],
    );
  }

  async recentForKey(keyId: string, limit: number): Promise<UsageRecord[]> {
    return (await this.db.rows<UsageRow>(`SELECT ${COLUMNS} FROM usage WHERE key_id = $1 ORDER BY ts DESC, id COLLATE "C" DESC LIMIT $2`, [keyId, limit])).map(fromRow);
  }

  async insertMany(records: readonly UsageRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += INSERT_CHUNK) {
      const chunk = records.slice(start, start + INSERT_CHUNK);
      await this.db.query(
        INSERT_SQL,
        INSERT_COLUMNS.map((valueOf) => pgArrayLiteral(chunk, valueOf)),
      );
    }
  }

  async list(query: UsageQuery): Promise<UsageRecord[]> {
    if (query.limit === undefined) {
      return (await this.db.rows<UsageRow>(`SELECT ${COLUMNS} FROM usage ${FILTER} ORDER BY ts, pos`, bind(query))).map(fromRow);
    }
    if (!query.after) {
      return (await this.db.rows<UsageRow>(`SELECT ${COLUMNS} FROM usage ${FILTER} ORDER BY ts, id COLLATE "C" LIMIT $4`, [...bind(query), query.limit])).map(fromRow);
    }
    return (
      await this.db.rows<UsageRow>(
        `SELECT ${COLUMNS} FROM usage ${FILTER} AND ts >= $5 AND (ts > $5 OR id COLLATE "C" > $6) ORDER BY ts, id COLLATE "C" LIMIT $4`,
        [...bind(query), query.limit, query.after.ts, query.after.id],
      )
    ).map(fromRow);
  }

  async summarize(query: UsageQuery, groupBy: readonly UsageGroup[] = USAGE_GROUPS): Promise<UsageSummaryRow[]> {
    const groups = USAGE_GROUPS.filter((g) => groupBy.includes(g));
    const rows = await this.db.rows<UsageSummaryRow & Record<string, unknown>>(
      `SELECT ${groups.map((g) => `${GROUP_COLUMNS[g]}, `).join('')} ${SUMMARY_SUMS_SQL}
       FROM usage ${FILTER}
       ${groups.length > 0 ? `GROUP BY ${groups.map((g) => GROUP_BY[g]).join(', ')} ORDER BY ${groups.map((g) => GROUP_ORDER[g]).join(', ')}` : ''}`,
      bind(query),
    );
    return rows;
  }

  /** One statement; each key's MAX is a backward seek of the (key_id, ts) index, whatever the table's size. */
  async lastUsedAt(keyIds: readonly string[]): Promise<KeyLastUseRow[]> {
    if (keyIds.length === 0) return [];
    return this.db.rows<KeyLastUseRow>(
      `SELECT k.id AS "keyId", (SELECT MAX(ts) FROM usage WHERE key_id = k.id) AS "lastUsedAt"
       FROM unnest($1::text[]) WITH ORDINALITY AS k(id, n) ORDER BY k.n`,
      [keyIds],
    );
  }

  async usedScopes(since: number): Promise<Array<{ keyId: string; endpoint: string; model: string | null }>> {
    return this.db.rows('SELECT DISTINCT key_id AS "keyId", endpoint, model FROM usage WHERE ts >= $1 AND status < 400', [since]);
  }
}
