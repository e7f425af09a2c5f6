import type { ReservationRecord, SpendRepository, SpendSettlement } from '../types.js';
import type { SqliteDatabase } from './database.js';
import type { ReservationJournal } from './reservation-journal.js';
import { idsOf, SettledBatches } from './settled-batches.js';
import { WalDurability, warnDurabilityError } from './wal-durability.js';

/** Settlements are committed in batches at this interval (the usage recorder's default flush interval). */
export const SETTLEMENT_FLUSH_MS = 20;

/**
 * The spend ledger: settled spend per key and period in SQLite, open reservations in the reservation journal.
 *
 * - A reservation is on disk (journal) before its request is forwarded.
 * - Settlements are batched every 20 ms: spend is summed per key and period and committed in one transaction that
 *   also records the batch's reservation ids (settled-batches.ts), without fsync on the event loop
 *   (wal-durability.ts: written with write(2), so it survives kill -9 at once). Once an fsync of the write-ahead log
 *   in libuv's threadpool has made that commit durable, the reservations get their closing lines in the journal,
 *   and the journal is fsynced in the threadpool too. Closing only after the spend is durable keeps a power loss
 *   from keeping a close and losing its spend (an understatement).
 * - Recovery charges every reservation still open in the journal in full, except those a committed batch settled:
 *   a kill -9 between the commit and the close lines no longer charges them twice. A power loss can still lose the
 *   last commits; then their reservations are still open and are charged in full. The ledger can overstate spend
 *   after a crash (a request cut off mid-flight pays its reservation), never understate it.
 */
export class SqliteSpendRepository implements SpendRepository {
  private readonly spentStmt;
  private readonly commitSpend: (settlements: readonly SpendSettlement[], reservationIds: readonly string[]) => number;
  private readonly settledBatches: SettledBatches;
  private pending: SpendSettlement[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Settled batches whose close lines are durable in the journal: their rows are deleted with the next commit. */
  private closedBatches: number[] = [];
  private shutDown = false;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly journal: ReservationJournal,
    private readonly durability: WalDurability = new WalDurability(db),
  ) {
    const settledBatches = new SettledBatches(db);
    this.settledBatches = settledBatches;
    this.spentStmt = db.prepare<[string], { period_key: string; usd: number }>('SELECT period_key, usd FROM spend WHERE key_id = ?');
    const addSpend = db.prepare<[string, string, number]>(
      'INSERT INTO spend (key_id, period_key, usd) VALUES (?, ?, ?) ON CONFLICT(key_id, period_key) DO UPDATE SET usd = usd + excluded.usd',
    );
    // Returns the batch's sequence number in settled_reservation_batches (0 when it settled no reservation).
    this.commitSpend = db.transaction((settlements: readonly SpendSettlement[], reservationIds: readonly string[]): number => {
      // Summed per owner and period (a map per owner: no key string or tuple per settlement), one upsert each.
      const sums = new Map<string, Map<string, number>>();
      for (const s of settlements) {
        if (s.usd <= 0) continue;
        addTo(sums, s.keyId, s.periodKeys, s.usd);
        // A project's spend is kept under its own id (prj_…), beside its keys' (key_…): the ids never collide.
        if (s.projectId !== undefined && s.projectPeriodKeys) addTo(sums, s.projectId, s.projectPeriodKeys, s.usd);
      }
      for (const [owner, periods] of sums) for (const [periodKey, usd] of periods) addSpend.run(owner, periodKey, usd);
      if (this.closedBatches.length > 0) {
        settledBatches.forget(this.closedBatches);
        this.closedBatches = [];
      }
      return reservationIds.length > 0 ? settledBatches.record(reservationIds) : 0;
    });
  }

  spentFor(keyId: string): Promise<Record<string, number>> {
    return Promise.resolve(Object.fromEntries(this.spentStmt.all(keyId).map((row) => [row.period_key, row.usd])));
  }

  /** Resolves once the reservation is in the journal on disk (written with the rest of this turn's); see the journal. */
  reserve(reservation: ReservationRecord): void | Promise<void> {
    return this.journal.append(reservation);
  }

  /** Queues the settlement for the next batch (at most SETTLEMENT_FLUSH_MS away); see the class comment. Synchronous. */
  settle(settlement: SpendSettlement): void | Promise<void> {
    this.pending.push(settlement);
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
    }, SETTLEMENT_FLUSH_MS);
  }

  /**
   * Commits queued settlements now (visible to spentFor at once; durable and closed in the journal shortly after,
   * see the class comment). A failed batch stays queued for the next attempt.
   */
  flushSettlements(): void {
    if (this.pending.length === 0 || !this.db.open) return;
    const batch = this.pending;
    this.pending = [];
    const ids: string[] = [];
    for (const s of batch) if (s.reservationId !== null) ids.push(s.reservationId);
    let seq: number;
    try {
      seq = this.durability.commitRelaxed(() => this.commitSpend(batch, ids));
    } catch (err) {
      this.pending = batch.concat(this.pending);
      throw err;
    }
    if (ids.length > 0) this.durability.afterDurable((error) => this.closeDurable(error, ids, seq));
    else {
      // Nothing to close, but every batch still makes the journal's open lines power-loss durable, as before.
      this.durability.requestDurable();
      this.journal.syncInBackground(reportJournalError);
    }
  }

  /** The batch's spend is durable (or its fsync failed): close its reservations, then fsync the journal. */
  private closeDurable(error: Error | null, ids: readonly string[], seq: number): void {
    // After a failed fsync the reservations stay open: recovery skips them if the batch's row survived (its spend
    // with it) and charges them in full if not. The failure was reported by WalDurability.
    if (error || this.shutDown) return;
    try {
      this.journal.close(ids);
    } catch {
      // A close line that cannot be written (disk full) leaves the reservations open: the same as above.
      return;
    }
    this.journal.syncInBackground((journalError) => {
      // Only lines known to be on stable storage let the batch's row go; a failed journal fsync keeps it.
      if (journalError) reportJournalError(journalError);
      else if (!this.shutDown) this.closedBatches.push(seq);
    });
  }

  reconcileOpenReservations(): Promise<number> {
    const batches = this.settledBatches.read();
    const settled = idsOf(batches);
    // Reservations this process holds are live requests, not a crash's leftovers.
    const open = this.journal.recover().filter((r) => !settled.has(r.id) && !this.journal.isLive(r.id));
    // Charged in full to the key and, if it had one, its project: a crash never refills a shared budget. Committed
    // with the connection's fsync (start-up, not the hot path) and recorded as settled, so a crash before the
    // journal is compacted does not charge them again.
    const recoverySeq = this.commitSpend(
      open.map((r) => ({
        reservationId: r.id,
        keyId: r.keyId,
        periodKeys: r.periodKeys,
        usd: r.usd,
        ...(r.projectId !== undefined && r.projectPeriodKeys ? { projectId: r.projectId, projectPeriodKeys: r.projectPeriodKeys } : {}),
      })),
      open.map((r) => r.id),
    );
    this.journal.compact();
    // The compacted (fsynced) journal holds only the reservations this process holds open: a batch none of whose
    // reservations is among them is no longer needed. A batch of this process whose close lines are not written
    // yet keeps its row (its reservations are still open in the new journal).
    const done = batches.filter((batch) => !batch.ids.some((id) => this.journal.isLive(id))).map((batch) => batch.seq);
    if (recoverySeq > 0) done.push(recoverySeq);
    this.db.transaction(() => this.settledBatches.forget(done))();
    return Promise.resolve(open.length);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
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
