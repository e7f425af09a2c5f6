import { randomBytes } from 'node:crypto';
import type { ReservationRecord, SpendSettlement } from '../types.js';
import { reservationSettlement } from '../reservation-settlement.js';
import type { ReservationJournal } from './reservation-journal.js';

/**
 * A lease may hold at most this share of what the key's tightest budget still allows (after the reservation that
 * opens it): a kill -9 charges open leases in full, so this bounds what a crash can overstate, per open lease, to
 * 0.01 % of the remaining budget.
 */
export const LEASE_SHARE_OF_HEADROOM = 1e-4;
/**
 * A lease covers at most this many reservations of the size of the one that opens it. The headroom share above is
 * what bounds a crash's overstatement; this only binds for budgets far above the reservations (over about $25,000
 * for a $0.0025 request), where it keeps a lease's lines and closes from growing rarer than a few a second.
 */
export const LEASE_MAX_RESERVATIONS = 1024;
/** Below this many reservations' worth, a lease saves too little: the reservation gets its own line instead. */
export const LEASE_MIN_RESERVATIONS = 8;

/** Lease ids: a random prefix per process (96 bits, as reservation ids have) and a counter. */
const LEASE_PREFIX = `lease_${randomBytes(12).toString('base64url')}_`;
let leaseCounter = 0;
function newLeaseId(): string {
  leaseCounter += 1;
  return LEASE_PREFIX + leaseCounter.toString(36);
}

interface Lease {
  /** What the journal holds for it: a reservation line whose usd is the whole lease. */
  readonly record: ReservationRecord;
  /** USD not yet handed to a reservation. */
  left: number;
  /** Reservations taken from it and not yet settled. */
  outstanding: number;
  /** What its settled reservations cost: committed as one settlement in the batch that closes it. */
  settledUsd: number;
  /** Takes no more reservations; closes once nothing is outstanding. */
  retired: boolean;
  /** The journal write its reservations wait on before their requests are forwarded; undefined once written. */
  written: Promise<void> | undefined;
}

/**
 * Journal leases for keys far from their budgets (issue 14: "a key whose limits are far from exhausted is admitted
 * and settled without promises"). Instead of one journal line per reservation, one line reserves a block (a lease)
 * for the key's periods, and the reservations of the next requests are taken from it in memory: no line, no write
 * and no wait, until the block is used up and the next lease is written. The in-memory counters that admit or refuse
 * requests are untouched (each request still reserves exactly its own worst case there); a lease only changes what
 * the journal says a crash must charge.
 *
 * - **Never understates.** A lease is written before any request it covers is forwarded (a request taken from a
 *   lease whose line is still queued waits for that write, as a reservation's own line would), every reservation
 *   taken from it fits in it, and it is closed only by the settlement batch that commits the spend of the last of
 *   its reservations (its close id rides in that batch's close line), so until then recovery charges it in full.
 * - **Overstates by a bounded amount after a kill -9:** the open leases in full, i.e. at most the in-flight and
 *   unflushed reservations plus the unused part of each open lease and the settled part of leases not yet closed.
 *   Each lease is at most LEASE_SHARE_OF_HEADROOM of the budget's remaining headroom when it was opened and at most
 *   LEASE_MAX_RESERVATIONS reservations; a key has one current lease plus the retired ones whose requests are still
 *   in flight. Keys nearer their budgets (a lease would cover fewer than LEASE_MIN_RESERVATIONS) keep one line per
 *   reservation, which a crash charges exactly.
 * - A lease whose line cannot be written is dropped: its requests are refused and undone by the limits backend
 *   (they wait on the same write), and the next request opens a new one.
 * - An idle lease (nothing outstanding) is retired at the next settlement batch, so after traffic stops every lease
 *   is closed within a batch or two; shutdown retires them all.
 */
export class ReservationLeases {
  private readonly current = new Map<string, Lease>();
  private readonly byReservation = new Map<string, Lease>();
  /** Retired leases with nothing outstanding, for the next settlement batch to close. */
  private closable: Lease[] = [];

  constructor(private readonly journal: ReservationJournal) {}

  /**
   * Journals the reservation: taken from the key's lease when it has one that fits, else from a new lease when the
   * budget's `headroomUsd` (what it allows after this reservation) is large enough, else on a line of its own.
   * Returns the journal write to wait for, or nothing when the covering line is already on disk.
   */
  reserve(reservation: ReservationRecord, headroomUsd: number): void | Promise<void> {
    const usd = reservation.usd;
    let lease = this.current.get(reservation.keyId);
    if (lease !== undefined && (lease.left < usd || !sameOwners(lease.record, reservation))) {
      this.retire(lease);
      lease = undefined;
    }
    if (lease === undefined) {
      const size = Math.min(LEASE_MAX_RESERVATIONS * usd, headroomUsd * LEASE_SHARE_OF_HEADROOM);
      // `!(usd > 0)` also keeps a NaN reservation on its own line (where JSON.stringify's fallback records it).
      if (!(usd > 0) || !(size >= LEASE_MIN_RESERVATIONS * usd)) return this.journal.append(reservation);
      lease = this.open(reservation, size);
    }
    lease.left -= usd;
    lease.outstanding++;
    this.byReservation.set(reservation.id, lease);
    return lease.written;
  }

  /**
   * The reservation settled at `usd`. True when it was taken from a lease: its spend is then added to the lease's,
   * which is committed in the same batch as the lease's close (takeClosable), not in a batch of its own. A lease
   * retired with nothing left outstanding becomes closable.
   */
  settle(reservationId: string, usd: number): boolean {
    const lease = this.byReservation.get(reservationId);
    if (lease === undefined) return false;
    this.byReservation.delete(reservationId);
    // `> 0` also keeps a NaN cost out of the sum (the batch commit skips such settlements too).
    if (usd > 0) lease.settledUsd += usd;
    lease.outstanding--;
    if (lease.retired && lease.outstanding === 0) this.closable.push(lease);
    return true;
  }

  /** Retires every current lease with nothing outstanding (traffic paused): the next request opens a new one. */
  retireIdle(): void {
    for (const lease of this.current.values()) if (lease.outstanding === 0) this.retire(lease);
  }

  /** Retires every current lease (shutdown). */
  retireAll(): void {
    for (const lease of this.current.values()) this.retire(lease);
  }

  /**
   * The settlements that close the leases ready to close, for the batch being formed (each returned once): each
   * carries the lease's id, for the batch's close line, and the summed spend of all its reservations. The lease's
   * reservations all have its owners and periods (sameOwners), so the sum is charged exactly where they would be.
   * Committed with the close, the spend is never counted twice: until that batch commits, recovery charges the
   * whole lease instead (which covers what its reservations cost), and once it commits, recovery ignores the lease.
   */
  takeClosable(): SpendSettlement[] {
    const leases = this.closable;
    if (leases.length === 0) return NOTHING_TO_CLOSE;
    this.closable = [];
    return leases.map((lease) => reservationSettlement(lease.record, lease.settledUsd));
  }

  private open(first: ReservationRecord, size: number): Lease {
    const record: ReservationRecord = {
      id: newLeaseId(),
      keyId: first.keyId,
      usd: size,
      periodKeys: first.periodKeys,
      createdAt: first.createdAt,
      projectId: first.projectId,
      projectPeriodKeys: first.projectPeriodKeys,
    };
    const lease: Lease = { record, left: size, outstanding: 0, settledUsd: 0, retired: false, written: undefined };
    this.current.set(first.keyId, lease);
    const written = this.journal.append(record);
    if (written) {
      lease.written = written;
      written.then(
        () => {
          lease.written = undefined;
        },
        () => this.dropUnwritten(lease),
      );
    }
    return lease;
  }

  private retire(lease: Lease): void {
    if (lease.retired) return;
    this.stopTaking(lease);
    if (lease.outstanding === 0) this.closable.push(lease);
  }

  /** No reservation is taken from it any more: the key's next one opens a new lease. */
  private stopTaking(lease: Lease): void {
    lease.retired = true;
    if (this.current.get(lease.record.keyId) === lease) this.current.delete(lease.record.keyId);
  }

  /**
   * Its line never reached the disk: the journal no longer holds it open, and the limits backend undoes every
   * reservation taken from it (they waited on the same write). Nothing of it is left to close. Rare, so a scan.
   */
  private dropUnwritten(lease: Lease): void {
    this.stopTaking(lease);
    for (const [id, holder] of this.byReservation) if (holder === lease) this.byReservation.delete(id);
    lease.outstanding = 0;
  }
}

/** Shared, never mutated: most batches close no lease. */
const NOTHING_TO_CLOSE: SpendSettlement[] = [];

/** The same owners and periods: a lease only covers reservations charged exactly where it would be. */
function sameOwners(lease: ReservationRecord, reservation: ReservationRecord): boolean {
  return lease.projectId === reservation.projectId && sameKeys(lease.periodKeys, reservation.periodKeys) && sameKeys(lease.projectPeriodKeys, reservation.projectPeriodKeys);
}

function sameKeys(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
