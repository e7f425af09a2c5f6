import type { SessionPatch, SessionRecord, SessionRepository } from '../types.js';
import type { PgDatabase, PgValue } from './pg-database.js';
import type { SessionRow } from '../rows/session-rows.js';
import { fromRow } from '../rows/session-rows.js';


const PATCH_COLUMNS: Record<keyof SessionPatch, string> = { state: 'state', stepUpUntil: 'step_up_until', lastSeenAt: 'last_seen_at' };

const INSERT_SQL = `INSERT INTO user_sessions (id_hash, user_id, state, csrf_token, created_at, last_seen_at, expires_at, step_up_until, ip, user_agent, revoked_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;

function insertValues(r: SessionRecord): PgValue[] {
  return [r.idHash, r.userId, r.state, r.csrfToken, r.createdAt, r.lastSeenAt, r.expiresAt, r.stepUpUntil, r.ip, r.userAgent, r.revokedAt];
}

export class PgSessionRepository implements SessionRepository {
  constructor(private readonly db: PgDatabase) {}

  async insert(record: SessionRecord): Promise<void> {
    await this.db.query(INSERT_SQL, insertValues(record));
  }

  async get(idHash: string): Promise<SessionRecord | null> {
    const row = await this.db.one<SessionRow>('SELECT * FROM user_sessions WHERE id_hash = $1', [idHash]);
    return row ? fromRow(row) : null;
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    return (await this.db.rows<SessionRow>('SELECT * FROM user_sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, id_hash', [userId])).map(fromRow);
  }

  async update(idHash: string, patch: SessionPatch): Promise<void> {
    const entries = Object.entries(patch).filter(([, value]) => value !== undefined) as Array<[keyof SessionPatch, PgValue]>;
    if (entries.length === 0) return;
    const sets = entries.map(([field], i) => `${PATCH_COLUMNS[field]} = $${i + 1}`).join(', ');
    await this.db.query(`UPDATE user_sessions SET ${sets} WHERE id_hash = $${entries.length + 1}`, [...entries.map(([, value]) => value), idHash]);
  }

  async replace(oldIdHash: string, next: SessionRecord): Promise<void> {
    await this.db.transaction(async () => {
      await this.db.query('DELETE FROM user_sessions WHERE id_hash = $1', [oldIdHash]);
      await this.db.query(INSERT_SQL, insertValues(next));
    });
  }

  async revoke(idHash: string, now: number): Promise<boolean> {
    return (await this.db.query('UPDATE user_sessions SET revoked_at = $1 WHERE id_hash = $2 AND revoked_at IS NULL', [now, idHash])).rowCount === 1;
  }

  async revokeAllForUser(userId: string, now: number, keep = ''): Promise<number> {
    const result = await this.db.query('UPDATE user_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id_hash <> $3', [now, userId, keep]);
    return result.rowCount ?? 0;
  }

  async prune(before: number): Promise<void> {
    await this.db.query('DELETE FROM user_sessions WHERE expires_at < $1', [before]);
  }
}
