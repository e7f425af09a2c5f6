import { KeywardenError } from '../../errors/index.js';
import type { KeyPageQuery, KeyPatch, KeyRepository, VirtualKeyRecord } from '../types.js';
import { toJson } from '../sqlite/json-column.js';
import type { PgDatabase, PgValue } from './pg-database.js';
import type { PgKeyCache } from './pg-key-cache.js';
import type { KeyRow } from '../rows/key-rows.js';
import { COLUMNS, fromRow, frozen } from '../rows/key-rows.js';

function toValues(r: VirtualKeyRecord): PgValue[] {
  return [
    r.id,
    r.name,
    r.hash,
    r.last4,
    r.previousHash,
    r.previousHashExpiresAt,
    r.upstreamId,
    toJson(r.scopes),
    toJson(r.limits),
    toJson(r.metadata),
    r.createdAt,
    r.updatedAt,
    r.expiresAt,
    r.revokedAt,
    r.suspendedAt,
    r.suspendedReason,
    r.rotatedAt,
    r.projectId ?? null,
    toJson(r.fallbackUpstreamIds),
    r.canary === true ? 1 : 0,
    r.parentId ?? null,
  ];
}

const INSERT_SQL = `INSERT INTO virtual_keys (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;
const REPLACE_SQL = `UPDATE virtual_keys SET ${COLUMNS.slice(1)
  .map((c, i) => `${c} = $${i + 2}`)
  .join(', ')} WHERE id = $1`;
const BY_HASH_SQL = `SELECT * FROM virtual_keys WHERE hash = $1 UNION ALL SELECT * FROM virtual_keys WHERE previous_hash = $1 LIMIT 1`;

/**
 * Virtual keys in PostgreSQL. findByHash runs on every proxied request; its answers are remembered in `cache`,
 * which every replica empties when any key changes (LISTEN/NOTIFY plus a version check, see pg-key-cache.ts).
 */
export class PgKeyRepository implements KeyRepository {
  constructor(
    private readonly db: PgDatabase,
    private readonly cache: PgKeyCache,
  ) {}

  async insert(record: VirtualKeyRecord): Promise<void> {
    await this.db.query(INSERT_SQL, toValues(record));
    this.cache.changedHere();
  }

  async get(id: string): Promise<VirtualKeyRecord | null> {
    const row = await this.db.one<KeyRow>('SELECT * FROM virtual_keys WHERE id = $1', [id]);
    return row ? fromRow(row) : null;
  }

  findByHashNow(hash: string): VirtualKeyRecord | undefined {
    const hit = this.cache.get(hash);
    return hit ? { ...hit } : undefined;
  }

  findByHash(hash: string): Promise<VirtualKeyRecord | null> {
    const hit = this.findByHashNow(hash);
    if (hit) return Promise.resolve(hit);
    return this.lookup(hash).catch((err: unknown) => this.duringOutage(hash, err));
  }

  /**
   * The database went away before the cache's next version check noticed (the LISTEN connection has dropped, so
   * the cache no longer answers): a key checked before the outage is served within the outage grace, as it will be
   * once the check fails, instead of a 503 for the requests that fall in between.
   */
  private duringOutage(hash: string, err: unknown): VirtualKeyRecord {
    if (!(err instanceof KeywardenError) || err.code !== 'KW_STORE_UNAVAILABLE') throw err;
    this.cache.markUnreachable();
    const remembered = this.cache.get(hash);
    if (!remembered) throw err;
    return { ...remembered };
  }

  private async lookup(hash: string): Promise<VirtualKeyRecord | null> {
    const generation = this.cache.generation;
    const row = await this.db.one<KeyRow>(BY_HASH_SQL, [hash]);
    if (!row) return null;
    const record = fromRow(row);
    frozen(record.scopes);
    frozen(record.limits);
    frozen(record.metadata);
    frozen(record.fallbackUpstreamIds);
    // Remembered only if no change was announced while the row was in flight: it might predate that change.
    this.cache.remember(hash, record, generation);
    return { ...record };
  }

  async list(): Promise<VirtualKeyRecord[]> {
    return (await this.db.rows<KeyRow>('SELECT * FROM virtual_keys ORDER BY created_at, id')).map(fromRow);
  }

  /** Ids compared bytewise (COLLATE "C"), as SQLite compares them, so a cursor means the same on both stores. */
  async listPage(page: KeyPageQuery): Promise<VirtualKeyRecord[]> {
    const rows = await this.db.rows<KeyRow>(
      `SELECT * FROM virtual_keys
       WHERE (created_at, id COLLATE "C") > ($1::bigint, $2::text)
         AND ($3::text IS NULL OR project_id = $3)
         AND (NOT $5::boolean OR (revoked_at IS NULL AND limits LIKE '%"budgets"%'
           AND CASE WHEN jsonb_typeof(limits::jsonb -> 'budgets') = 'array' THEN jsonb_array_length(limits::jsonb -> 'budgets') > 0 ELSE false END))
       ORDER BY created_at, id COLLATE "C" LIMIT $4`,
      // Without a position, one before every key: the row comparison is a range of the (created_at, id) index.
      [page.after?.createdAt ?? Number.MIN_SAFE_INTEGER, page.after?.id ?? '', page.projectId ?? null, page.limit, page.withBudgets === true],
    );
    return rows.map(fromRow);
  }

  /** Row locked from read to write, so two replicas' patches never interleave and updatedAt strictly increases. */
  async update(id: string, patch: KeyPatch, now: number): Promise<VirtualKeyRecord | null> {
    const next = await this.db.transaction(async () => {
      const row = await this.db.one<KeyRow>('SELECT * FROM virtual_keys WHERE id = $1 FOR UPDATE', [id]);
      if (!row) return null;
      const record: VirtualKeyRecord = { ...fromRow(row), ...patch, updatedAt: Math.max(now, row.updated_at + 1) };
      await this.db.query(REPLACE_SQL, toValues(record));
      return record;
    });
    this.cache.changedHere();
    return next;
  }
}
