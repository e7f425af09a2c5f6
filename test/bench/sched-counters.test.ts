// The benchmark's per-window scheduler counters explain why a gateway's CPU per request moves between windows (for
// PostgreSQL + Redis: GC helper threads taking the core from the event loop). Each counter is read from /proc of
// this test process and must move when the thing it counts happens, so a misread field cannot pass unnoticed.
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { schedCounters } from '../../bench/gateway/procs.js';

/** Spins a worker thread for `ms` of wall time (CPU off the main thread), then waits for it to end. */
async function spinWorker(ms: number): Promise<void> {
  const worker = new Worker(`const end = Date.now() + ${ms}; let x = 0; while (Date.now() < end) x++;`, { eval: true });
  await new Promise((resolve, reject) => {
    worker.once('exit', resolve);
    worker.once('error', reject);
  });
}

describe('schedCounters', () => {
  it('counts the main thread blocking as voluntary switches', async () => {
    const before = schedCounters(process.pid);
    for (let i = 0; i < 5; i++) await sleep(5);
    const after = schedCounters(process.pid);
    expect(after.voluntarySwitches - before.voluntarySwitches).toBeGreaterThanOrEqual(5);
    expect(after.involuntarySwitches).toBeGreaterThanOrEqual(before.involuntarySwitches);
    expect(after.runQueueWaitUs).toBeGreaterThanOrEqual(before.runQueueWaitUs);
  });

  it('counts fresh pages as minor faults', () => {
    const before = schedCounters(process.pid).minorFaults;
    // 32 MB zero-filled: the kernel hands out (at least) thousands of fresh pages.
    const pages = Buffer.alloc(32 * 1024 * 1024, 1);
    const after = schedCounters(process.pid).minorFaults;
    expect(pages.length).toBe(32 * 1024 * 1024);
    expect(after - before).toBeGreaterThan(1000);
  });

  it("counts another thread's CPU as off the main thread, and not the main thread's own", async () => {
    const before = schedCounters(process.pid).offMainThreadUs;
    await spinWorker(500);
    const afterWorker = schedCounters(process.pid).offMainThreadUs;
    // 500 ms of spinning: at least 150 ms of CPU even when other test files share the machine's cores.
    expect(afterWorker - before).toBeGreaterThan(150_000);

    const end = Date.now() + 300;
    let spins = 0;
    while (Date.now() < end) spins++;
    const afterMain = schedCounters(process.pid).offMainThreadUs;
    expect(spins).toBeGreaterThan(0);
    // The main thread's 300 ms are not counted off it (the runtime's own helpers may add a little).
    expect(afterMain - afterWorker).toBeLessThan(100_000);
  });
});
