import type { ReservationRecord, SpendSettlement } from './types.js';

/**
 * The settlement that closes a reservation (or a lease) and charges `usd` to exactly the owners and periods it
 * reserved against: its key's, and its project's when it has one. Recovery charges an open reservation in full
 * (the default); a lease closes with the summed cost of the reservations taken from it.
 */
export function reservationSettlement(record: ReservationRecord, usd = record.usd): SpendSettlement {
  return {
    reservationId: record.id,
    keyId: record.keyId,
    periodKeys: record.periodKeys,
    usd,
    ...(record.projectId !== undefined && record.projectPeriodKeys ? { projectId: record.projectId, projectPeriodKeys: record.projectPeriodKeys } : {}),
  };
}
