import type { ReservationRecord, SpendRepository, SpendSettlement } from '../types.js';
import type { SqliteDatabase } from './database.js';
import { GroupCommit } from './group-commit.js';

/** Settlements are committed in batches at this interval (the usage recorder's default flush interval). */
export const SETTLEMENT_FLUSH_MS = 20;

/**
 * The spend ledger on SQLite.
 *
 * - A reservation must be on disk before its request is forwarded, so reservations are group-committed once per
 *   event-loop turn. Those commits skip the fsync (synchronous=NORMAL for that transaction): in WAL mode the commit
 *   survives a process crash (kill -9) at once, and the next fsynced commit — the settlement batch, at most 20 ms
 *   later — makes it survive power loss too. An fsync per turn would cost ~70 µs of CPU each.
 * - Settlements (spend added, reservation closed) are batched every 20 ms and fsynced (synchronous=FULL); spend is
 *   summed per key and period first, so a batch writes one row per period, not one per request. Until a
 *   settlement is committed its reservation stays open on disk, so a crash charges it in full at the next start:
 *   the ledger can overstate spend after a crash, never understate it.
 */
export class SqliteSpendRepository implements SpendRepository {
  private readonly spentStmt;
  private readonly reservations: GroupCommit<ReservationRecord>;
  private readonly commitSettlements: (settlements: readonly SpendSettlement[]) => void;
  private readonly reconcile: () => number;
  private pending: SpendSettlement[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly db: SqliteDatabase) {
    this.spentStmt = db.prepare<[string], { period_key: string; usd: number }>('SELECT period_key, usd FROM spend WHERE key_id = ?');
    const insertReservation = db.prepare('INSERT INTO spend_reservations (id, key_id, usd, period_keys, created_at) VALUES (?, ?, ?, ?, ?)');
    const deleteReservation = db.prepare<[string]>('DELETE FROM spend_reservations WHERE id = ?');
    const addSpend = db.prepare<[string, string, number]>(
      'INSERT INTO spend (key_id, period_key, usd) VALUES (?, ?, ?) ON CONFLICT(key_id, period_key) DO UPDATE SET usd = usd + excluded.usd',
    );
    const applySettlements = (settlements: readonly SpendSettlement[]): void => {
      const sums = new Map<string, { keyId: string; periodKey: string; usd: number }>();
      for (const s of settlements) {
        if (s.reservationId !== null) deleteReservation.run(s.reservationId);
        if (s.usd <= 0) continue;
        for (const periodKey of s.periodKeys) {
          const id = `${s.keyId}\n${periodKey}`;
          const sum = sums.get(id);
          if (sum) sum.usd += s.usd;
          else sums.set(id, { keyId: s.keyId, periodKey, usd: s.usd });
        }
      }
      for (const sum of sums.values()) addSpend.run(sum.keyId, sum.periodKey, sum.usd);
    };
    const insertAll = db.transaction((rows: readonly ReservationRecord[]) => {
      for (const r of rows) insertReservation.run(r.id, r.keyId, r.usd, JSON.stringify(r.periodKeys), r.createdAt);
    });
    // Prepared once: db.pragma() would compile a statement on every call.
    const syncNormal = db.prepare('PRAGMA synchronous = NORMAL');
    const syncFull = db.prepare('PRAGMA synchronous = FULL');
    this.reservations = new GroupCommit<ReservationRecord>((rows) => {
      syncNormal.run();
      try {
        insertAll(rows);
      } finally {
        syncFull.run();
      }
    });
    this.commitSettlements = db.transaction(applySettlements);
    const openStmt = db.prepare<[], { id: string; key_id: string; usd: number; period_keys: string }>('SELECT * FROM spend_reservations');
    this.reconcile = db.transaction(() => {
      const open = openStmt.all();
      applySettlements(open.map((row) => ({ reservationId: row.id, keyId: row.key_id, periodKeys: JSON.parse(row.period_keys) as string[], usd: row.usd })));
      return open.length;
    });
  }

  spentFor(keyId: string): Promise<Record<string, number>> {
    return Promise.resolve(Object.fromEntries(this.spentStmt.all(keyId).map((row) => [row.period_key, row.usd])));
  }

  /** Resolves once the reservation is committed. */
  reserve(reservation: ReservationRecord): Promise<void> {
    return this.reservations.submit(reservation);
  }

  /** Queues the settlement for the next batch (at most SETTLEMENT_FLUSH_MS away); see the class comment. */
  settle(settlement: SpendSettlement): Promise<void> {
    this.pending.push(settlement);
    this.schedule();
    return Promise.resolve();
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

  /** Commits queued settlements now (shutdown). A failed batch stays queued for the next attempt. */
  flushSettlements(): void {
    if (this.pending.length === 0 || !this.db.open) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.commitSettlements(batch);
    } catch (err) {
      this.pending = batch.concat(this.pending);
      throw err;
    }
  }

  reconcileOpenReservations(): Promise<number> {
    return Promise.resolve(this.reconcile());
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flushSettlements();
  }
}
