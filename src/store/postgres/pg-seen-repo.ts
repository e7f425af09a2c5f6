import type { SeenObservation, SeenRepository, SeenResult } from '../../monitor/repositories.js';
import type { PgDatabase } from './pg-database.js';

/** What each key has used (models, client networks), for the first-use detectors and "unused key" checks. */
export class PgSeenRepository implements SeenRepository {
  constructor(private readonly db: PgDatabase) {}

  /**
   * Three statements per batch: the keys' history, one INSERT … ON CONFLICT DO NOTHING RETURNING of every
   * (key, kind, value) in the batch (the primary key decides who saw a value first, also between replicas), and one
   * UPDATE widening the seen interval of those that were known. The first observation of a new value is "fresh",
   * as when the SQLite store inserts them one by one.
   */
  observe<T extends SeenObservation>(observations: readonly T[]): Promise<SeenResult<T>> {
    if (observations.length === 0) return Promise.resolve({ fresh: [], keyFirstSeen: new Map() });
    const merged = new Map<string, { first: T; firstTs: number; lastTs: number }>();
    for (const o of observations) {
      const id = `${o.keyId}\0${o.kind}\0${o.value}`;
      const seen = merged.get(id);
      if (seen) {
        seen.firstTs = Math.min(seen.firstTs, o.firstTs);
        seen.lastTs = Math.max(seen.lastTs, o.lastTs);
      } else merged.set(id, { first: o, firstTs: o.firstTs, lastTs: o.lastTs });
    }
    const rows = [...merged.values()];
    const columns = [rows.map((r) => r.first.keyId), rows.map((r) => r.first.kind), rows.map((r) => r.first.value), rows.map((r) => r.firstTs), rows.map((r) => r.lastTs)];
    return this.db.transaction(async () => {
      const keyFirstSeen = new Map<string, number>();
      const firsts = await this.db.rows<{ key_id: string; first: number }>(
        'SELECT key_id, MIN(first_seen_at) AS first FROM monitor_seen WHERE key_id = ANY($1::text[]) GROUP BY key_id',
        [[...new Set(observations.map((o) => o.keyId))]],
      );
      for (const row of firsts) keyFirstSeen.set(row.key_id, row.first);
      const inserted = await this.db.rows<{ key_id: string; kind: string; value: string }>(
        `INSERT INTO monitor_seen (key_id, kind, value, first_seen_at, last_seen_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
         ON CONFLICT DO NOTHING RETURNING key_id, kind, value`,
        columns,
      );
      const fresh = new Set(inserted.map((r) => `${r.key_id}\0${r.kind}\0${r.value}`));
      await this.db.query(
        `UPDATE monitor_seen AS m SET first_seen_at = LEAST(m.first_seen_at, o.first_ts), last_seen_at = GREATEST(m.last_seen_at, o.last_ts)
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS o(key_id, kind, value, first_ts, last_ts)
         WHERE m.key_id = o.key_id AND m.kind = o.kind AND m.value = o.value
           AND (o.key_id, o.kind, o.value) NOT IN (SELECT * FROM unnest($6::text[], $7::text[], $8::text[]))`,
        [...columns, inserted.map((r) => r.key_id), inserted.map((r) => r.kind), inserted.map((r) => r.value)],
      );
      return { fresh: [...merged.entries()].filter(([id]) => fresh.has(id)).map(([, r]) => r.first), keyFirstSeen };
    });
  }

  async lastUsed(): Promise<Map<string, number>> {
    const rows = await this.db.rows<{ key_id: string; last: number }>('SELECT key_id, MAX(last_seen_at) AS last FROM monitor_seen GROUP BY key_id');
    return new Map(rows.map((row) => [row.key_id, row.last]));
  }

  async epoch(): Promise<number | null> {
    return (await this.db.one<{ first: number | null }>('SELECT MIN(first_seen_at) AS first FROM monitor_seen'))?.first ?? null;
  }
}
