import { randomBytes } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

/** Whether the settlement batch `seq` of writer `epoch` committed: recovery honours that batch's journal close line. */
export type BatchCommitted = (epoch: string, seq: number) => boolean;

/**
 * The highest committed settlement batch of each writer (one process run of the spend repository: its epoch), one
 * tiny row per writer, updated in each batch's own transaction. It replaces one row per batch holding every
 * reservation id (settled-batches.ts, still read for data dirs written before): the ids now travel in the
 * journal, in one close line per batch tagged (epoch, seq) and written *before* the commit, and recovery honours
 * such a line only when the writer's mark here is at or past its seq (spend-repo.ts has the crash-case table).
 *
 * A fresh random epoch per writer keeps a line from ever being honoured by another writer's mark: after a power
 * loss rolled the database back past some batches, their surviving close lines name seqs this writer never
 * committed, and the next writer, counting from 1 under its own epoch, cannot commit them by accident.
 */
export class SettledMarks {
  /** This writer's epoch: 12 base64url characters (72 random bits), safe in a JSON string without escaping. */
  readonly epoch = randomBytes(9).toString('base64url');
  private readonly upsertStmt: Statement<[string, number]>;
  private readonly allStmt: Statement<[], { epoch: string; seq: number }>;
  private readonly forgetOthersStmt: Statement<[string]>;

  constructor(db: SqliteDatabase) {
    this.upsertStmt = db.prepare('INSERT INTO settled_batch_marks (epoch, seq) VALUES (?, ?) ON CONFLICT(epoch) DO UPDATE SET seq = excluded.seq');
    this.allStmt = db.prepare('SELECT epoch, seq FROM settled_batch_marks');
    this.forgetOthersStmt = db.prepare('DELETE FROM settled_batch_marks WHERE epoch <> ?');
  }

  /** Inside the batch's transaction: batch `seq` of this writer committed. */
  mark(seq: number): void {
    this.upsertStmt.run(this.epoch, seq);
  }

  /** The committed-batch test recovery applies to tagged close lines, as of now. */
  committed(): BatchCommitted {
    const marks = new Map<string, number>();
    for (const row of this.allStmt.all()) marks.set(row.epoch, row.seq);
    return (epoch, seq) => seq <= (marks.get(epoch) ?? 0);
  }

  /** Inside a transaction, once the journal no longer holds lines of other writers (it was compacted). */
  forgetOtherWriters(): void {
    this.forgetOthersStmt.run(this.epoch);
  }
}

/** For tools reading a data dir (e.g. the PostgreSQL migration): which tagged close lines to honour. */
export function committedBatches(db: SqliteDatabase): BatchCommitted {
  // A reader's own epoch is never used: it only reads the marks.
  return new SettledMarks(db).committed();
}
