// kill -9 at each step of a settlement batch (spend-repo.ts's crash-case table): the child
// (support/crash-settled-child.ts) admits 15 requests, settles 10 (12 in `retried`) with reported usage, runs the
// batch up to a step and is killed there. The restart must charge each settled reservation once — at its cost
// when the batch committed, in full when it did not — and each unsettled one in full; a second restart charges
// nothing more. `line-lost` is the power-loss case (commit durable, close line not): overstated, never understated.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { runUntilReport } from './support/run-until-report.js';

const child = path.join(import.meta.dirname, 'support/crash-settled-child.ts');
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

interface Report {
  reserved: number[];
  costs: number[];
  batchLines: string[];
}

async function crashAt(mode: string): Promise<{ dataDir: string } & Report> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kw-crash-window-'));
  const report = await runUntilReport<Report>(child, [dataDir, mode]);
  expect(report.reserved).toHaveLength(15);
  // The reservations are worst cases far above the costs, so a second charge could not hide in the tolerance.
  expect(sum(report.reserved.slice(0, report.costs.length))).toBeGreaterThan(sum(report.costs) * 10);
  return { dataDir, ...report };
}

/** Recovers twice; the first must charge `charged` reservations and both must leave `expected` spent. */
async function expectRecovery(dataDir: string, charged: number, expected: number): Promise<void> {
  const store = SqliteStore.open(dataDir);
  try {
    expect(await store.spend.reconcileOpenReservations()).toBe(charged);
    expect((await store.spend.spentFor('key_window')).lifetime).toBeCloseTo(expected, 12);
    // Recovery leaves no older-format rows and no other writer's mark behind.
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM settled_reservation_batches').get()).toEqual({ n: 0 });
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM settled_batch_marks').get()).toEqual({ n: charged > 0 ? 1 : 0 });
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
}

describe('kill -9 at each step of a settlement batch', () => {
  it('after the commit (close line written first, no fsync yet): each settled reservation once at its cost, each open one in full', async () => {
    const { dataDir, reserved, costs, batchLines } = await crashAt('after-commit');
    expect(costs).toHaveLength(10);
    expect(batchLines).toHaveLength(1);
    expect((JSON.parse(batchLines[0]!) as { c: string[] }).c).toHaveLength(10);
    await expectRecovery(dataDir, 5, sum(costs) + sum(reserved.slice(10)));
  });

  it('after the close line, with the commit failed: the line is not honoured, all 15 are charged in full', async () => {
    const { dataDir, reserved, batchLines } = await crashAt('commit-failed');
    expect(batchLines).toHaveLength(1);
    await expectRecovery(dataDir, 15, sum(reserved));
  });

  it('after a failed commit and its retry under the same seq: the 12 settled once at cost, the 3 open in full', async () => {
    const { dataDir, reserved, costs, batchLines } = await crashAt('retried');
    expect(costs).toHaveLength(12);
    // Two lines with the same tag: the failed attempt's 10 ids and the committed retry's 12.
    const parsed = batchLines.map((line) => JSON.parse(line) as { e: string; b: number; c: string[] });
    expect(parsed.map((p) => [p.b, p.c.length])).toEqual([
      [1, 10],
      [1, 12],
    ]);
    expect(parsed[0]!.e).toBe(parsed[1]!.e);
    await expectRecovery(dataDir, 3, sum(costs) + sum(reserved.slice(12)));
  });

  it('power loss with the commit durable and its close line lost: overstated (settled ones charged again in full), never understated', async () => {
    const { dataDir, reserved, costs, batchLines } = await crashAt('line-lost');
    expect(batchLines).toHaveLength(0);
    await expectRecovery(dataDir, 15, sum(costs) + sum(reserved));
  });
});
