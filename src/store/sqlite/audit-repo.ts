import { formatAnchor, parseAnchor, type AnchorSnapshot, type SignedAnchor } from '../../audit/anchor.js';
import type { AuditEntry, AuditListQuery, AuditPage, AuditRepository, JsonValue } from '../../audit/types.js';
import { readAnchorFile, writeAnchorFile } from './audit-anchor-file.js';
import type { SqliteDatabase } from './database.js';
import { transactionRunnerFor, type SqliteTransactionRunner } from './sqlite-transaction.js';
import type { AuditRow } from '../rows/audit-rows.js';

/** The meta row holding the anchor copy that commits with each entry. */
const ANCHOR_META = 'vault.audit_anchor';

export interface AuditRepositoryOptions {
  /** The anchor file outside the database; null keeps the anchor in the vault metadata only (in-memory tests). */
  anchorFile?: string | null;
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
    mac: row.mac,
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

  private readonly anchorFile: string | null;
  private readonly getAnchorStmt;
  private readonly setAnchorStmt;

  constructor(db: SqliteDatabase, options: AuditRepositoryOptions = {}) {
    this.runner = transactionRunnerFor(db);
    this.anchorFile = options.anchorFile ?? null;
    const insert = db.prepare(
      `INSERT INTO audit_log (seq, ts, actor, action, target, before, after, prev_hash, hash, mac)
       VALUES (@seq, @ts, @actor, @action, @target, @before, @after, @prevHash, @hash, @mac)`,
    );
    this.getAnchorStmt = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?');
    this.setAnchorStmt = db.prepare<[string, string]>(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
    );
    this.headStmt = db.prepare<[], AuditRow>('SELECT rowid AS pos, * FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.appendTx = db.transaction((seal: (head: AuditEntry | null) => AuditEntry): AuditEntry => {
      const row = this.headStmt.get();
      const entry = seal(row ? fromRow(row) : null);
      insert.run({ ...entry, mac: entry.mac ?? null, before: summaryText(entry.before), after: summaryText(entry.after) });
      // The head moves with the entry: the meta copy commits with it, and the file is replaced before COMMIT, so
      // a failed file write rolls the entry back (see atomically() for a rollback after this point).
      if (entry.mac) this.recordAnchor({ seq: entry.seq, hash: entry.hash, mac: entry.mac });
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

  async atomically<T>(fn: () => Promise<T>): Promise<T> {
    if (this.runner.inTransaction || this.anchorFile === null) return this.runner.run(fn);
    const file = this.anchorFile;
    let before: string | null = null;
    try {
      return await this.runner.run(() => {
        before = readAnchorFile(file);
        return fn();
      });
    } catch (err) {
      // The section rolled back after an append rewrote the file: put the committed anchor back.
      if (readAnchorFile(file) !== before) writeAnchorFile(file, before === null ? null : (before as string).trimEnd());
      throw err;
    }
  }

  anchors(): Promise<AnchorSnapshot> {
    const metaText = this.getAnchorStmt.get(ANCHOR_META)?.value ?? null;
    const snapshot: AnchorSnapshot = { meta: metaText === null ? null : parseAnchor(metaText) };
    if (this.anchorFile !== null) {
      const text = readAnchorFile(this.anchorFile);
      snapshot.file = text === null ? null : (parseAnchor(text) ?? 'unreadable');
      snapshot.fileName = this.anchorFile;
    }
    return Promise.resolve(snapshot);
  }

  writeAnchor(anchor: SignedAnchor): Promise<void> {
    return this.runner.exclusive(() => this.recordAnchor(anchor));
  }

  private recordAnchor(anchor: SignedAnchor): void {
    const text = formatAnchor(anchor);
    this.setAnchorStmt.run(ANCHOR_META, text);
    if (this.anchorFile !== null) writeAnchorFile(this.anchorFile, text);
  }
}
