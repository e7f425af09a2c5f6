import type { UpstreamKeyRecord, UpstreamPatch, UpstreamRecord, UpstreamRepository } from '../types.js';
import { toJson } from '../sqlite/json-column.js';
import type { PgDatabase } from './pg-database.js';
import type { UpstreamRow } from '../rows/upstream-rows.js';
import { fromRow } from '../rows/upstream-rows.js';

export class PgUpstreamRepository implements UpstreamRepository {
  constructor(private readonly db: PgDatabase) {}

  async insert(r: UpstreamRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO upstreams (id, name, provider, base_url, api_version, deployments, keys, is_default, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [r.id, r.name, r.provider, r.baseUrl, r.apiVersion, toJson(r.deployments), toJson(r.keys), r.isDefault ? 1 : 0, r.createdAt],
    );
  }

  async get(id: string): Promise<UpstreamRecord | null> {
    const row = await this.db.one<UpstreamRow>('SELECT * FROM upstreams WHERE id = $1', [id]);
    return row ? fromRow(row) : null;
  }

  async getByName(name: string): Promise<UpstreamRecord | null> {
    const row = await this.db.one<UpstreamRow>('SELECT * FROM upstreams WHERE name = $1', [name]);
    return row ? fromRow(row) : null;
  }

  async list(): Promise<UpstreamRecord[]> {
    return (await this.db.rows<UpstreamRow>('SELECT * FROM upstreams ORDER BY created_at, id')).map(fromRow);
  }

  /** Read and write in one transaction with the row locked, so two replicas' patches never interleave. */
  update(id: string, patch: UpstreamPatch): Promise<UpstreamRecord | null> {
    return this.db.transaction(async () => {
      const row = await this.db.one<UpstreamRow>('SELECT * FROM upstreams WHERE id = $1 FOR UPDATE', [id]);
      if (!row) return null;
      const next: UpstreamRecord = { ...fromRow(row), ...patch };
      await this.db.query(
        'UPDATE upstreams SET name = $1, base_url = $2, api_version = $3, deployments = $4, is_default = $5 WHERE id = $6',
        [next.name, next.baseUrl, next.apiVersion, toJson(next.deployments), next.isDefault ? 1 : 0, id],
      );
      return next;
    });
  }

  async remove(id: string): Promise<boolean> {
    return ((await this.db.query('DELETE FROM upstreams WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async replaceKeys(id: string, keys: UpstreamKeyRecord[]): Promise<void> {
    await this.db.query('UPDATE upstreams SET keys = $1 WHERE id = $2', [toJson(keys), id]);
  }
}
