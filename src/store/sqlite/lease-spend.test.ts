// A lease's reservations settle into the lease: their spend is committed by the batch that closes the lease, so a
// kill -9 charges either the whole lease (still open) or the spend it carried (closed), never both and never less.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReservationRecord } from '../types.js';
import { openDatabase } from './database.js';
import { LEASE_MAX_RESERVATIONS, LEASE_SHARE_OF_HEADROOM } from './reservation-leases.js';
import { ReservationJournal } from './reservation-journal.js';
import { SqliteSpendRepository } from './spend-repo.js';

const PERIOD = 'day:2026-11-30';
const PROJECT_PERIOD = 'month:2026-11';
/** Headroom at which a lease is as large as it may get. */
const FAR = (LEASE_MAX_RESERVATIONS * 0.01) / LEASE_SHARE_OF_HEADROOM;

let counter = 0;
const reservation = (): ReservationRecord => ({
  id: `res_ls_${++counter}`,
  keyId: 'key_l',
  usd: 0.01,
  periodKeys: [PERIOD],
  createdAt: 1,
  projectId: 'prj_l',
  projectPeriodKeys: [PROJECT_PERIOD],
});

function open(dir: string): SqliteSpendRepository {
  return new SqliteSpendRepository(openDatabase(path.join(dir, 'kw.sqlite')), new ReservationJournal(path.join(dir, 'reservations.journal')));
}

/** What a fresh writer finds after the process died: reservations charged in full, and the spend per owner. */
async function recover(dir: string): Promise<{ charged: number; key: number; project: number }> {
  const repo = open(dir);
  try {
    const charged = await repo.reconcileOpenReservations();
    return { charged, key: (await repo.spentFor('key_l'))[PERIOD] ?? 0, project: (await repo.spentFor('prj_l'))[PROJECT_PERIOD] ?? 0 };
  } finally {
    repo.close();
  }
}

async function settleFromLease(repo: SqliteSpendRepository, costs: number[]): Promise<ReservationRecord[]> {
  const taken: ReservationRecord[] = [];
  for (const usd of costs) {
    const r = reservation();
    await repo.reserve(r, FAR);
    taken.push(r);
    void repo.settle({ reservationId: r.id, keyId: r.keyId, periodKeys: r.periodKeys, usd, projectId: r.projectId, projectPeriodKeys: r.projectPeriodKeys });
  }
  return taken;
}

describe('spend of reservations taken from a lease', () => {
  it('is not committed batch by batch while the lease is open: a crash then charges the whole lease once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kw-lease-spend-'));
    const repo = open(dir);
    await settleFromLease(repo, [0.004, 0.003, 0.002]);
    // Batches run (as the 20 ms timer would); one reservation is still outstanding, so the lease is not idle at
    // them and stays open.
    const last = reservation();
    await repo.reserve(last, FAR);
    repo.flushSettlements();
    repo.flushSettlements();
    // kill -9 here (no close): the lease is open, its settled spend uncommitted.
    const after = await recover(dir);
    expect(after.charged).toBe(1);
    // The whole lease, once: all the reservations it may hold, not its three settlements on top.
    expect(after.key).toBeCloseTo(LEASE_MAX_RESERVATIONS * 0.01, 9);
    expect(after.project).toBeCloseTo(LEASE_MAX_RESERVATIONS * 0.01, 9);
  });

  it('is committed with the batch that closes the lease, to the key and its project, and never charged again', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kw-lease-spend-'));
    const repo = open(dir);
    await settleFromLease(repo, [0.004, 0.003, 0.002]);
    // Idle at this batch: retired, closed, and its spend committed in the same transaction as the close's mark.
    repo.flushSettlements();
    // kill -9 after that batch (no close, no shutdown flush).
    expect(await recover(dir)).toEqual({ charged: 0, key: expect.closeTo(0.009, 12) as number, project: expect.closeTo(0.009, 12) as number });
    // And again: nothing is charged twice.
    expect(await recover(dir)).toEqual({ charged: 0, key: expect.closeTo(0.009, 12) as number, project: expect.closeTo(0.009, 12) as number });
  });

  it('leaves the spend table alone while the lease is open, and a clean shutdown closes the lease with all its spend', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kw-lease-spend-'));
    const repo = open(dir);
    const costs = Array.from({ length: 40 }, (_, i) => 0.001 * (1 + (i % 5)));
    await settleFromLease(repo, costs.slice(0, 20));
    const outstanding = reservation();
    await repo.reserve(outstanding, FAR);
    repo.flushSettlements();
    // Read beside the writer: the batches so far committed nothing for the lease's settled reservations.
    const reader = openDatabase(path.join(dir, 'kw.sqlite'));
    expect(reader.prepare('SELECT COUNT(*) AS n FROM spend').get()).toEqual({ n: 0 });
    reader.close();
    await settleFromLease(repo, costs.slice(20));
    void repo.settle({ reservationId: outstanding.id, keyId: 'key_l', periodKeys: [PERIOD], usd: 0.005, projectId: 'prj_l', projectPeriodKeys: [PROJECT_PERIOD] });
    repo.close();
    const total = costs.reduce((a, b) => a + b, 0) + 0.005;
    expect(await recover(dir)).toEqual({ charged: 0, key: expect.closeTo(total, 12) as number, project: expect.closeTo(total, 12) as number });
  });
});
