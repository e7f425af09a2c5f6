// Event-loop µs per spend-settlement batch on the SQLite store, for builds A/B: each round journals `--batch`
// reservations, settles them, and runs one batch as the 20 ms timer would; the batch's flush and the callback that
// runs when the write-ahead log's fsync returns are timed in wall µs (each build's own method names;
// BATCH_BENCH_DETAIL=1 also times the parts), and each whole round (the batch with its 150 reserve and settle calls)
// in main-thread CPU from schedstat, read after the round's sleep, when it is up to date: compare builds by that.
//
//   node --import tsx bench/limits/settle-batch-cost.ts --dist A_DIR [--dist B_DIR] [--batch 150] [--batches 300]
//     [--no-fsync]   (background fsyncs answered at once, without the threadpool: the builds' own work only)
import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** CPU time of this process's main thread (the event loop) in µs: schedstat's first field, in ns. */
function mainThreadCpuUs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
}

type Method = (...args: unknown[]) => unknown;
interface SpendLike {
  reserve(r: unknown): unknown;
  settle(s: unknown): unknown;
  flushSettlements(): void;
}

/** Wraps `proto[name]` (when the build has it) so its time is added to `into[label]`. */
function timeMethod(proto: Record<string, unknown>, name: string, into: Map<string, number>, label: string): void {
  const original = proto[name] as Method | undefined;
  if (typeof original !== 'function') return;
  proto[name] = function (this: unknown, ...args: unknown[]): unknown {
    // Wall time: schedstat is only brought up to date at scheduling events, so it cannot time a single call.
    const start = process.hrtime.bigint();
    try {
      return original.apply(this, args);
    } finally {
      into.set(label, (into.get(label) ?? 0) + Number(process.hrtime.bigint() - start) / 1000);
    }
  };
}

async function run(dist: string, batch: number, batches: number): Promise<Map<string, number>> {
  const { SqliteStore } = (await import(path.join(dist, 'store/index.js'))) as { SqliteStore: { open(dir: string): { spend: SpendLike; close(): Promise<void> } } };
  const spendModule = (await import(path.join(dist, 'store/sqlite/spend-repo.js'))) as { SqliteSpendRepository: { prototype: Record<string, unknown> } };
  const journalModule = (await import(path.join(dist, 'store/sqlite/reservation-journal.js'))) as { ReservationJournal: { prototype: Record<string, unknown> } };
  const totals = new Map<string, number>();
  timeMethod(spendModule.SqliteSpendRepository.prototype, 'flushSettlements', totals, 'flush');
  timeMethod(spendModule.SqliteSpendRepository.prototype, 'closeDurable', totals, 'after log fsync');
  timeMethod(journalModule.ReservationJournal.prototype, 'settledDurably', totals, 'after log fsync');
  if (process.env.BATCH_BENCH_DETAIL) {
    const durability = (await import(path.join(dist, 'store/sqlite/wal-durability.js'))) as { WalDurability: { prototype: Record<string, unknown> } };
    for (const name of ['commitRelaxed', 'afterDurable', 'requestDurable']) timeMethod(durability.WalDurability.prototype, name, totals, `  ${name}`);
    for (const name of ['writeBatchClose', 'close', 'syncInBackground', 'compact']) timeMethod(journalModule.ReservationJournal.prototype, name, totals, `  journal.${name}`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kw-batch-bench-'));
  const store = SqliteStore.open(dir);
  try {
    let n = 0;
    let cpu = 0;
    for (let round = 0; round < batches; round++) {
      const cpuStart = mainThreadCpuUs();
      for (let i = 0; i < batch; i++) {
        const id = `res_${process.pid}_${n++}:${'x'.repeat(20)}`;
        store.spend.reserve({ id, keyId: 'key_bench', usd: 0.05, periodKeys: ['day:2026-11-30', 'month:2026-11'], createdAt: Date.now() });
        store.spend.settle({ reservationId: id, keyId: 'key_bench', periodKeys: ['day:2026-11-30', 'month:2026-11'], usd: 0.0004 });
      }
      store.spend.flushSettlements();
      // Lets the threadpool fsyncs return and their callbacks run, as in the 20 ms between batches.
      await new Promise((resolve) => setTimeout(resolve, Number(process.env.BATCH_BENCH_SLEEP_MS ?? 8)));
      cpu += mainThreadCpuUs() - cpuStart;
    }
    // The whole round on the event loop, CPU time (not wall): the batch plus its reserve/settle calls and the timer.
    totals.set('round main-thread CPU', cpu);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [label, us] of totals) totals.set(label, us / batches);
  return totals;
}

const { values } = parseArgs({
  options: { dist: { type: 'string', multiple: true }, batch: { type: 'string', default: '150' }, batches: { type: 'string', default: '300' }, 'no-fsync': { type: 'boolean', default: false } },
});
if (values['no-fsync']) {
  // Both builds submit the same fsyncs to the threadpool (only at different points); without them, what is left is
  // each build's own event-loop work, and no threadpool thread competes with it for the core.
  const answerAtOnce = (_fd: number, callback: (error: NodeJS.ErrnoException | null) => void): void => {
    setImmediate(callback, null);
  };
  (fs as { fsync: unknown }).fsync = answerAtOnce;
  syncBuiltinESMExports();
}
const dists = values.dist ?? [];
if (dists.length === 0) throw new Error('usage: settle-batch-cost.ts --dist DIR [--dist DIR2]');
for (const dist of dists) {
  // Each build in its own process would be cleaner; one process per invocation keeps the wrapping simple.
  const result = await run(path.resolve(dist), Number(values.batch), Number(values.batches));
  const parts = [...result].map(([label, us]) => `${label} ${us.toFixed(1)} µs`).join(', ');
  console.log(`${dist}: per batch of ${values.batch} (wall µs; the round in main-thread CPU µs): ${parts}`);
}
