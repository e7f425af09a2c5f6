// kill -9 with settlements batched, deterministically: the child (support/crash-batch-child.ts) has 10 requests
// settled and committed, 10 settled in memory whose batch has not run, and 10 never settled when it dies. The
// restarted store must charge exactly: the 10 committed at their cost, the other 20 at their full reservation.
// (Closing a reservation before its spend is committed would charge the middle 10 nothing: caught here.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { runUntilReport } from './support/run-until-report.js';

const child = path.join(import.meta.dirname, 'support/crash-batch-child.ts');


describe('crash with a settlement batch pending', () => {
  it('charges committed settlements at cost and every uncommitted or open reservation in full', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'kw-crash-batch-'));
    const { reserved, costs } = await runUntilReport<{ reserved: number[]; costs: number[] }>(child, [dataDir]);
    expect(reserved).toHaveLength(30);
    for (const usd of reserved) expect(usd).toBeGreaterThan(0);
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    const expected = sum(costs.slice(0, 10)) + sum(reserved.slice(10));
    // Sanity: the reservations are real worst cases, far above the reported costs.
    expect(sum(reserved.slice(10, 20))).toBeGreaterThan(sum(costs.slice(10, 20)) * 10);

    const store = SqliteStore.open(dataDir);
    try {
      expect(await store.spend.reconcileOpenReservations()).toBe(20);
      const spent = (await store.spend.spentFor('key_crash')).lifetime ?? NaN;
      expect(spent).toBeCloseTo(expected, 12);
      // Recovery closed them: a second start charges nothing again.
    } finally {
      await store.close();
    }
    const again = SqliteStore.open(dataDir);
    try {
      expect(await again.spend.reconcileOpenReservations()).toBe(0);
      expect((await again.spend.spentFor('key_crash')).lifetime).toBeCloseTo(expected, 12);
    } finally {
      await again.close();
    }
  });
});
