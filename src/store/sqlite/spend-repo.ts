import type { ReservationRecord, SpendRepository, SpendSettlement } from '../types.js';
import type { SqliteDatabase } from './database.js';
import type { ReservationJournal } from './reservation-journal.js';

/** Settlements are committed in batches at this interval (the usage recorder's default flush interval). */
export const SETTLEMENT_FLUSH_MS = 20;

/**
 * The spend ledger: settled spend per key and period in SQLite, open reservations in the reservation journal.
 *
 * - A reservation is on disk (journal) before its request is forwarded.
 * - Settlements are batched every 20 ms: spend is summed per key and period, committed with synchronous=FULL,
 *   then the settled reservations are closed in the journal and the journal is fsynced. Until then a reservation
 *   stays open, so a crash charges it in full at the next start: the ledger can overstate spend after a crash,
 *   never understate it.
 */
export class SqliteSpendRepository implements SpendRepository {
  private readonly spentStmt;
  private readonly commitSpend: (settlements: readonly SpendSettlement[]) => void;
  private pending: SpendSettlement[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly journal: ReservationJournal,
  ) {
    this.spentStmt = db.prepare<[string], { period_key: string; usd: number }>('SELECT period_key, usd FROM spend WHERE key_id = ?');
    const addSpend = db.prepare<[string, string, number]>(
      'INSERT INTO spend (key_id, period_key, usd) VALUES (?, ?, ?) ON CONFLICT(key_id, period_key) DO UPDATE SET usd = usd + excluded.usd',
    );
    this.commitSpend = db.transaction((settlements: readonly SpendSettlement[]) => {
      const sums = new Map<string, { keyId: string; periodKey: string; usd: number }>();
      for (const s of settlements) {
        if (s.usd <= 0) continue;
        // A project's spend is kept under its own id (prj_…), beside its keys' (key_…): the ids never collide.
        const charges: Array<[string, readonly string[]]> = [[s.keyId, s.periodKeys]];
        if (s.projectId !== undefined && s.projectPeriodKeys) charges.push([s.projectId, s.projectPeriodKeys]);
        for (const [owner, periodKeys] of charges) {
          for (const periodKey of periodKeys) {
            const id = `${owner}\n${periodKey}`;
            const sum = sums.get(id);
            if (sum) sum.usd += s.usd;
            else sums.set(id, { keyId: owner, periodKey, usd: s.usd });
          }
        }
      }
      for (const sum of sums.values()) addSpend.run(sum.keyId, sum.periodKey, sum.usd);
    });
  }

  spentFor(keyId: string): Promise<Record<string, number>> {
    return Promise.resolve(Object.fromEntries(this.spentStmt.all(keyId).map((row) => [row.period_key, row.usd])));
  }

  /** Written to the journal before it returns (synchronously: no promise on the request path); throws if it cannot be. */
  // Declared as the interface's `void | Promise<void>` so callers holding this class await it as they would any store's.
  reserve(reservation: ReservationRecord): void | Promise<void> {
    this.journal.append(reservation);
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

  /** Commits queued settlements now. A failed batch stays queued for the next attempt. */
  flushSettlements(): void {
    if (this.pending.length === 0 || !this.db.open) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.commitSpend(batch);
    } catch (err) {
      this.pending = batch.concat(this.pending);
      throw err;
    }
    this.journal.close(batch.flatMap((s) => (s.reservationId === null ? [] : [s.reservationId])));
    this.journal.sync();
  }

  reconcileOpenReservations(): Promise<number> {
    const open = this.journal.recover();
    if (open.length > 0) {
      // Charged in full to the key and, if it had one, its project: a crash never refills a shared budget.
      this.commitSpend(
        open.map((r) => ({
          reservationId: r.id,
          keyId: r.keyId,
          periodKeys: r.periodKeys,
          usd: r.usd,
          ...(r.projectId !== undefined && r.projectPeriodKeys ? { projectId: r.projectId, projectPeriodKeys: r.projectPeriodKeys } : {}),
        })),
      );
    }
    this.journal.compact();
    return Promise.resolve(open.length);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flushSettlements();
    this.journal.shutdown();
  }
}
