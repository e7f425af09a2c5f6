import type { MetaRepository } from '../types.js';
import type { SqliteDatabase } from './database.js';

export class SqliteMetaRepository implements MetaRepository {
  private readonly getStmt;
  private readonly setStmt;

  constructor(db: SqliteDatabase) {
    this.getStmt = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?');
    this.setStmt = db.prepare<[string, string]>(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
    );
  }

  get(name: string): Promise<string | null> {
    return Promise.resolve(this.getStmt.get(name)?.value ?? null);
  }

  set(name: string, value: string): Promise<void> {
    this.setStmt.run(name, value);
    return Promise.resolve();
  }
}
