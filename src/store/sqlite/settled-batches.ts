import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

/**
 * The older record of settled batches: the reservation ids each spend settlement batch settled, one row per batch
 * (a JSON array), written in that batch's transaction. Batches now commit only a mark (settled-marks.ts) and keep
 * their ids in the journal; this class stays to honour rows a data dir written by an earlier version still holds
 * (recovery, the PostgreSQL migration), and recovery deletes them once the journal is compacted.
 */
export class SettledBatches {
  private readonly deleteStmt: Statement<[]>;
  private readonly allStmt: Statement<[], { seq: number; reservation_ids: string }>;

  constructor(db: SqliteDatabase) {
    this.deleteStmt = db.prepare('DELETE FROM settled_reservation_batches');
    this.allStmt = db.prepare('SELECT seq, reservation_ids FROM settled_reservation_batches ORDER BY seq');
  }

  /** Inside a transaction, once the journal was compacted: no row has a reservation left to vouch for. */
  forgetAll(): void {
    this.deleteStmt.run();
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
