import type { ObjectKind, ObjectRepository, OwnedObjectRecord } from '../types.js';
import type { PgDatabase } from './pg-database.js';

interface ObjectRow {
  kind: string;
  id: string;
  owner_key_id: string;
  upstream_id: string | null;
  created_at: number;
}

function fromRow(row: ObjectRow): OwnedObjectRecord {
  return { kind: row.kind as ObjectKind, id: row.id, ownerKeyId: row.owner_key_id, upstreamId: row.upstream_id, createdAt: row.created_at };
}

const DEFAULT_LIST_LIMIT = 1000;

export class PgObjectRepository implements ObjectRepository {
  constructor(private readonly db: PgDatabase) {}

  /** DO NOTHING: the first owner of an id keeps it, on every replica (the primary key decides, not a read). */
  async insert(r: OwnedObjectRecord): Promise<void> {
    await this.db.query(
      'INSERT INTO owned_objects (kind, id, owner_key_id, upstream_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
      [r.kind, r.id, r.ownerKeyId, r.upstreamId, r.createdAt],
    );
  }

  async get(kind: ObjectKind, id: string): Promise<OwnedObjectRecord | null> {
    const row = await this.db.one<ObjectRow>('SELECT * FROM owned_objects WHERE kind = $1 AND id = $2', [kind, id]);
    return row ? fromRow(row) : null;
  }

  async listByOwner(ownerKeyId: string, kind?: ObjectKind, limit = DEFAULT_LIST_LIMIT): Promise<OwnedObjectRecord[]> {
    const rows =
      kind === undefined
        ? await this.db.rows<ObjectRow>('SELECT * FROM owned_objects WHERE owner_key_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2', [ownerKeyId, limit])
        : await this.db.rows<ObjectRow>(
            'SELECT * FROM owned_objects WHERE owner_key_id = $1 AND kind = $2 ORDER BY created_at DESC, id DESC LIMIT $3',
            [ownerKeyId, kind, limit],
          );
    return rows.map(fromRow);
  }
}
