import type { AdminTokenRecord, AdminTokenRepository } from '../types.js';
import type { PgDatabase } from './pg-database.js';
import type { AdminTokenRow } from '../rows/admin-token-rows.js';
import { fromRow } from '../rows/admin-token-rows.js';

export class PgAdminTokenRepository implements AdminTokenRepository {
  constructor(private readonly db: PgDatabase) {}

  async insert(r: AdminTokenRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO admin_tokens (id, name, hash, last4, role, created_at, expires_at, last_used_at, revoked_at, project_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [r.id, r.name, r.hash, r.last4, r.role, r.createdAt, r.expiresAt, r.lastUsedAt, r.revokedAt, r.projectId ?? null],
    );
  }

  async findByHash(hash: string): Promise<AdminTokenRecord | null> {
    const row = await this.db.one<AdminTokenRow>('SELECT * FROM admin_tokens WHERE hash = $1', [hash]);
    return row ? fromRow(row) : null;
  }

  async get(id: string): Promise<AdminTokenRecord | null> {
    const row = await this.db.one<AdminTokenRow>('SELECT * FROM admin_tokens WHERE id = $1', [id]);
    return row ? fromRow(row) : null;
  }

  async list(): Promise<AdminTokenRecord[]> {
    return (await this.db.rows<AdminTokenRow>('SELECT * FROM admin_tokens ORDER BY created_at, id')).map(fromRow);
  }

  async count(): Promise<number> {
    return (await this.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM admin_tokens'))?.n ?? 0;
  }

  async revoke(id: string, now: number): Promise<AdminTokenRecord | null> {
    await this.db.query('UPDATE admin_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [now, id]);
    return this.get(id);
  }

  async touch(id: string, now: number): Promise<void> {
    await this.db.query('UPDATE admin_tokens SET last_used_at = $1 WHERE id = $2', [now, id]);
  }
}
