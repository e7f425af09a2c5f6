import { formatAnchor, parseAnchor, type AnchorSnapshot, type SignedAnchor } from '../../audit/anchor.js';
import type { AuditEntry, AuditListQuery, AuditPage, AuditRepository, JsonValue } from '../../audit/types.js';
import { AUDIT_LOCK, type PgDatabase } from './pg-database.js';
import type { AuditRow } from '../rows/audit-rows.js';

/** The meta row holding the anchor copy that commits with each entry (same name as the SQLite store's). */
const ANCHOR_META = 'vault.audit_anchor';

/** A summary whose stored text no longer parses is returned as that text, so verification reports it. */
function parseSummary(text: string | null): JsonValue {
  if (text === null) return null;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

function fromRow(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    ts: row.ts,
    actor: row.actor,
    action: row.action,
    target: row.target,
    before: parseSummary(row.before),
    after: parseSummary(row.after),
    prevHash: row.prev_hash,
    hash: row.hash,
    mac: row.mac,
  };
}

const summaryText = (value: JsonValue): string | null => (value === null ? null : JSON.stringify(value));

/**
 * The audit chain in PostgreSQL, one chain for every replica. An append takes a transaction-scoped advisory lock
 * before it reads the head, so appends from several replicas queue one behind the other and never fork the chain
 * (two entries with one prevHash); the seq UNIQUE constraint is the last line of defence. Storage order is `pos`
 * (a sequence), so a row deleted and re-inserted shows up as moved.
 *
 * The anchor lives in the meta table only: a per-replica anchor file would miss the other replicas' appends.
 */
export class PgAuditRepository implements AuditRepository {
  constructor(private readonly db: PgDatabase) {}

  append(seal: (head: AuditEntry | null) => AuditEntry): Promise<AuditEntry> {
    return this.db.transaction(async () => {
      await this.db.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
      const row = await this.db.one<AuditRow>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1');
      const entry = seal(row ? fromRow(row) : null);
      await this.db.query(
        `INSERT INTO audit_log (seq, ts, actor, action, target, before, after, prev_hash, hash, mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [entry.seq, entry.ts, entry.actor, entry.action, entry.target, summaryText(entry.before), summaryText(entry.after), entry.prevHash, entry.hash, entry.mac ?? null],
      );
      if (entry.mac) await this.recordAnchor({ seq: entry.seq, hash: entry.hash, mac: entry.mac });
      return entry;
    });
  }

  async readPage(cursor: number | null, limit: number): Promise<AuditPage> {
    const rows = await this.db.rows<AuditRow>('SELECT * FROM audit_log WHERE pos > $1 ORDER BY pos LIMIT $2', [cursor ?? 0, limit]);
    const lastRow = rows[rows.length - 1];
    return { entries: rows.map(fromRow), next: rows.length < limit || !lastRow ? null : lastRow.pos };
  }

  async list(query: AuditListQuery): Promise<AuditEntry[]> {
    const order = query.order === 'asc' ? 'ASC' : 'DESC';
    return (await this.db.rows<AuditRow>(`SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq ${order} LIMIT $2`, [query.fromSeq ?? 0, query.limit])).map(fromRow);
  }

  async head(): Promise<AuditEntry | null> {
    const row = await this.db.one<AuditRow>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1');
    return row ? fromRow(row) : null;
  }

  /** Store writes and audit appends made inside `fn` commit together on one connection, or not at all. */
  atomically<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  async anchors(): Promise<AnchorSnapshot> {
    const text = (await this.db.one<{ value: string }>('SELECT value FROM meta WHERE name = $1', [ANCHOR_META]))?.value ?? null;
    return { meta: text === null ? null : parseAnchor(text) };
  }

  writeAnchor(anchor: SignedAnchor): Promise<void> {
    return this.db.transaction(async () => {
      await this.db.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
      await this.recordAnchor(anchor);
    });
  }

  private async recordAnchor(anchor: SignedAnchor): Promise<void> {
    await this.db.query('INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [
      ANCHOR_META,
      formatAnchor(anchor),
    ]);
  }
}
