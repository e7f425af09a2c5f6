import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { backoffDelay, deliverWithRetry } from './delivery.js';

const policy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 5_000 };

function recordingSleep(delays: number[]) {
  return (ms: number) => {
    delays.push(ms);
    return Promise.resolve();
  };
}

describe('deliverWithRetry', () => {
  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
  });

  it('retries retryable failures and reports the attempt that succeeded', async () => {
    const delays: number[] = [];
    let calls = 0;
    const outcome = await deliverWithRetry(
      () => (++calls < 3 ? Promise.reject(new KeywardenError('KW_ALERT_DELIVERY_FAILED', { message: 'hook: HTTP 503' })) : Promise.resolve()),
      policy,
      { sleep: recordingSleep(delays), signal: new AbortController().signal },
    );
    expect(outcome).toEqual({ status: 'delivered', attempts: 3 });
    expect(delays).toEqual([1_000, 2_000]);
  });

  it('stops at once on a permanent rejection', async () => {
    const delays: number[] = [];
    const outcome = await deliverWithRetry(
      () => Promise.reject(new KeywardenError('KW_ALERT_DELIVERY_REJECTED', { message: 'hook: HTTP 404' })),
      policy,
      { sleep: recordingSleep(delays), signal: new AbortController().signal },
    );
    expect(outcome).toEqual({ status: 'failed', attempts: 1, error: 'hook: HTTP 404' });
    expect(delays).toEqual([]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const seen: Array<[number, string | null]> = [];
    const outcome = await deliverWithRetry(
      () => Promise.reject(new KeywardenError('KW_ALERT_DELIVERY_FAILED', { message: 'hook: request failed (ECONNREFUSED)' })),
      policy,
      {
        sleep: () => Promise.resolve(),
        signal: new AbortController().signal,
        onAttempt: (n, err) => {
          seen.push([n, err]);
          return Promise.resolve();
        },
      },
    );
    expect(outcome).toEqual({ status: 'failed', attempts: 5, error: 'hook: request failed (ECONNREFUSED)' });
    expect(seen.map(([n]) => n)).toEqual([1, 2, 3, 4, 5]);
  });

  it('is interrupted by shutdown during a backoff', async () => {
    const controller = new AbortController();
    const outcome = await deliverWithRetry(
      () => Promise.reject(new KeywardenError('KW_ALERT_DELIVERY_FAILED', { message: 'x' })),
      policy,
      {
        sleep: (_ms, signal) => {
          controller.abort();
          return Promise.reject(signal.reason as Error);
        },
        signal: controller.signal,
      },
    );
    expect(outcome).toEqual({ status: 'interrupted', attempts: 1, error: 'x' });
  });
});
