import type { UpstreamKeyRecord, UpstreamPatch, UpstreamRecord, UpstreamRepository } from '../types.js';
import type { SqliteDatabase } from './database.js';
import { toJson } from './json-column.js';
import type { UpstreamRow } from '../rows/upstream-rows.js';
import { fromRow } from '../rows/upstream-rows.js';

export class SqliteUpstreamRepository implements UpstreamRepository {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly byNameStmt;
  private readonly listStmt;
  private readonly removeStmt;
  private readonly keysStmt;
  private readonly updateStmt;

  constructor(db: SqliteDatabase) {
    this.insertStmt = db.prepare(
      `INSERT INTO upstreams (id, name, provider, base_url, api_version, deployments, keys, is_default, created_at)
       VALUES (@id, @name, @provider, @base_url, @api_version, @deployments, @keys, @is_default, @created_at)`,
    );
    this.getStmt = db.prepare<[string], UpstreamRow>('SELECT * FROM upstreams WHERE id = ?');
    this.byNameStmt = db.prepare<[string], UpstreamRow>('SELECT * FROM upstreams WHERE name = ?');
    this.listStmt = db.prepare<[], UpstreamRow>('SELECT * FROM upstreams ORDER BY created_at, id');
    this.removeStmt = db.prepare<[string]>('DELETE FROM upstreams WHERE id = ?');
    this.keysStmt = db.prepare<[string, string]>('UPDATE upstreams SET keys = ? WHERE id = ?');
    this.updateStmt = db.prepare(
      `UPDATE upstreams SET name = @name, base_url = @base_url, api_version = @api_version, deployments = @deployments,
       is_default = @is_default WHERE id = @id`,
    );
  }

  insert(record: UpstreamRecord): Promise<void> {
    this.insertStmt.run({
      id: record.id,
      name: record.name,
      provider: record.provider,
      base_url: record.baseUrl,
      api_version: record.apiVersion,
      deployments: toJson(record.deployments),
      keys: toJson(record.keys),
      is_default: record.isDefault ? 1 : 0,
      created_at: record.createdAt,
    });
    return Promise.resolve();
  }

  get(id: string): Promise<UpstreamRecord | null> {
    const row = this.getStmt.get(id);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  getByName(name: string): Promise<UpstreamRecord | null> {
    const row = this.byNameStmt.get(name);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  list(): Promise<UpstreamRecord[]> {
    return Promise.resolve(this.listStmt.all().map(fromRow));
  }

  update(id: string, patch: UpstreamPatch): Promise<UpstreamRecord | null> {
    const row = this.getStmt.get(id);
    if (!row) return Promise.resolve(null);
    const next: UpstreamRecord = { ...fromRow(row), ...patch };
    this.updateStmt.run({
      id,
      name: next.name,
      base_url: next.baseUrl,
      api_version: next.apiVersion,
      deployments: toJson(next.deployments),
      is_default: next.isDefault ? 1 : 0,
    });
    return Promise.resolve(next);
  }

  remove(id: string): Promise<boolean> {
    return Promise.resolve(this.removeStmt.run(id).changes > 0);
  }

  replaceKeys(id: string, keys: UpstreamKeyRecord[]): Promise<void> {
    this.keysStmt.run(toJson(keys), id);
    return Promise.resolve();
  }
}
