import type { SeenObservation, SeenRepository, SeenResult } from '../../monitor/repositories.js';
import type { SqliteDatabase } from './database.js';

/** What each key has used (models, client networks), for the first-use detectors and "unused key" checks. */
export class SqliteSeenRepository implements SeenRepository {
  private readonly observeTx;
  private readonly lastUsedStmt;
  private readonly epochStmt;

  constructor(db: SqliteDatabase) {
    const firstSeen = db.prepare<[string], { first: number | null }>('SELECT MIN(first_seen_at) AS first FROM monitor_seen WHERE key_id = ?');
    const insert = db.prepare<[string, string, string, number, number]>(
      'INSERT OR IGNORE INTO monitor_seen (key_id, kind, value, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)',
    );
    const touch = db.prepare<[number, number, string, string, string]>(
      `UPDATE monitor_seen SET first_seen_at = MIN(first_seen_at, ?), last_seen_at = MAX(last_seen_at, ?)
       WHERE key_id = ? AND kind = ? AND value = ?`,
    );
    this.observeTx = db.transaction((observations: readonly SeenObservation[]): SeenResult<SeenObservation> => {
      const keyFirstSeen = new Map<string, number>();
      // Read every key's history before inserting, so a key's first batch is recognised as its first.
      for (const keyId of new Set(observations.map((o) => o.keyId))) {
        const first = firstSeen.get(keyId)?.first;
        if (first !== null && first !== undefined) keyFirstSeen.set(keyId, first);
      }
      const fresh: SeenObservation[] = [];
      for (const o of observations) {
        if (insert.run(o.keyId, o.kind, o.value, o.firstTs, o.lastTs).changes === 1) fresh.push(o);
        else touch.run(o.firstTs, o.lastTs, o.keyId, o.kind, o.value);
      }
      return { fresh, keyFirstSeen };
    });
    this.lastUsedStmt = db.prepare<[], { keyId: string; last: number }>(
      'SELECT key_id AS keyId, MAX(last_seen_at) AS last FROM monitor_seen GROUP BY key_id',
    );
    this.epochStmt = db.prepare<[], { first: number | null }>('SELECT MIN(first_seen_at) AS first FROM monitor_seen');
  }

  observe<T extends SeenObservation>(observations: readonly T[]): Promise<SeenResult<T>> {
    if (observations.length === 0) return Promise.resolve({ fresh: [], keyFirstSeen: new Map() });
    // The transaction returns the very objects it was given, so their extra fields survive.
    return Promise.resolve(this.observeTx(observations) as SeenResult<T>);
  }

  lastUsed(): Promise<Map<string, number>> {
    return Promise.resolve(new Map(this.lastUsedStmt.all().map((row) => [row.keyId, row.last])));
  }

  epoch(): Promise<number | null> {
    return Promise.resolve(this.epochStmt.get()?.first ?? null);
  }
}
