import type { AuditEntry, AuditListQuery, AuditPage, AuditRepository, JsonValue } from '../../audit/types.js';
import type { SqliteDatabase } from './database.js';
import { transactionRunnerFor, type SqliteTransactionRunner } from './sqlite-transaction.js';

interface AuditRow {
  pos: number;
  seq: number;
  ts: number;
  actor: string;
  action: string;
  target: string;
  before: string | null;
  after: string | null;
  prev_hash: string;
  hash: string;
}

/**
 * Tolerant on purpose: a summary whose stored text was damaged so that it no longer parses is returned as that
 * raw text, which then fails the hash check and is reported, instead of making verification crash.
 */
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
  };
}

const summaryText = (value: JsonValue): string | null => (value === null ? null : JSON.stringify(value));

/** The audit chain in SQLite. Storage order is the rowid, so a row deleted and re-inserted shows up as moved. */
export class SqliteAuditRepository implements AuditRepository {
  private readonly runner: SqliteTransactionRunner;
  private readonly appendTx;
  private readonly headStmt;
  private readonly pageStmt;
  private readonly listAscStmt;
  private readonly listDescStmt;

  constructor(db: SqliteDatabase) {
    this.runner = transactionRunnerFor(db);
    const insert = db.prepare(
      `INSERT INTO audit_log (seq, ts, actor, action, target, before, after, prev_hash, hash)
       VALUES (@seq, @ts, @actor, @action, @target, @before, @after, @prevHash, @hash)`,
    );
    this.headStmt = db.prepare<[], AuditRow>('SELECT rowid AS pos, * FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.appendTx = db.transaction((seal: (head: AuditEntry | null) => AuditEntry): AuditEntry => {
      const row = this.headStmt.get();
      const entry = seal(row ? fromRow(row) : null);
      insert.run({ ...entry, before: summaryText(entry.before), after: summaryText(entry.after) });
      return entry;
    });
    this.pageStmt = db.prepare<[number, number], AuditRow>(
      'SELECT rowid AS pos, * FROM audit_log WHERE rowid > ? ORDER BY rowid LIMIT ?',
    );
    this.listAscStmt = db.prepare<[number, number], AuditRow>(
      'SELECT rowid AS pos, * FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?',
    );
    this.listDescStmt = db.prepare<[number, number], AuditRow>(
      'SELECT rowid AS pos, * FROM audit_log WHERE seq >= ? ORDER BY seq DESC LIMIT ?',
    );
  }

  append(seal: (head: AuditEntry | null) => AuditEntry): Promise<AuditEntry> {
    // Outside a transaction section, wait for any open one: an append must never ride in someone else's rollback.
    return this.runner.exclusive(() => this.appendTx(seal));
  }

  readPage(cursor: number | null, limit: number): Promise<AuditPage> {
    const rows = this.pageStmt.all(cursor ?? 0, limit);
    const lastRow = rows[rows.length - 1];
    return Promise.resolve({ entries: rows.map(fromRow), next: rows.length < limit || !lastRow ? null : lastRow.pos });
  }

  list(query: AuditListQuery): Promise<AuditEntry[]> {
    const stmt = query.order === 'asc' ? this.listAscStmt : this.listDescStmt;
    return Promise.resolve(stmt.all(query.fromSeq ?? 0, query.limit).map(fromRow));
  }

  head(): Promise<AuditEntry | null> {
    const row = this.headStmt.get();
    return Promise.resolve(row ? fromRow(row) : null);
  }

  atomically<T>(fn: () => Promise<T>): Promise<T> {
    return this.runner.run(fn);
  }
}
