import type { KeyPageQuery, KeyPatch, KeyRepository, VirtualKeyRecord } from '../types.js';
import type { SqliteDatabase } from './database.js';
import { fromJson, toJson } from './json-column.js';
import type { KeyRow } from '../rows/key-rows.js';
import { COLUMNS, fromRow, frozen } from '../rows/key-rows.js';
import { WalChangeProbe } from './wal-change-probe.js';

function toRow(record: VirtualKeyRecord): KeyRow {
  return {
    id: record.id,
    name: record.name,
    hash: record.hash,
    last4: record.last4,
    previous_hash: record.previousHash,
    previous_hash_expires_at: record.previousHashExpiresAt,
    upstream_id: record.upstreamId,
    scopes: toJson(record.scopes),
    limits: toJson(record.limits),
    metadata: toJson(record.metadata),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    expires_at: record.expiresAt,
    revoked_at: record.revokedAt,
    suspended_at: record.suspendedAt,
    suspended_reason: record.suspendedReason,
    rotated_at: record.rotatedAt,
    project_id: record.projectId ?? null,
    fallback_upstream_ids: toJson(record.fallbackUpstreamIds),
    canary: record.canary === true ? 1 : 0,
    parent_id: record.parentId ?? null,
  };
}

/** A row as an array, in COLUMNS order: what the per-request lookup reads (see findByHash). */
type KeyTuple = [
  id: string,
  name: string,
  hash: string,
  last4: string,
  previousHash: string | null,
  previousHashExpiresAt: number | null,
  upstreamId: string | null,
  scopes: string,
  limits: string,
  metadata: string,
  createdAt: number,
  updatedAt: number,
  expiresAt: number | null,
  revokedAt: number | null,
  suspendedAt: number | null,
  suspendedReason: string | null,
  rotatedAt: number | null,
  projectId: string | null,
  fallbackUpstreamIds: string,
  canary: number,
  parentId: string | null,
];

function fromTuple(t: KeyTuple): VirtualKeyRecord {
  return {
    id: t[0],
    name: t[1],
    hash: t[2],
    last4: t[3],
    previousHash: t[4],
    previousHashExpiresAt: t[5],
    upstreamId: t[6],
    scopes: fromJson(t[7]),
    limits: fromJson(t[8]),
    metadata: fromJson(t[9]),
    createdAt: t[10],
    updatedAt: t[11],
    expiresAt: t[12],
    revokedAt: t[13],
    suspendedAt: t[14],
    suspendedReason: t[15],
    rotatedAt: t[16],
    projectId: t[17],
    fallbackUpstreamIds: fromJson(t[18]),
    canary: t[19] === 1,
    parentId: t[20],
  };
}

/** Lookups remembered between two database changes; any change (or this many keys) starts over. */
const MEMO_LIMIT = 10_000;

export class SqliteKeyRepository implements KeyRepository {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly byHashStmt;
  private readonly listStmt;
  private readonly pageStmt;
  private readonly replaceStmt;
  private readonly versionStmt;
  /** findByHash answers for the database version below (see findByHash). */
  private readonly memo = new Map<string, VirtualKeyRecord>();
  /** Writes to virtual_keys through this repository (the only writer on this connection). */
  private writes = 0;
  private memoWrites = -1;
  private memoDataVersion = -1;
  /** Spares the data_version query while no connection has committed anything (see findByHash). */
  private readonly commits: WalChangeProbe;

  constructor(private readonly db: SqliteDatabase) {
    this.commits = new WalChangeProbe(db.memory || db.name === '' ? null : db.name);
    this.insertStmt = db.prepare(
      `INSERT INTO virtual_keys (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`,
    );
    this.replaceStmt = db.prepare(
      `UPDATE virtual_keys SET ${COLUMNS.filter((c) => c !== 'id')
        .map((c) => `${c} = @${c}`)
        .join(', ')} WHERE id = @id`,
    );
    this.getStmt = db.prepare<[string], KeyRow>('SELECT * FROM virtual_keys WHERE id = ?');
    // Runs on every proxied request (the key is looked up each time, so a revocation applies to the next request).
    // Raw rows (arrays) with explicit columns: better-sqlite3 would otherwise build a 17-property object per row
    // only for fromRow to copy it.
    const columns = COLUMNS.join(', ');
    this.byHashStmt = db
      .prepare<[string, string], KeyTuple>(
        `SELECT ${columns} FROM virtual_keys WHERE hash = ? UNION ALL SELECT ${columns} FROM virtual_keys WHERE previous_hash = ? LIMIT 1`,
      )
      .raw(true);
    this.listStmt = db.prepare<[], KeyRow>('SELECT * FROM virtual_keys ORDER BY created_at, id');
    // Only the page's rows are parsed (fromRow's JSON columns are what a whole-table list pays for).
    // withBudgets: the LIKE skips the JSON parse for most keys; json_array_length is 0 for a non-array, NULL when absent.
    this.pageStmt = db.prepare<{ afterTs: number; afterId: string; project: string | null; budgeted: number; limit: number }, KeyRow>(
      `SELECT * FROM virtual_keys
       WHERE (created_at, id) > (@afterTs, @afterId)
         AND (@project IS NULL OR project_id = @project)
         AND (@budgeted = 0 OR (revoked_at IS NULL AND limits LIKE '%"budgets"%' AND json_array_length(limits, '$.budgets') > 0))
       ORDER BY created_at, id LIMIT @limit`,
    );
    this.versionStmt = db.prepare<[], number>('PRAGMA data_version').pluck(true);
  }

  insert(record: VirtualKeyRecord): Promise<void> {
    this.writes++;
    this.insertStmt.run(toRow(record));
    return Promise.resolve();
  }

  get(id: string): Promise<VirtualKeyRecord | null> {
    const row = this.getStmt.get(id);
    return Promise.resolve(row ? fromRow(row) : null);
  }

  /**
   * Runs on every proxied request, and must see every change at once (a revocation applies to the very next
   * request). Its answer is a function of the keys table only, so it is remembered for as long as that table
   * provably has not changed: this repository is the only writer of virtual_keys on this connection and counts its
   * writes, and data_version moves whenever another connection, e.g. another process, commits. (It used to watch
   * total_changes(), which every usage flush moves too, so the memo was dropped several times a second under load.)
   * data_version itself is asked only when the WAL-index header shows that some commit happened since the last
   * lookup (wal-change-probe.ts: one pread instead of a statement and two lock calls per request); this
   * connection's own usage and spend commits move that header too, and data_version then tells them apart.
   * Inside an open transaction nothing is remembered or answered from memory: what it reads may yet roll back.
   */
  findByHash(hash: string): Promise<VirtualKeyRecord | null> {
    return Promise.resolve(this.findByHashNow(hash));
  }

  /** findByHash without the promise: the embedded database always answers at once. */
  findByHashNow(hash: string): VirtualKeyRecord | null {
    if (this.db.inTransaction) {
      const row = this.byHashStmt.get(hash, hash);
      return row ? fromTuple(row) : null;
    }
    if (this.writes !== this.memoWrites) {
      this.commits.changed(); // the header as of now: this connection's own commits are accounted for below
      this.forget(this.versionStmt.get() as number);
    } else if (this.commits.changed()) {
      const dataVersion = this.versionStmt.get() as number;
      if (dataVersion !== this.memoDataVersion) this.forget(dataVersion);
    }
    const hit = this.memo.get(hash);
    if (hit) return { ...hit };
    const row = this.byHashStmt.get(hash, hash);
    if (!row) return null;
    const record = fromTuple(row);
    frozen(record.scopes);
    frozen(record.limits);
    frozen(record.metadata);
    frozen(record.fallbackUpstreamIds);
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(hash, record);
    return { ...record };
  }

  /** Drops every remembered lookup: the keys table may have changed. */
  private forget(dataVersion: number): void {
    this.memo.clear();
    this.memoWrites = this.writes;
    this.memoDataVersion = dataVersion;
  }

  /** Releases the `-shm` descriptor the change probe holds. */
  close(): void {
    this.commits.close();
  }

  list(): Promise<VirtualKeyRecord[]> {
    return Promise.resolve(this.listStmt.all().map(fromRow));
  }

  listPage(page: KeyPageQuery): Promise<VirtualKeyRecord[]> {
    // Without a position, one before every key: a row-value comparison is a range of the (created_at, id) index,
    // which an `IS NULL OR …` form is not.
    const params = {
      afterTs: page.after?.createdAt ?? Number.MIN_SAFE_INTEGER,
      afterId: page.after?.id ?? '',
      project: page.projectId ?? null,
      budgeted: page.withBudgets === true ? 1 : 0,
      limit: page.limit,
    };
    return Promise.resolve(this.pageStmt.all(params).map(fromRow));
  }

  update(id: string, patch: KeyPatch, now: number): Promise<VirtualKeyRecord | null> {
    const row = this.getStmt.get(id);
    if (!row) return Promise.resolve(null);
    // updatedAt strictly increases, so caches keyed on (id, updatedAt) see every change, even within 1 ms.
    const next: VirtualKeyRecord = { ...fromRow(row), ...patch, updatedAt: Math.max(now, row.updated_at + 1) };
    this.writes++;
    this.replaceStmt.run(toRow(next));
    return Promise.resolve(next);
  }
}
