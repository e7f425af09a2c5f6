// The benchmark's per-window scheduler counters explain why a gateway's CPU per request moves between windows (for
// PostgreSQL + Redis: GC helper threads taking the core from the event loop). Each counter is read from /proc of
// this test process and must move when the thing it counts happens, so a misread field cannot pass unnoticed.
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { schedCounters, wakeupInterrupts } from '../../bench/gateway/procs.js';

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

describe('wakeupInterrupts', () => {
  // The shape of /proc/interrupts on x86: a header of CPU columns, numbered IRQ rows and named rows; the timer (LOC)
  // and the call-function rows sit next to the ones counted, so summing a wrong row changes the answer.
  const TEXT = [
    '           CPU0       CPU1       ',
    '  1:          9          0  IO-APIC   1-edge      i8042',
    'NMI:          0          0   Non-maskable interrupts',
    'LOC:    2200244    2573933   Local timer interrupts',
    'RES:    1234643     342612   Rescheduling interrupts',
    'CAL:   10367369    5982980   Function call interrupts',
    'TLB:          7          3   TLB shootdowns',
    'ERR:          0',
    '',
  ].join('\n');

  it('sums the rescheduling and function-call rows per core, and nothing else', () => {
    expect(wakeupInterrupts(TEXT)).toEqual([1234643 + 10367369, 342612 + 5982980]);
  });

  it('reads NaN for a core when the rows are missing (another architecture)', () => {
    const withoutRows = TEXT.split('\n').filter((line) => !/^(RES|CAL):/.test(line)).join('\n');
    const counts = wakeupInterrupts(withoutRows);
    expect(counts).toHaveLength(2);
    expect(counts.every(Number.isNaN)).toBe(true);
  });

  // x86 names the rows RES and CAL; other architectures name their IPIs differently (the bench then reads NaN).
  it.runIf(process.arch === 'x64')('reads one finite, non-decreasing count per CPU from this machine', () => {
    const before = wakeupInterrupts();
    const after = wakeupInterrupts();
    expect(before.length).toBeGreaterThan(0);
    for (let core = 0; core < before.length; core++) {
      expect(Number.isFinite(before[core])).toBe(true);
      expect(after[core]).toBeGreaterThanOrEqual(before[core] as number);
    }
  });
});
