import { KeywardenError } from '../errors/index.js';
import type { Sleep } from './clock.js';

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export type DeliveryOutcome =
  | { status: 'delivered'; attempts: number }
  | { status: 'failed'; attempts: number; error: string }
  /** Shutdown interrupted it; the delivery stays pending and is resumed on the next start. */
  | { status: 'interrupted'; attempts: number; error: string | null };

/** Delay before attempt n+1: base · 2^(n-1), capped. Attempt 1 is immediate. */
export function backoffDelay(policy: RetryPolicy, failedAttempts: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempts - 1));
}

function describe(err: unknown): string {
  return err instanceof KeywardenError ? err.message : 'unexpected error';
}

/**
 * Tries `send` until it succeeds, fails permanently (KW_ALERT_DELIVERY_REJECTED), runs out of attempts, or
 * `signal` aborts. `onAttempt` sees every attempt so the caller can record progress as it happens.
 */
export async function deliverWithRetry(
  send: (signal: AbortSignal) => Promise<void>,
  policy: RetryPolicy,
  options: { sleep: Sleep; signal: AbortSignal; onAttempt?: (attempts: number, error: string | null) => Promise<void> },
): Promise<DeliveryOutcome> {
  let lastError: string | null = null;
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    if (options.signal.aborted) return { status: 'interrupted', attempts: attempt - 1, error: lastError };
    try {
      await send(options.signal);
      await options.onAttempt?.(attempt, null);
      return { status: 'delivered', attempts: attempt };
    } catch (err) {
      if (options.signal.aborted) return { status: 'interrupted', attempts: attempt, error: lastError };
      lastError = describe(err);
      await options.onAttempt?.(attempt, lastError);
      const permanent = err instanceof KeywardenError && err.code === 'KW_ALERT_DELIVERY_REJECTED';
      if (permanent || attempt === policy.maxAttempts) return { status: 'failed', attempts: attempt, error: lastError };
      try {
        await options.sleep(backoffDelay(policy, attempt), options.signal);
      } catch {
        return { status: 'interrupted', attempts: attempt, error: lastError };
      }
    }
  }
  return { status: 'failed', attempts: policy.maxAttempts, error: lastError ?? 'no attempt made' };
}
