// The memory backend's per-key shortcuts (cached rate cells and spend entries for a key plan's shared arrays) must
// decide exactly as the maps they shortcut: the judge here is the arithmetic of the limits themselves.
import { describe, expect, it } from 'vitest';
import type { SpendRepository } from '../store/index.js';
import { shareChecks, type AcquireRequest, type AcquireResult, type BudgetCheck, type RateCheck, type Ticket } from './backend.js';
import { MemoryLimitsBackend } from './memory-backend.js';

const ledger = {
  spentFor: () => Promise.resolve({}),
  reserve: () => undefined,
  settle: () => undefined,
} as unknown as SpendRepository;

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

function request(keyId: string, rates: readonly RateCheck[], budgets: readonly BudgetCheck[] = [], reserveUsd = 0, now = NOW): AcquireRequest {
  return { keyId, now, rates, tokens: [], concurrency: null, projectConcurrency: null, budgets, reserveUsd };
}

function ticketOf(result: AcquireResult | Promise<AcquireResult>): Ticket {
  if (result instanceof Promise || !result.ok) throw new Error(`expected a synchronous admission, got ${JSON.stringify(result)}`);
  return result.ticket;
}

const admitted = (result: AcquireResult | Promise<AcquireResult>): boolean => !(result instanceof Promise) && result.ok;

describe('memory backend key shortcuts', () => {
  it('keeps each shared rate array of a key on its own counters while requests alternate between them', () => {
    const backend = new MemoryLimitsBackend(ledger);
    const keyRates = shareChecks([{ id: 'rpm@5', limit: 5, periodMs: 60_000 }]);
    // A model rule's array: the key's limit plus the rule's own.
    const ruleRates = shareChecks([{ id: 'rpm@5', limit: 5, periodMs: 60_000 }, { id: 'rule0:rpm@2', limit: 2, periodMs: 60_000 }]);
    const order = [ruleRates, ruleRates, ruleRates, keyRates, ruleRates, keyRates, keyRates, keyRates];
    const outcomes = order.map((rates) => admitted(backend.acquire(request('key_a', rates))));
    // The rule's rpm@2 refuses its third request, which then counts nowhere; the key's rpm@5 is shared by both
    // arrays and refuses the sixth admission.
    expect(outcomes).toEqual([true, true, false, true, false, true, true, false]);
    // Another key has counters of its own.
    expect(admitted(backend.acquire(request('key_b', keyRates)))).toBe(true);
  });

  it('counts a per-request array (a project limit added) on the same counters as the shared one', () => {
    const backend = new MemoryLimitsBackend(ledger);
    const keyRates = shareChecks([{ id: 'rpm@2', limit: 2, periodMs: 60_000 }]);
    expect(admitted(backend.acquire(request('key_a', keyRates)))).toBe(true);
    const withProject: RateCheck[] = [...keyRates, { id: 'rpm@100', limit: 100, periodMs: 60_000, scope: 'project', scopeId: 'prj_a' }];
    expect(admitted(backend.acquire(request('key_a', withProject)))).toBe(true);
    expect(admitted(backend.acquire(request('key_a', keyRates)))).toBe(false);
    expect(admitted(backend.acquire(request('key_a', [...withProject])))).toBe(false);
  });

  it('settles a ticket of the previous minute’s budget array after the next one took its place, on the same spend', async () => {
    const backend = new MemoryLimitsBackend(ledger);
    const minute1 = shareChecks([{ periodKey: 'day:2026-11-30', limitUsd: 1 }]);
    // Loads the key's spend (its first request waits for it).
    const first = await backend.acquire(request('key_a', [], minute1, 0.3));
    expect(first.ok).toBe(true);
    const stale = ticketOf(backend.acquire(request('key_a', [], minute1, 0.3)));
    // The next minute: a new array with the same period key.
    const minute2 = shareChecks([{ periodKey: 'day:2026-11-30', limitUsd: 1 }]);
    const fresh = ticketOf(backend.acquire(request('key_a', [], minute2, 0.3, NOW + 60_000)));
    expect(fresh.budgetPeriodKeys).not.toBe(stale.budgetPeriodKeys);
    // 0.9 reserved of 1: the fourth is refused, with either array.
    expect(admitted(backend.acquire(request('key_a', [], minute2, 0.3, NOW + 60_000)))).toBe(false);
    await backend.settle(stale, { costUsd: 0.1, tokensUsed: 0 }, NOW + 60_000);
    if (first.ok) await backend.settle(first.ticket, { costUsd: 0.1, tokensUsed: 0 }, NOW + 60_000);
    await backend.settle(fresh, { costUsd: 0.1, tokensUsed: 0 }, NOW + 60_000);
    // Everything settled at 0.1 each: nothing reserved, 0.3 spent, whichever array is asked.
    expect(await backend.budgetRemaining('key_a', minute1)).toBeCloseTo(0.7, 12);
    expect(await backend.budgetRemaining('key_a', minute2)).toBeCloseTo(0.7, 12);
    expect(await backend.budgetRemaining('key_a', [{ periodKey: 'day:2026-11-30', limitUsd: 1 }])).toBeCloseTo(0.7, 12);
    expect(await backend.spent('key_a', ['day:2026-11-30'])).toEqual({ 'day:2026-11-30': expect.closeTo(0.3, 12) as number });
  });

  it('charges a ticket reserved before midnight to its own day, after the next day’s array took its place', async () => {
    const backend = new MemoryLimitsBackend(ledger);
    const today = shareChecks([{ periodKey: 'day:2026-11-30', limitUsd: 1 }]);
    const late = await backend.acquire(request('key_a', [], today, 0.5));
    if (!late.ok) throw new Error('refused');
    const tomorrow = shareChecks([{ periodKey: 'day:2026-12-01', limitUsd: 1 }]);
    const early = ticketOf(backend.acquire(request('key_a', [], tomorrow, 0.5, NOW + 86_400_000)));
    await backend.settle(late.ticket, { costUsd: 0.25, tokensUsed: 0 }, NOW + 86_400_000);
    expect(await backend.budgetRemaining('key_a', today)).toBeCloseTo(0.75, 12);
    // Tomorrow still holds its own reservation, untouched by yesterday's settlement.
    expect(await backend.budgetRemaining('key_a', tomorrow)).toBeCloseTo(0.5, 12);
    await backend.settle(early, { costUsd: 0.1, tokensUsed: 0 }, NOW + 86_400_000);
    expect(await backend.spent('key_a', ['day:2026-11-30', 'day:2026-12-01'])).toEqual({ 'day:2026-11-30': expect.closeTo(0.25, 12) as number, 'day:2026-12-01': expect.closeTo(0.1, 12) as number });
  });

  it('keeps counting a key’s rates and budgets after its shortcuts were dropped with 10,000 other keys’', async () => {
    const backend = new MemoryLimitsBackend(ledger);
    const rates = shareChecks([{ id: 'rpm@2', limit: 2, periodMs: 60_000 }]);
    const budgets = shareChecks([{ periodKey: 'day:2026-11-30', limitUsd: 1 }]);
    const held = await backend.acquire(request('key_a', rates, budgets, 0.6));
    expect(held.ok).toBe(true);
    for (let i = 0; i < 10_001; i++) void backend.acquire(request(`key_other_${i}`, rates));
    // One request left in rpm@2, but the budget has only 0.4 left.
    expect(admitted(backend.acquire(request('key_a', rates, budgets, 0.6)))).toBe(false);
    expect(admitted(backend.acquire(request('key_a', rates, budgets, 0.4)))).toBe(true);
    expect(admitted(backend.acquire(request('key_a', rates, budgets, 0.01)))).toBe(false);
    if (held.ok) await backend.settle(held.ticket, { costUsd: 0.2, tokensUsed: 0 }, NOW);
    expect(await backend.budgetRemaining('key_a', budgets)).toBeCloseTo(1 - 0.2 - 0.4, 12);
  });
});
