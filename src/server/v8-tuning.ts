import { setFlagsFromString } from 'node:v8';

/**
 * The V8 flag the gateway process runs with, however it is started (`npm start`, the installed `keywarden serve`,
 * a container). The benchmark gives the floor proxy the same flag (bench/gateway/scenarios.ts).
 */
export const SERVING_V8_FLAGS = '--no-allocation-site-pretenuring';

/**
 * Turns off V8's allocation-site pretenuring for the serving process.
 *
 * Why: at 64 concurrent requests, objects of some request-path allocation sites are still alive at the
 * young-generation GC that samples them (they belong to requests in flight, or wait in the 20 ms usage batch), so V8
 * decides to allocate everything from those sites in the old generation from then on. The decision is made per
 * process, early, on a few hundred samples, and is not taken back: once objects are allocated in the old generation
 * V8 no longer sees that they die young. Such a process fills its old generation with short-lived garbage, runs
 * more full GCs, and keeps faulting in fresh pages for it. Measured with `cpu-ab` (c=64, a key with limits and
 * budgets, SQLite): in series of three and four runs, two in three and one in four took that decision and made
 * 0.85–0.98 minor page faults per request; with pretenuring off, 0.11–0.13 in every run. On PostgreSQL + Redis,
 * 0.87–0.93 against 0.42–0.53. On this machine a page fault costs about 10 µs (the kernel clearing a page the host
 * had taken back), so this was tens of µs per request, and a large part of why the same build read very differently
 * from one process to the next.
 *
 * The flag is read when V8 evaluates its pretenuring feedback, after start-up, so setting it here takes effect.
 */
export function tuneV8ForServing(): void {
  setFlagsFromString(SERVING_V8_FLAGS);
}
