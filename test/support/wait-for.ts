import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long (default 5 s). */
  timeoutMs?: number;
  /** Pause between checks (default 10 ms); each pause yields to I/O, unlike a fake clock advance. */
  intervalMs?: number;
  /** Named in the timeout error, so a failure says what never happened. */
  what?: string;
}

/**
 * Polls `predicate` until it holds, instead of sleeping a fixed time and hoping: returns the first truthy value,
 * or throws once the deadline passes (so a condition that never comes fails the test, bounded).
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`waitFor: ${options.what ?? 'condition'} not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
