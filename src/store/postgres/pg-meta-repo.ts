import type { MetaRepository } from '../types.js';
import type { PgDatabase } from './pg-database.js';

export class PgMetaRepository implements MetaRepository {
  constructor(private readonly db: PgDatabase) {}

  async get(name: string): Promise<string | null> {
    return (await this.db.one<{ value: string }>('SELECT value FROM meta WHERE name = $1', [name]))?.value ?? null;
  }

  async set(name: string, value: string): Promise<void> {
    await this.db.query('INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }
}
