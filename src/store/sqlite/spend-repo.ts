import type { ReservationRecord, SpendRepository, SpendSettlement } from '../types.js';
import { reservationSettlement } from '../reservation-settlement.js';
import { batchCloseLine } from './batch-close-line.js';
import type { SqliteDatabase } from './database.js';
import type { ReservationJournal } from './reservation-journal.js';
import { ReservationLeases } from './reservation-leases.js';
import { idsOf, SettledBatches } from './settled-batches.js';
import { SettledMarks } from './settled-marks.js';
import { WalDurability, warnDurabilityError } from './wal-durability.js';

/** Settlements are committed in batches at this interval (the usage recorder's default flush interval). */
export const SETTLEMENT_FLUSH_MS = 20;

/** How much later than the usage batch the settlement timer fires once settlements ride along with usage batches. */
const RIDE_ALONG_GRACE_MS = 5;

/**
 * The spend ledger: settled spend per key and period in SQLite, open reservations in the reservation journal.
 *
 * - A reservation is on disk (journal) before its request is forwarded: on a line of its own, or, for a key far from
 *   its budgets, inside a lease written earlier (reservation-leases.ts), which a batch closes like a reservation
 *   once its last reservation has settled. The lease's reservations settle into it: their summed spend is committed
 *   by the batch that closes it, so a kill -9 charges either the whole lease or that spend, never both.
 * - Settlements are batched every 20 ms. Per batch, on the event loop: one close line for all the batch's
 *   reservations, tagged with this writer's epoch and the batch's seq (batch-close-line.ts), is written to the
 *   journal (write(2)); then one transaction adds the spend (summed per key and period) and sets this writer's
 *   mark to the seq (settled-marks.ts: one tiny row), without fsync on the event loop (wal-durability.ts). Recovery
 *   honours a tagged line only if the mark reached its seq. The write-ahead log and the journal are then fsynced in
 *   libuv's threadpool; once the log's fsync covers the commit, the reservations leave the journal's open set
 *   (compaction may then drop them).
 * - With usage batches on the same connection (sqlite-store.ts), settlements usually commit in the usage batch's
 *   relaxed window (commitAlongside) and share its fsync of the log: one fsync per 20 ms for both.
 * - A batch that fails to commit keeps its seq: the retry (its settlements plus newer ones) commits under the same
 *   seq, so every line tagged with a committed seq names only reservations that commit settled.
 *
 * Crash cases (K = kill -9: the page cache survives; P = power loss: only fsynced data survives):
 *
 * | when                                    | K                                  | P                                         |
 * |-----------------------------------------|------------------------------------|-------------------------------------------|
 * | before the close line is written        | open: charged in full              | open (or lost with its reservation line*) |
 * | line written, commit not done or failed | mark < seq: line ignored, full     | same                                      |
 * | committed, before either fsync          | mark ≥ seq: settled once, at cost  | log lost: line ignored, full; line lost   |
 * |                                         |                                    | but log kept: spend + full (overstated)   |
 * | log fsynced, journal not                | settled once                       | spend + maybe full again (overstated)     |
 * | both fsynced                            | settled once                       | settled once                              |
 * | compaction (after the log's fsync)      | held lines carried over: once      | settled once (the spend is durable)       |
 *
 * (*) as before: a reservation line newer than the last journal fsync can be lost to a power loss.
 * So a kill -9 never charges a settled reservation twice and never loses a settled spend; a power loss can only
 * overstate. A fresh epoch per writer keeps a line from being honoured by a mark it does not belong to (e.g. after a
 * power loss rolled the database back past its batch). Rows of the older format (settled_reservation_batches, one
 * JSON id array per batch) are still honoured by recovery and the PostgreSQL migration, and deleted by recovery.
 */
export class SqliteSpendRepository implements SpendRepository {
  private readonly spentStmt;
  private readonly commitSpend: (settlements: readonly SpendSettlement[], seq: number) => void;
  private readonly settledBatches: SettledBatches;
  private readonly marks: SettledMarks;
  private readonly leases: ReservationLeases;
  private pending: SpendSettlement[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** This writer's next batch seq: advanced only when a batch with reservations commits (a failed one retries it). */
  private nextSeq = 1;
  private flushDelayMs = SETTLEMENT_FLUSH_MS;
  private shutDown = false;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly journal: ReservationJournal,
    private readonly durability: WalDurability = new WalDurability(db),
  ) {
    this.settledBatches = new SettledBatches(db);
    this.leases = new ReservationLeases(journal);
    const marks = new SettledMarks(db);
    this.marks = marks;
    this.spentStmt = db.prepare<[string], { period_key: string; usd: number }>('SELECT period_key, usd FROM spend WHERE key_id = ?');
    const addSpend = db.prepare<[string, string, number]>(
      'INSERT INTO spend (key_id, period_key, usd) VALUES (?, ?, ?) ON CONFLICT(key_id, period_key) DO UPDATE SET usd = usd + excluded.usd',
    );
    // `seq`: the batch's seq when it settles reservations (its close line is in the journal already), else 0.
    this.commitSpend = db.transaction((settlements: readonly SpendSettlement[], seq: number): void => {
      // Summed per owner and period (a map per owner: no key string or tuple per settlement), one upsert each.
      const sums = new Map<string, Map<string, number>>();
      for (const s of settlements) {
        if (s.usd <= 0) continue;
        addTo(sums, s.keyId, s.periodKeys, s.usd);
        // A project's spend is kept under its own id (prj_…), beside its keys' (key_…): the ids never collide.
        if (s.projectId !== undefined && s.projectPeriodKeys) addTo(sums, s.projectId, s.projectPeriodKeys, s.usd);
      }
      for (const [owner, periods] of sums) for (const [periodKey, usd] of periods) addSpend.run(owner, periodKey, usd);
      if (seq > 0) marks.mark(seq);
    });
  }

  spentFor(keyId: string): Promise<Record<string, number>> {
    return Promise.resolve(Object.fromEntries(this.spentStmt.all(keyId).map((row) => [row.period_key, row.usd])));
  }

  /**
   * Resolves once a journal line covering the reservation is on disk: its own line, written with the rest of this
   * turn's (see the journal), or, for a key far from its budgets, the key's lease (reservation-leases.ts), which
   * usually is on disk already: then this returns nothing and the request waits for nothing.
   */
  reserve(reservation: ReservationRecord, headroomUsd = 0): void | Promise<void> {
    return this.leases.reserve(reservation, headroomUsd);
  }

  /**
   * Queues the settlement for the next batch (at most SETTLEMENT_FLUSH_MS away); see the class comment. Synchronous.
   * A reservation taken from a lease has no line of its own to close: its cost is added to the lease's, and the
   * lease's close (its id and that sum) is queued once its last reservation settles. So for a key far from its
   * budgets the spend table lags the in-memory counters by at most the open leases (1,024 requests each), and a batch
   * commits a key's spend once per lease instead of once per 20 ms.
   */
  settle(settlement: SpendSettlement): void | Promise<void> {
    // Taken from a lease: its spend waits in the lease, and is committed with the lease's close. The timer still
    // runs, so an idle lease is retired and closed within a batch or two.
    if (settlement.reservationId === null || !this.leases.settle(settlement.reservationId, settlement.usd)) this.pending.push(settlement);
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null;
      try {
        this.flushSettlements();
      } catch {
        // Kept queued (see flushSettlements); the open reservations protect the budget meanwhile.
        this.schedule();
      }
    }, this.flushDelayMs);
  }

  /**
   * Commits queued settlements now (visible to spentFor at once; durable shortly after, see the class comment).
   * A failed batch stays queued for the next attempt, which reuses its seq.
   */
  flushSettlements(): void {
    this.commitBatch()?.();
  }

  /**
   * For the usage repository's batch (sqlite-store.ts): commits the queued settlements inside its relaxed window and
   * returns what to run once the usage transaction is committed too (or failed): then one fsync of the log covers
   * both. Never throws: a failed spend batch stays queued for its own timer, and does not fail the usage batch.
   * While it rides along, this repository's own timer waits a little longer than the usage recorder's, so the
   * usage batch usually comes first and takes the settlements with it.
   */
  commitAlongside(): (() => void) | null {
    this.flushDelayMs = SETTLEMENT_FLUSH_MS + RIDE_ALONG_GRACE_MS;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    try {
      return this.commitBatch();
    } catch {
      this.schedule();
      return null;
    }
  }

  /** The commit of the queued batch; returns the durability requests to make once the caller's commits are done. */
  private commitBatch(): (() => void) | null {
    if (!this.db.open) return null;
    // Leases with nothing outstanding close in this batch, with the spend of all their reservations.
    this.leases.retireIdle();
    for (const closing of this.leases.takeClosable()) this.pending.push(closing);
    if (this.pending.length === 0) return null;
    const batch = this.pending;
    this.pending = [];
    const ids: string[] = [];
    for (const s of batch) if (s.reservationId !== null) ids.push(s.reservationId);
    const seq = ids.length > 0 ? this.nextSeq : 0;
    const line = seq > 0 ? batchCloseLine(this.marks.epoch, seq, ids) : '';
    try {
      // The line first: a kill after the commit must find it (the commit is what makes recovery honour it).
      if (seq > 0) this.journal.writeBatchClose(line);
      this.durability.commitRelaxed(() => this.commitSpend(batch, seq));
    } catch (err) {
      this.pending = batch.concat(this.pending);
      throw err;
    }
    if (seq > 0) {
      this.nextSeq = seq + 1;
      this.journal.holdBatchClose(seq, line);
    }
    return () => {
      // After a failed fsync the batch stays held: its reservations open here, its line carried over by compaction.
      if (seq > 0) {
        this.durability.afterDurable((error) => {
          if (error === null && !this.shutDown) this.journal.settledDurably(seq, ids);
        });
      } else this.durability.requestDurable();
      // Every batch also makes the journal's lines so far (reservations, this close line) power-loss durable.
      this.journal.syncInBackground(reportJournalError);
    };
  }

  reconcileOpenReservations(): Promise<number> {
    const legacySettled = idsOf(this.settledBatches.read());
    // Reservations this process holds are live requests, not a crash's leftovers.
    const open = this.journal.recover(this.marks.committed()).filter((r) => !legacySettled.has(r.id) && !this.journal.isLive(r.id));
    // Charged in full to the key and, if it had one, its project: a crash never refills a shared budget. Committed
    // with the connection's fsync (start-up, not the hot path) as a batch of this writer, with its close line, so a
    // crash before the journal is compacted does not charge them again.
    if (open.length > 0) {
      const seq = this.nextSeq;
      this.journal.writeBatchClose(batchCloseLine(this.marks.epoch, seq, open.map((r) => r.id)));
      this.commitSpend(
        open.map((r) => reservationSettlement(r)),
        seq,
      );
      this.nextSeq = seq + 1;
    }
    this.journal.compact();
    // The compacted (fsynced) journal holds only this process's open reservations and its own held batch lines:
    // the older format's rows and other writers' marks have nothing left to vouch for.
    this.db.transaction(() => {
      this.settledBatches.forgetAll();
      this.marks.forgetOtherWriters();
    })();
    return Promise.resolve(open.length);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.leases.retireAll();
    try {
      this.flushSettlements();
      // Shutdown: the log's fsync on this thread, which writes the waiting close lines; then the journal's.
      this.durability.syncNow();
    } finally {
      this.shutDown = true;
      this.durability.close();
      this.journal.shutdown();
    }
  }
}

function addTo(sums: Map<string, Map<string, number>>, owner: string, periodKeys: readonly string[], usd: number): void {
  let periods = sums.get(owner);
  if (periods === undefined) {
    periods = new Map();
    sums.set(owner, periods);
  }
  for (const periodKey of periodKeys) periods.set(periodKey, (periods.get(periodKey) ?? 0) + usd);
}

function reportJournalError(error: Error | null): void {
  if (error !== null) warnDurabilityError('the reservation journal', error);
}
