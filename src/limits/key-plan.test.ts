// The compiled key plan (issue 14 fast path): rules, rates and budget period keys computed once per key version
// (and period keys once per minute) must give the same checks as computing them per request did.
import { describe, expect, it } from 'vitest';
import { PriceTable } from '../pricing/index.js';
import type { VirtualKeyRecord } from '../store/index.js';
import type { AcquireRequest, AcquireResult, BudgetCheck, LimitsBackend, Settlement, Ticket } from './backend.js';
import { KeyPlan } from './key-plan.js';
import { Limiter } from './limiter.js';
import { periodKey } from './periods.js';
import type { KeyLimits } from './schema.js';

describe('KeyPlan', () => {
  it('gives every request of a minute the same period keys, and the new day its own from the first minute after midnight', () => {
    const plan = new KeyPlan({ budgets: [{ usd: 1, period: 'day' }, { usd: 5, period: 'month' }, { usd: 9, period: 'lifetime' }], time_zone: 'Asia/Tokyo' });
    // 23:59:30 on 31 Jan in Tokyo (UTC+9) is 14:59:30 UTC.
    const lastMinute = Date.UTC(2026, 0, 31, 14, 59, 30);
    const first = plan.budgets(lastMinute);
    expect(first.map((b) => b.periodKey)).toEqual(['day:2026-01-31', 'month:2026-01', 'lifetime']);
    expect(plan.budgets(lastMinute + 29_000)).toBe(first);
    const next = plan.budgets(lastMinute + 30_000);
    expect(next.map((b) => b.periodKey)).toEqual(['day:2026-02-01', 'month:2026-02', 'lifetime']);
    // A clock that goes back (or a request stamped earlier) gets its own minute's keys, not the cached ones.
    expect(plan.budgets(lastMinute - 86_400_000).map((b) => b.periodKey)).toEqual(['day:2026-01-30', 'month:2026-01', 'lifetime']);
    expect(plan.budgets(lastMinute).map((b) => b.limitUsd)).toEqual([1, 5, 9]);
  });

  it('agrees with periodKey() on every minute of a DST change day', () => {
    const zone = 'America/New_York';
    const plan = new KeyPlan({ budgets: [{ usd: 1, period: 'day' }, { usd: 1, period: 'week' }], time_zone: zone });
    const start = Date.UTC(2026, 2, 8, 0, 0, 0); // the spring-forward day, around local midnight and 02:00
    for (let t = start; t < start + 36 * 3_600_000; t += 60_000 + 7_000) {
      expect(plan.budgets(t).map((b) => b.periodKey)).toEqual([periodKey('day', t, zone), periodKey('week', t, zone)]);
    }
  });

  it('matches the first rule in order and adds its rates to the key own, with the limit in each counter id', () => {
    const plan = new KeyPlan({ rpm: 60, tpm: 1000, model_rules: [{ match: 'gpt-4o*', rpm: 5, tpm: 50 }, { match: 'gpt-4*', deny: true }] });
    expect(plan.forModel('gpt-4o-mini').rates.map((r) => r.id)).toEqual(['rpm@60', 'rule0:rpm@5']);
    expect(plan.forModel('gpt-4o-mini').tpm.map((t) => t.id)).toEqual(['tpm@1000', 'rule0:tpm@50']);
    expect(plan.forModel('gpt-4.1').rule?.deny).toBe(true);
    expect(plan.forModel('o3').rule).toBeNull();
    expect(plan.forModel(null).rates.map((r) => r.id)).toEqual(['rpm@60']);
    expect(new KeyPlan({}).empty).toBe(true);
  });
});

/** A backend that records what it is asked and admits everything, synchronously. */
class RecordingBackend implements LimitsBackend {
  readonly requests: AcquireRequest[] = [];
  acquire(request: AcquireRequest): AcquireResult {
    this.requests.push(request);
    const ticket: Ticket = { id: `t${this.requests.length}`, keyId: request.keyId, tokens: request.tokens, holdsConcurrency: false, budgetPeriodKeys: request.budgets.map((b) => b.periodKey), reservedUsd: request.reserveUsd, settled: false };
    return { ok: true, ticket };
  }
  budgetRemaining(_keyId: string, budgets: readonly BudgetCheck[]): number {
    return Math.min(...budgets.map((b) => b.limitUsd));
  }
  settle(ticket: Ticket, _settlement: Settlement): void {
    ticket.settled = true;
  }
  inflight(): Promise<number> {
    return Promise.resolve(0);
  }
  spent(): Promise<Record<string, number>> {
    return Promise.resolve({});
  }
}

describe('Limiter with compiled plans', () => {
  const key = (limits: KeyLimits, updatedAt: number): VirtualKeyRecord => ({ id: 'key_plan', updatedAt, limits }) as unknown as VirtualKeyRecord;
  const input = (k: VirtualKeyRecord) => ({ key: k, path: '/v1/chat/completions', model: 'gpt-4o-mini', json: { model: 'gpt-4o-mini', messages: [] }, bodyBytes: 40, now: Date.UTC(2026, 5, 1) });

  it('recompiles when the key version changes, and admits synchronously with a synchronous backend', () => {
    const backend = new RecordingBackend();
    const limiter = new Limiter(backend, new PriceTable());
    const first = limiter.admitNow(input(key({ rpm: 1, max_output_tokens: 50, budgets: [{ usd: 1, period: 'day' }] }, 1)));
    expect(first).not.toBeInstanceOf(Promise);
    expect((first as { inject: unknown }).inject).toEqual({ field: 'max_completion_tokens', value: 50 });
    expect(backend.requests[0]?.rates.map((r) => r.limit)).toEqual([1]);
    // The same limits object mutated in place without a new version would be a store bug; a new version is seen.
    expect(limiter.admitNow(input(key({ rpm: 7, max_output_tokens: 80, budgets: [{ usd: 2, period: 'month' }] }, 2)))).toMatchObject({ inject: { value: 80 } });
    expect(backend.requests[1]?.rates.map((r) => r.limit)).toEqual([7]);
    expect(backend.requests[1]?.budgets.map((b) => [b.periodKey, b.limitUsd])).toEqual([['month:2026-06', 2]]);
    // An unchanged version keeps its plan: the same (shared, read-only) rate checks are handed out.
    expect(limiter.admitNow(input(key({ rpm: 7, max_output_tokens: 80, budgets: [{ usd: 2, period: 'month' }] }, 2)))).not.toBeInstanceOf(Promise);
    expect(backend.requests[2]?.rates).toBe(backend.requests[1]?.rates);
    // Limits removed: nothing to admit.
    expect(limiter.admitNow(input(key({}, 3)))).toBeNull();
    expect(backend.requests).toHaveLength(3);
  });
});
