import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

/**
 * The reservation ids each spend settlement batch settled, written in that batch's transaction. A reservation is
 * closed in the journal only after its spend is durable (spend-repo.ts), so a crash in between leaves it open
 * there; this table tells recovery that its spend is already in the ledger, so it is not charged twice. A row is
 * deleted once the batch's close lines are on stable storage in the journal (or the journal was compacted).
 *
 * One row per batch (the ids as a JSON array), not one per reservation: one INSERT per batch on the hot path.
 */
export class SettledBatches {
  private readonly insertStmt: Statement<[string]>;
  private readonly deleteStmt: Statement<[number]>;
  private readonly allStmt: Statement<[], { seq: number; reservation_ids: string }>;

  constructor(db: SqliteDatabase) {
    this.insertStmt = db.prepare('INSERT INTO settled_reservation_batches (reservation_ids) VALUES (?)');
    this.deleteStmt = db.prepare('DELETE FROM settled_reservation_batches WHERE seq = ?');
    this.allStmt = db.prepare('SELECT seq, reservation_ids FROM settled_reservation_batches ORDER BY seq');
  }

  /** Inside the settlement transaction. Returns the batch's sequence number. */
  record(ids: readonly string[]): number {
    return Number(this.insertStmt.run(JSON.stringify(ids)).lastInsertRowid);
  }

  /** Inside a transaction: the batches whose close lines are durable. */
  forget(seqs: readonly number[]): void {
    for (const seq of seqs) this.deleteStmt.run(seq);
  }

  /** Every recorded batch. A row that does not parse counts as settling nothing (recovery then charges: overstates). */
  read(): Array<{ seq: number; ids: string[] }> {
    return this.allStmt.all().map((row) => ({ seq: row.seq, ids: parseIds(row.reservation_ids) }));
  }
}

/** The reservation ids the given batches settled. */
export function idsOf(batches: ReadonlyArray<{ ids: readonly string[] }>): Set<string> {
  const ids = new Set<string>();
  for (const batch of batches) for (const id of batch.ids) ids.add(id);
  return ids;
}

/** For tools reading a data dir (e.g. the PostgreSQL migration): the reservation ids settled but maybe not closed. */
export function settledReservationIds(db: SqliteDatabase): Set<string> {
  return idsOf(new SettledBatches(db).read());
}

function parseIds(text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string') : [];
}
