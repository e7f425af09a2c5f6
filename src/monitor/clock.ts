/**
 * Time as a dependency. The engine and delivery never read Date.now or call setTimeout themselves, so tests move
 * time forward explicitly and nothing sleeps.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` every `ms`; returns a function that stops it. */
  every(ms: number, fn: () => Promise<void>): () => void;
}

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const timer = setInterval(() => void fn(), ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

interface ManualTimer {
  due: number;
  ms: number;
  fn: () => Promise<void>;
  active: boolean;
}

/** A clock for tests: time moves only through `advance`, which runs (and awaits) every interval that falls due. */
export class ManualClock implements Clock {
  private timers: ManualTimer[] = [];

  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  every(ms: number, fn: () => Promise<void>): () => void {
    const timer: ManualTimer = { due: this.current + ms, ms, fn, active: true };
    this.timers.push(timer);
    return () => {
      timer.active = false;
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.active && t.due <= target).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.current = next.due;
      next.due += next.ms;
      await next.fn();
    }
    this.current = target;
  }

  set(ms: number): void {
    this.current = ms;
  }

  /**
   * Moves time forward by `ms` without firing the intervals in between, each next due one interval from the new
   * time: a test that simulates a long history calls the engine's `tick` itself, once per simulated hour, instead
   * of waiting for thousands of per-minute evaluations.
   */
  skip(ms: number): void {
    this.current += ms;
    for (const timer of this.timers) timer.due = this.current + timer.ms;
  }
}
