import type { ReservationRecord, SpendRepository, SpendSettlement } from '../types.js';
import type { SqliteDatabase } from './database.js';
import { GroupCommit } from './group-commit.js';

type LedgerOp = { kind: 'reserve'; reservation: ReservationRecord } | { kind: 'settle'; settlement: SpendSettlement };

export class SqliteSpendRepository implements SpendRepository {
  private readonly spentStmt;
  private readonly commits: GroupCommit<LedgerOp>;
  private readonly reconcile: () => number;

  constructor(db: SqliteDatabase) {
    this.spentStmt = db.prepare<[string], { period_key: string; usd: number }>('SELECT period_key, usd FROM spend WHERE key_id = ?');
    const insertReservation = db.prepare('INSERT INTO spend_reservations (id, key_id, usd, period_keys, created_at) VALUES (?, ?, ?, ?, ?)');
    const deleteReservation = db.prepare<[string]>('DELETE FROM spend_reservations WHERE id = ?');
    const addSpend = db.prepare<[string, string, number]>(
      'INSERT INTO spend (key_id, period_key, usd) VALUES (?, ?, ?) ON CONFLICT(key_id, period_key) DO UPDATE SET usd = usd + excluded.usd',
    );
    const applySettlement = (s: SpendSettlement): void => {
      if (s.reservationId !== null) deleteReservation.run(s.reservationId);
      if (s.usd > 0) for (const periodKey of s.periodKeys) addSpend.run(s.keyId, periodKey, s.usd);
    };
    this.commits = new GroupCommit<LedgerOp>(
      db.transaction((ops: readonly LedgerOp[]) => {
        for (const op of ops) {
          if (op.kind === 'reserve') {
            const r = op.reservation;
            insertReservation.run(r.id, r.keyId, r.usd, JSON.stringify(r.periodKeys), r.createdAt);
          } else {
            applySettlement(op.settlement);
          }
        }
      }),
    );
    const openStmt = db.prepare<[], { id: string; key_id: string; usd: number; period_keys: string }>('SELECT * FROM spend_reservations');
    this.reconcile = db.transaction(() => {
      const open = openStmt.all();
      for (const row of open) {
        applySettlement({ reservationId: row.id, keyId: row.key_id, periodKeys: JSON.parse(row.period_keys) as string[], usd: row.usd });
      }
      return open.length;
    });
  }

  spentFor(keyId: string): Promise<Record<string, number>> {
    return Promise.resolve(Object.fromEntries(this.spentStmt.all(keyId).map((row) => [row.period_key, row.usd])));
  }

  reserve(reservation: ReservationRecord): Promise<void> {
    return this.commits.submit({ kind: 'reserve', reservation });
  }

  settle(settlement: SpendSettlement): Promise<void> {
    return this.commits.submit({ kind: 'settle', settlement });
  }

  reconcileOpenReservations(): Promise<number> {
    return Promise.resolve(this.reconcile());
  }
}
