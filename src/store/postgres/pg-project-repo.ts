import type { ProjectPatch, ProjectRecord, ProjectRepository } from '../types.js';
import { toJson } from '../sqlite/json-column.js';
import type { PgDatabase } from './pg-database.js';
import type { ProjectRow } from '../rows/project-rows.js';
import { fromRow } from '../rows/project-rows.js';

export class PgProjectRepository implements ProjectRepository {
  constructor(private readonly db: PgDatabase) {}

  async insert(r: ProjectRecord): Promise<void> {
    await this.db.query('INSERT INTO projects (id, name, models, limits, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      r.id,
      r.name,
      toJson(r.models),
      toJson(r.limits),
      r.createdAt,
      r.updatedAt,
    ]);
  }

  async get(id: string): Promise<ProjectRecord | null> {
    const row = await this.db.one<ProjectRow>('SELECT * FROM projects WHERE id = $1', [id]);
    return row ? fromRow(row) : null;
  }

  async getByName(name: string): Promise<ProjectRecord | null> {
    const row = await this.db.one<ProjectRow>('SELECT * FROM projects WHERE name = $1', [name]);
    return row ? fromRow(row) : null;
  }

  async list(): Promise<ProjectRecord[]> {
    return (await this.db.rows<ProjectRow>('SELECT * FROM projects ORDER BY created_at, id')).map(fromRow);
  }

  /** Row locked from read to write: updatedAt strictly increases even when two replicas update at once. */
  update(id: string, patch: ProjectPatch, now: number): Promise<ProjectRecord | null> {
    return this.db.transaction(async () => {
      const row = await this.db.one<ProjectRow>('SELECT * FROM projects WHERE id = $1 FOR UPDATE', [id]);
      if (!row) return null;
      const next: ProjectRecord = { ...fromRow(row), ...patch, updatedAt: Math.max(now, row.updated_at + 1) };
      await this.db.query('UPDATE projects SET name = $1, models = $2, limits = $3, updated_at = $4 WHERE id = $5', [
        next.name,
        toJson(next.models),
        toJson(next.limits),
        next.updatedAt,
        id,
      ]);
      return next;
    });
  }

  async remove(id: string): Promise<boolean> {
    return ((await this.db.query('DELETE FROM projects WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }
}
