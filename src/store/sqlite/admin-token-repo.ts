import type { AdminTokenRecord, AdminTokenRepository } from '../types.js';
import type { SqliteDatabase } from './database.js';
import type { AdminTokenRow } from '../rows/admin-token-rows.js';
import { fromRow } from '../rows/admin-token-rows.js';

export class SqliteAdminTokenRepository implements AdminTokenRepository {
  private readonly insertStmt;
  private readonly byHashStmt;
  private readonly byIdStmt;
  private readonly listStmt;
  private readonly countStmt;
  private readonly revokeStmt;
  private readonly touchStmt;

  constructor(db: SqliteDatabase) {
    this.insertStmt = db.prepare(
      `INSERT INTO admin_tokens (id, name, hash, last4, role, created_at, expires_at, last_used_at, revoked_at, project_id)
       VALUES (@id, @name, @hash, @last4, @role, @createdAt, @expiresAt, @lastUsedAt, @revokedAt, @projectId)`,
    );
    this.byHashStmt = db.prepare<[string], AdminTokenRow>('SELECT * FROM admin_tokens WHERE hash = ?');
    this.byIdStmt = db.prepare<[string], AdminTokenRow>('SELECT * FROM admin_tokens WHERE id = ?');
    this.listStmt = db.prepare<[], AdminTokenRow>('SELECT * FROM admin_tokens ORDER BY created_at, id');
    this.countStmt = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM admin_tokens');
    this.revokeStmt = db.prepare<[number, string]>('UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
    this.touchStmt = db.prepare<[number, string]>('UPDATE admin_tokens SET last_used_at = ? WHERE id = ?');
  }

  insert(record: AdminTokenRecord): Promise<void> {
    this.insertStmt.run({ ...record, projectId: record.projectId ?? null });
    return Promise.resolve();
  }

  findByHash(hash: string): Promise<AdminTokenRecord | null> {
    const row = this.byHashStmt.get(hash);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  get(id: string): Promise<AdminTokenRecord | null> {
    const row = this.byIdStmt.get(id);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  list(): Promise<AdminTokenRecord[]> {
    return Promise.resolve(this.listStmt.all().map(fromRow));
  }

  count(): Promise<number> {
    return Promise.resolve(this.countStmt.get()?.n ?? 0);
  }

  revoke(id: string, now: number): Promise<AdminTokenRecord | null> {
    this.revokeStmt.run(now, id);
    return this.get(id);
  }

  touch(id: string, now: number): Promise<void> {
    this.touchStmt.run(now, id);
    return Promise.resolve();
  }
}
