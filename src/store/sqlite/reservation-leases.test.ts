import fs, { mkdtempSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { ReservationRecord } from '../types.js';
import { LEASE_MAX_RESERVATIONS, LEASE_MIN_RESERVATIONS, LEASE_SHARE_OF_HEADROOM, ReservationLeases } from './reservation-leases.js';
import { ReservationJournal } from './reservation-journal.js';

let counter = 0;
const reservation = (usd = 0.01, periodKeys = ['day:2026-11-30'], keyId = 'key_a'): ReservationRecord => ({ id: `res_t_${++counter}`, keyId, usd, periodKeys, createdAt: 1 });
/** Headroom at which a lease is as large as it may get. */
const FAR = (LEASE_MAX_RESERVATIONS * 0.01) / LEASE_SHARE_OF_HEADROOM;

function setUp(): { journal: ReservationJournal; leases: ReservationLeases } {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'kw-leases-')), 'reservations.journal');
  const journal = new ReservationJournal(file);
  return { journal, leases: new ReservationLeases(journal) };
}

/** What a crash right now would charge: every line recovery finds open. */
const openUsd = (journal: ReservationJournal): number => journal.recover().reduce((sum, r) => sum + r.usd, 0);

describe('ReservationLeases', () => {
  it('journals one lease for many reservations of a key far from its budget; only the turn that writes it waits', async () => {
    const { journal, leases } = setUp();
    const first = leases.reserve(reservation(), FAR);
    expect(first).toBeInstanceOf(Promise);
    // The same turn: covered by the lease whose line is still queued, so they wait on the same write.
    expect(leases.reserve(reservation(), FAR)).toBe(first);
    await first;
    // Then reservations are taken from it with no write and nothing to wait for, until it is used up (the 64th
    // may miss by a rounding error).
    let taken = 2;
    while (leases.reserve(reservation(), FAR) === undefined) taken++;
    expect(taken).toBeGreaterThanOrEqual(LEASE_MAX_RESERVATIONS - 1);
    expect(taken).toBeLessThanOrEqual(LEASE_MAX_RESERVATIONS);
    await Promise.resolve();
    const open = journal.recover();
    expect(open).toHaveLength(1);
    expect(open[0]?.id).toMatch(/^lease_/);
    expect(open[0]?.usd).toBeCloseTo(LEASE_MAX_RESERVATIONS * 0.01, 12);
    // The reservation that did not fit opened the next lease, written with its turn.
    await new Promise((resolve) => setImmediate(resolve));
    expect(journal.recover()).toHaveLength(2);
    journal.shutdown();
  });

  it('gives a key near its budget one line per reservation, charged exactly', async () => {
    const { journal, leases } = setUp();
    // A lease here would cover fewer than the minimum number of reservations.
    const near = ((LEASE_MIN_RESERVATIONS * 0.01) / LEASE_SHARE_OF_HEADROOM) * 0.99;
    const records = [reservation(), reservation(), reservation()];
    for (const r of records) await leases.reserve(r, near);
    expect(journal.recover().map((r) => r.id)).toEqual(records.map((r) => r.id));
    expect(openUsd(journal)).toBeCloseTo(0.03, 12);
    // A zero or non-finite reservation is never leased either.
    await leases.reserve(reservation(0), FAR);
    await leases.reserve(reservation(Number.NaN), FAR);
    expect(journal.recover()).toHaveLength(5);
    journal.shutdown();
  });

  it('sizes a lease by the budget headroom: at most its share, never past the headroom', async () => {
    const { journal, leases } = setUp();
    const headroom = (LEASE_MIN_RESERVATIONS * 2 * 0.01) / LEASE_SHARE_OF_HEADROOM;
    await leases.reserve(reservation(), headroom);
    const [lease] = journal.recover();
    expect(lease?.usd).toBeCloseTo(headroom * LEASE_SHARE_OF_HEADROOM, 12);
    expect(lease?.usd).toBeLessThan(LEASE_MAX_RESERVATIONS * 0.01);
    journal.shutdown();
  });

  it('opens a new lease when the periods change, and closes a retired lease only once its last reservation settles', async () => {
    const { journal, leases } = setUp();
    const today = [reservation(), reservation()];
    for (const r of today) await leases.reserve(r, FAR);
    const tomorrow = reservation(0.01, ['day:2026-12-01']);
    await leases.reserve(tomorrow, FAR);
    const [todayLease, tomorrowLease] = journal.recover();
    expect(todayLease?.periodKeys).toEqual(['day:2026-11-30']);
    expect(tomorrowLease?.periodKeys).toEqual(['day:2026-12-01']);
    // The retired lease still has two reservations outstanding.
    expect(leases.settle(today[0]?.id ?? '', 0.004)).toBe(true);
    expect(leases.takeClosable()).toEqual([]);
    expect(leases.settle(today[1]?.id ?? '', 0.003)).toBe(true);
    // Its close carries the spend of both its reservations, charged to its key and periods.
    const [todayClose, ...none] = leases.takeClosable();
    expect(none).toEqual([]);
    expect(todayClose).toMatchObject({ reservationId: todayLease?.id, keyId: 'key_a', periodKeys: ['day:2026-11-30'] });
    expect(todayClose?.usd).toBeCloseTo(0.007, 12);
    expect(todayClose?.projectId).toBeUndefined();
    // A reservation the leases never took settles as its own.
    expect(leases.settle('res_unknown', 0.01)).toBe(false);
    // The current lease is idle once its reservation settles: retired and closable at the next batch. A NaN or
    // negative cost adds nothing to its sum.
    leases.settle(tomorrow.id, Number.NaN);
    expect(leases.takeClosable()).toEqual([]);
    leases.retireIdle();
    expect(leases.takeClosable()).toEqual([{ reservationId: tomorrowLease?.id, keyId: 'key_a', periodKeys: ['day:2026-12-01'], usd: 0 }]);
    journal.shutdown();
  });

  it('never lets a crash charge less than the reservations outstanding, through random reserve and settle', async () => {
    const { journal, leases } = setUp();
    const outstanding = new Map<string, number>();
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let step = 0; step < 3000; step++) {
      if (random() < 0.55 || outstanding.size === 0) {
        const r = reservation(0.001 + random() * 0.02, random() < 0.02 ? ['day:2026-12-01'] : ['day:2026-11-30']);
        await leases.reserve(r, FAR * (0.05 + random()));
        outstanding.set(r.id, r.usd);
      } else {
        const id = [...outstanding.keys()][Math.floor(random() * outstanding.size)] as string;
        outstanding.delete(id);
        leases.settle(id, 0.001);
      }
      // A crash now (settlements not committed): recovery charges the open lines in full, leases included.
      if (step % 50 === 0) {
        const owed = [...outstanding.values()].reduce((a, b) => a + b, 0);
        expect(openUsd(journal)).toBeGreaterThanOrEqual(owed * (1 - 1e-9));
      }
    }
    journal.shutdown();
  });

  it('drops a lease whose line cannot be written, and opens a new one for the next reservation', async () => {
    const { journal, leases } = setUp();
    const original = fs.writeSync;
    const full = vi.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    syncBuiltinESMExports();
    const doomed = [reservation(), reservation()];
    let failed: unknown[];
    try {
      const written = doomed.map((r) => leases.reserve(r, FAR));
      failed = await Promise.all(written.map((w) => Promise.resolve(w).then(() => null, (err: unknown) => err)));
    } finally {
      full.mockRestore();
      syncBuiltinESMExports();
    }
    expect(fs.writeSync).toBe(original);
    expect(failed.every((e) => e instanceof Error)).toBe(true);
    expect(journal.recover()).toEqual([]);
    // Its reservations are no longer held by any lease, and nothing is left to close.
    expect(leases.settle(doomed[0]?.id ?? '', 0.01)).toBe(false);
    expect(leases.takeClosable()).toEqual([]);
    const next = reservation();
    const written = leases.reserve(next, FAR);
    expect(written).toBeInstanceOf(Promise);
    await written;
    expect(journal.recover()).toHaveLength(1);
    journal.shutdown();
  });
});
