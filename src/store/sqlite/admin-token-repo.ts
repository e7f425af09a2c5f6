import type { AdminTokenRecord, AdminTokenRepository } from '../types.js';
import type { SqliteDatabase } from './database.js';

interface AdminTokenRow {
  id: string;
  name: string;
  hash: string;
  last4: string;
  created_at: number;
  revoked_at: number | null;
}

function fromRow(row: AdminTokenRow): AdminTokenRecord {
  return {
    id: row.id,
    name: row.name,
    hash: row.hash,
    last4: row.last4,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

export class SqliteAdminTokenRepository implements AdminTokenRepository {
  private readonly insertStmt;
  private readonly byHashStmt;
  private readonly listStmt;
  private readonly countStmt;

  constructor(db: SqliteDatabase) {
    this.insertStmt = db.prepare(
      'INSERT INTO admin_tokens (id, name, hash, last4, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.byHashStmt = db.prepare<[string], AdminTokenRow>('SELECT * FROM admin_tokens WHERE hash = ?');
    this.listStmt = db.prepare<[], AdminTokenRow>('SELECT * FROM admin_tokens ORDER BY created_at, id');
    this.countStmt = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM admin_tokens');
  }

  insert(record: AdminTokenRecord): Promise<void> {
    this.insertStmt.run(record.id, record.name, record.hash, record.last4, record.createdAt, record.revokedAt);
    return Promise.resolve();
  }

  findByHash(hash: string): Promise<AdminTokenRecord | null> {
    const row = this.byHashStmt.get(hash);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  list(): Promise<AdminTokenRecord[]> {
    return Promise.resolve(this.listStmt.all().map(fromRow));
  }

  count(): Promise<number> {
    return Promise.resolve(this.countStmt.get()?.n ?? 0);
  }
}
