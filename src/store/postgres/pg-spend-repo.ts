import type { ReservationRecord, SpendRepository, SpendSettlement } from '../types.js';
import { reservationSettlement } from '../reservation-settlement.js';
import { INSTANCE_LOCK_CLASS, type PgDatabase } from './pg-database.js';

/** Adds summed spend per (owner, period key): $1 owners, $2 period keys, $3 USD (an empty batch inserts nothing). */
const ADD_SPEND_SQL = `INSERT INTO spend (key_id, period_key, usd)
  SELECT * FROM unnest($1::text[], $2::text[], $3::double precision[])
  ON CONFLICT (key_id, period_key) DO UPDATE SET usd = spend.usd + excluded.usd`;

/** Settlements are committed in batches at this interval (as in the SQLite store). */
export const PG_SETTLEMENT_FLUSH_MS = 20;

interface Charge {
  owner: string;
  periodKey: string;
  usd: number;
}

/** Sums settlements per (owner, period): one row per key or project period, whatever the batch size. */
function sumCharges(settlements: readonly SpendSettlement[]): Charge[] {
  const sums = new Map<string, Charge>();
  for (const s of settlements) {
    if (!(s.usd > 0)) continue;
    // A project's spend is kept under its own id (prj_…), beside its keys' (key_…): the ids never collide.
    const charges: Array<[string, readonly string[]]> = [[s.keyId, s.periodKeys]];
    if (s.projectId !== undefined && s.projectPeriodKeys) charges.push([s.projectId, s.projectPeriodKeys]);
    for (const [owner, periodKeys] of charges) {
      for (const periodKey of periodKeys) {
        const id = `${owner}\n${periodKey}`;
        const sum = sums.get(id);
        if (sum) sum.usd += s.usd;
        else sums.set(id, { owner, periodKey, usd: s.usd });
      }
    }
  }
  return [...sums.values()];
}

/**
 * The spend ledger in PostgreSQL, shared by every replica.
 *
 * - A reservation is a row of spend_reservations, committed before its request is forwarded; the reservations of
 *   one event-loop turn go in one INSERT. Each row names its store instance (owner_lock), which holds a session
 *   advisory lock on that number for as long as it lives (pg-key-listener.ts).
 * - Settlements are batched every 20 ms: in ONE statement the summed spend is added and the settled reservations
 *   are deleted, so a settlement is charged exactly once, even across a crash.
 * - Recovery charges in full the open reservations whose owner holds no lock (a replica that died), never those
 *   of a live replica: the ledger may overstate spend after a crash, never understate it.
 */
export class PgSpendRepository implements SpendRepository {
  private pending: SpendSettlement[] = [];
  private timer: NodeJS.Timeout | null = null;
  private reservations: Array<{ record: ReservationRecord; resolve: () => void; reject: (err: unknown) => void }> = [];
  private reserveScheduled = false;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly db: PgDatabase,
    private readonly instanceLock: number,
    private readonly now: () => number = Date.now,
  ) {}

  async spentFor(keyId: string): Promise<Record<string, number>> {
    const rows = await this.db.rows<{ period_key: string; usd: number }>('SELECT period_key, usd FROM spend WHERE key_id = $1', [keyId]);
    return Object.fromEntries(rows.map((row) => [row.period_key, row.usd]));
  }

  /** Resolves once the reservation is committed (one INSERT for every reservation of this event-loop turn). */
  reserve(reservation: ReservationRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.reservations.push({ record: reservation, resolve, reject });
      if (!this.reserveScheduled) {
        this.reserveScheduled = true;
        setImmediate(() => void this.writeReservations());
      }
    });
  }

  private async writeReservations(): Promise<void> {
    this.reserveScheduled = false;
    const batch = this.reservations;
    this.reservations = [];
    try {
      await this.db.query(
        `INSERT INTO spend_reservations (id, owner_lock, record, created_at)
         SELECT id, $2, record, $4 FROM unnest($1::text[], $3::text[]) AS r(id, record)`,
        [batch.map((b) => b.record.id), this.instanceLock, batch.map((b) => JSON.stringify(b.record)), this.now()],
      );
    } catch (err) {
      for (const b of batch) b.reject(err);
      return;
    }
    for (const b of batch) b.resolve();
  }

  /** Queues the settlement for the next batch (at most PG_SETTLEMENT_FLUSH_MS away). */
  settle(settlement: SpendSettlement): void | Promise<void> {
    // Nothing to wait for (the batch is durable within PG_SETTLEMENT_FLUSH_MS): no promise per settlement.
    this.pending.push(settlement);
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flushSettlements().catch(() => this.schedule());
    }, PG_SETTLEMENT_FLUSH_MS);
  }

  /** Commits queued settlements now. A failed batch stays queued for the next attempt. */
  async flushSettlements(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const run = this.commit(batch).catch((err: unknown) => {
      this.pending = batch.concat(this.pending);
      throw err;
    });
    this.flushing = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      await run;
    } finally {
      this.flushing = null;
    }
  }

  /**
   * One statement, so it is atomic without a transaction: the spend is added and the settled reservations are
   * deleted together (a data-modifying WITH runs exactly once, whether or not the INSERT reads it). No BEGIN/COMMIT
   * round trips, and no transaction scope switching AsyncLocalStorage on for every promise of the process while it
   * is open — this runs every PG_SETTLEMENT_FLUSH_MS under load.
   */
  private async commit(settlements: readonly SpendSettlement[]): Promise<void> {
    const charges = sumCharges(settlements);
    const closed = settlements.flatMap((s) => (s.reservationId === null ? [] : [s.reservationId]));
    if (charges.length === 0 && closed.length === 0) return;
    const owners = charges.map((c) => c.owner);
    const periodKeys = charges.map((c) => c.periodKey);
    const amounts = charges.map((c) => c.usd);
    if (closed.length === 0) {
      await this.db.query(ADD_SPEND_SQL, [owners, periodKeys, amounts]);
    } else {
      await this.db.query(`WITH closed AS (DELETE FROM spend_reservations WHERE id = ANY($4::text[])) ${ADD_SPEND_SQL}`, [owners, periodKeys, amounts, closed]);
    }
  }

  /**
   * Charges every open reservation whose owner is no longer alive (its advisory lock is free), in one transaction;
   * SKIP LOCKED lets two replicas recovering at once split the work instead of charging a reservation twice.
   */
  async reconcileOpenReservations(): Promise<number> {
    return this.db.transaction(async () => {
      const rows = await this.db.rows<{ id: string; record: string }>(
        `SELECT r.id, r.record FROM spend_reservations r
         WHERE r.owner_lock <> $2 AND NOT EXISTS (
           SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1
             AND l.objid::bigint = (r.owner_lock::bigint & 4294967295) AND l.objsubid = 2
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
         FOR UPDATE OF r SKIP LOCKED`,
        [INSTANCE_LOCK_CLASS, this.instanceLock],
      );
      if (rows.length === 0) return 0;
      const settlements = rows.map((row) => reservationSettlement(JSON.parse(row.record) as ReservationRecord));
      await this.commit(settlements);
      return rows.length;
    });
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.reservations.length > 0) await this.writeReservations();
    await this.flushSettlements();
  }
}
