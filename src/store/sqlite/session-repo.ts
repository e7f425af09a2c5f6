import type { SessionPatch, SessionRecord, SessionRepository } from '../types.js';
import type { SqliteDatabase } from './database.js';
import type { SessionRow } from '../rows/session-rows.js';
import { fromRow } from '../rows/session-rows.js';


const PATCH_COLUMNS: Record<keyof SessionPatch, string> = { state: 'state', stepUpUntil: 'step_up_until', lastSeenAt: 'last_seen_at' };

export class SqliteSessionRepository implements SessionRepository {
  private readonly stmts;

  constructor(private readonly db: SqliteDatabase) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO user_sessions (id_hash, user_id, state, csrf_token, created_at, last_seen_at, expires_at, step_up_until, ip, user_agent, revoked_at)
         VALUES (@idHash, @userId, @state, @csrfToken, @createdAt, @lastSeenAt, @expiresAt, @stepUpUntil, @ip, @userAgent, @revokedAt)`,
      ),
      get: db.prepare<[string], SessionRow>('SELECT * FROM user_sessions WHERE id_hash = ?'),
      byUser: db.prepare<[string], SessionRow>('SELECT * FROM user_sessions WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at, id_hash'),
      remove: db.prepare<[string]>('DELETE FROM user_sessions WHERE id_hash = ?'),
      revoke: db.prepare<[number, string]>('UPDATE user_sessions SET revoked_at = ? WHERE id_hash = ? AND revoked_at IS NULL'),
      revokeAll: db.prepare<[number, string, string]>('UPDATE user_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id_hash <> ?'),
      prune: db.prepare<[number]>('DELETE FROM user_sessions WHERE expires_at < ?'),
    };
  }

  insert(record: SessionRecord): Promise<void> {
    this.stmts.insert.run(record);
    return Promise.resolve();
  }

  get(idHash: string): Promise<SessionRecord | null> {
    const row = this.stmts.get.get(idHash);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  listByUser(userId: string): Promise<SessionRecord[]> {
    return Promise.resolve(this.stmts.byUser.all(userId).map(fromRow));
  }

  update(idHash: string, patch: SessionPatch): Promise<void> {
    const entries = Object.entries(patch).filter(([, value]) => value !== undefined) as Array<[keyof SessionPatch, unknown]>;
    if (entries.length === 0) return Promise.resolve();
    const sets = entries.map(([field]) => `${PATCH_COLUMNS[field]} = ?`).join(', ');
    this.db.prepare(`UPDATE user_sessions SET ${sets} WHERE id_hash = ?`).run(...entries.map(([, value]) => value), idHash);
    return Promise.resolve();
  }

  replace(oldIdHash: string, next: SessionRecord): Promise<void> {
    this.db.transaction(() => {
      this.stmts.remove.run(oldIdHash);
      this.stmts.insert.run(next);
    })();
    return Promise.resolve();
  }

  revoke(idHash: string, now: number): Promise<boolean> {
    return Promise.resolve(this.stmts.revoke.run(now, idHash).changes === 1);
  }

  revokeAllForUser(userId: string, now: number, keep = ''): Promise<number> {
    return Promise.resolve(this.stmts.revokeAll.run(now, userId, keep).changes);
  }

  prune(before: number): Promise<void> {
    this.stmts.prune.run(before);
    return Promise.resolve();
  }
}
