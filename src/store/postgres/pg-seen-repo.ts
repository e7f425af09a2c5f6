import type { SeenObservation, SeenRepository, SeenResult } from '../../monitor/repositories.js';
import type { PgDatabase } from './pg-database.js';

/** What each key has used (models, client networks), for the first-use detectors and "unused key" checks. */
export class PgSeenRepository implements SeenRepository {
  constructor(private readonly db: PgDatabase) {}

  observe<T extends SeenObservation>(observations: readonly T[]): Promise<SeenResult<T>> {
    if (observations.length === 0) return Promise.resolve({ fresh: [], keyFirstSeen: new Map() });
    return this.db.transaction(async () => {
      const keyFirstSeen = new Map<string, number>();
      // Every key's history is read before inserting, so a key's first batch is recognised as its first.
      const keys = [...new Set(observations.map((o) => o.keyId))];
      const firsts = await this.db.rows<{ key_id: string; first: number }>(
        'SELECT key_id, MIN(first_seen_at) AS first FROM monitor_seen WHERE key_id = ANY($1::text[]) GROUP BY key_id',
        [keys],
      );
      for (const row of firsts) keyFirstSeen.set(row.key_id, row.first);
      const fresh: T[] = [];
      for (const o of observations) {
        // The primary key decides who inserted first, also between replicas observing the same value at once.
        const inserted = await this.db.query(
          'INSERT INTO monitor_seen (key_id, kind, value, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
          [o.keyId, o.kind, o.value, o.firstTs, o.lastTs],
        );
        if (inserted.rowCount === 1) fresh.push(o);
        else {
          await this.db.query(
            `UPDATE monitor_seen SET first_seen_at = LEAST(first_seen_at, $1), last_seen_at = GREATEST(last_seen_at, $2)
             WHERE key_id = $3 AND kind = $4 AND value = $5`,
            [o.firstTs, o.lastTs, o.keyId, o.kind, o.value],
          );
        }
      }
      return { fresh, keyFirstSeen };
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
