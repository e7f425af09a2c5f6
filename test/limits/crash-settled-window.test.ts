// kill -9 between a settlement batch's spend commit and its journal closing lines (the window that made
// crash-mid-batch.test.ts see spend above all reservations once): the child (support/crash-settled-child.ts) has
// 10 requests settled and committed whose reservations are still open in the journal, and 5 never settled. The
// restart must charge the 10 at their cost once — not again at their full reservation — and the 5 in full.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { runUntilReport } from './support/run-until-report.js';

const child = path.join(import.meta.dirname, 'support/crash-settled-child.ts');
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

describe('crash between a settlement commit and its journal close lines', () => {
  it('charges each settled reservation once (at its cost) and each open one in full, and forgets the batch after recovery', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'kw-crash-window-'));
    const { reserved, costs } = await runUntilReport<{ reserved: number[]; costs: number[] }>(child, [dataDir]);
    expect(reserved).toHaveLength(15);
    expect(costs).toHaveLength(10);
    // The reservations are worst cases far above the costs, so a second charge could not hide in the tolerance.
    expect(sum(reserved.slice(0, 10))).toBeGreaterThan(sum(costs) * 10);
    const expected = sum(costs) + sum(reserved.slice(10));

    const store = SqliteStore.open(dataDir);
    try {
      // The journal still has all 15 open: only the 5 unsettled are charged.
      expect(await store.spend.reconcileOpenReservations()).toBe(5);
      expect((await store.spend.spentFor('key_window')).lifetime).toBeCloseTo(expected, 12);
      // The settled batch's row is gone once the journal no longer holds its reservations.
      expect(store.db.prepare('SELECT COUNT(*) AS n FROM settled_reservation_batches').get()).toEqual({ n: 0 });
    } finally {
      await store.close();
    }
    const again = SqliteStore.open(dataDir);
    try {
      expect(await again.spend.reconcileOpenReservations()).toBe(0);
      expect((await again.spend.spentFor('key_window')).lifetime).toBeCloseTo(expected, 12);
    } finally {
      await again.close();
    }
  });
});
