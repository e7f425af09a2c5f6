import type { ProjectPatch, ProjectRecord, ProjectRepository } from '../types.js';
import type { SqliteDatabase } from './database.js';
import { toJson } from './json-column.js';
import type { ProjectRow } from '../rows/project-rows.js';
import { fromRow } from '../rows/project-rows.js';

function toRow(record: ProjectRecord): ProjectRow {
  return {
    id: record.id,
    name: record.name,
    models: toJson(record.models),
    limits: toJson(record.limits),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

export class SqliteProjectRepository implements ProjectRepository {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly byNameStmt;
  private readonly listStmt;
  private readonly replaceStmt;
  private readonly removeStmt;

  constructor(db: SqliteDatabase) {
    this.insertStmt = db.prepare('INSERT INTO projects (id, name, models, limits, created_at, updated_at) VALUES (@id, @name, @models, @limits, @created_at, @updated_at)');
    this.getStmt = db.prepare<[string], ProjectRow>('SELECT * FROM projects WHERE id = ?');
    this.byNameStmt = db.prepare<[string], ProjectRow>('SELECT * FROM projects WHERE name = ?');
    this.listStmt = db.prepare<[], ProjectRow>('SELECT * FROM projects ORDER BY created_at, id');
    this.replaceStmt = db.prepare('UPDATE projects SET name = @name, models = @models, limits = @limits, updated_at = @updated_at WHERE id = @id');
    this.removeStmt = db.prepare<[string]>('DELETE FROM projects WHERE id = ?');
  }

  insert(record: ProjectRecord): Promise<void> {
    this.insertStmt.run(toRow(record));
    return Promise.resolve();
  }

  get(id: string): Promise<ProjectRecord | null> {
    const row = this.getStmt.get(id);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  getByName(name: string): Promise<ProjectRecord | null> {
    const row = this.byNameStmt.get(name);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  list(): Promise<ProjectRecord[]> {
    return Promise.resolve(this.listStmt.all().map(fromRow));
  }

  update(id: string, patch: ProjectPatch, now: number): Promise<ProjectRecord | null> {
    const row = this.getStmt.get(id);
    if (!row) return Promise.resolve(null);
    const next: ProjectRecord = { ...fromRow(row), ...patch, updatedAt: Math.max(now, row.updated_at + 1) };
    this.replaceStmt.run(toRow(next));
    return Promise.resolve(next);
  }

  remove(id: string): Promise<boolean> {
    return Promise.resolve(this.removeStmt.run(id).changes > 0);
  }
}
