import type { ObjectKind, ObjectRepository, OwnedObjectRecord } from '../types.js';
import type { SqliteDatabase } from './database.js';

interface ObjectRow {
  kind: string;
  id: string;
  owner_key_id: string;
  upstream_id: string | null;
  created_at: number;
}

function fromRow(row: ObjectRow): OwnedObjectRecord {
  return {
    kind: row.kind as ObjectKind,
    id: row.id,
    ownerKeyId: row.owner_key_id,
    upstreamId: row.upstream_id,
    createdAt: row.created_at,
  };
}

const DEFAULT_LIST_LIMIT = 1000;

export class SqliteObjectRepository implements ObjectRepository {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly byOwnerStmt;
  private readonly byOwnerKindStmt;

  constructor(db: SqliteDatabase) {
    // OR IGNORE: the first owner of an id keeps it; a second "creation" of the same id (a replaying or hostile
    // upstream) must not hand the object to another key.
    this.insertStmt = db.prepare(
      'INSERT OR IGNORE INTO owned_objects (kind, id, owner_key_id, upstream_id, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.getStmt = db.prepare<[string, string], ObjectRow>('SELECT * FROM owned_objects WHERE kind = ? AND id = ?');
    this.byOwnerStmt = db.prepare<[string, number], ObjectRow>(
      'SELECT * FROM owned_objects WHERE owner_key_id = ? ORDER BY created_at DESC, id DESC LIMIT ?',
    );
    this.byOwnerKindStmt = db.prepare<[string, string, number], ObjectRow>(
      'SELECT * FROM owned_objects WHERE owner_key_id = ? AND kind = ? ORDER BY created_at DESC, id DESC LIMIT ?',
    );
  }

  insert(record: OwnedObjectRecord): Promise<void> {
    this.insertStmt.run(record.kind, record.id, record.ownerKeyId, record.upstreamId, record.createdAt);
    return Promise.resolve();
  }

  get(kind: ObjectKind, id: string): Promise<OwnedObjectRecord | null> {
    const row = this.getStmt.get(kind, id);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  listByOwner(ownerKeyId: string, kind?: ObjectKind, limit = DEFAULT_LIST_LIMIT): Promise<OwnedObjectRecord[]> {
    const rows = kind === undefined ? this.byOwnerStmt.all(ownerKeyId, limit) : this.byOwnerKindStmt.all(ownerKeyId, kind, limit);
    return Promise.resolve(rows.map(fromRow));
  }
}
