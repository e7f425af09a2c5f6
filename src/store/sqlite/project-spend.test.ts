import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AcquireRequest } from '../../limits/backend.js';
import { MemoryLimitsBackend } from '../../limits/memory-backend.js';
import { SqliteStore } from './sqlite-store.js';

const PERIOD = 'day:2026-11-30';
const request = (keyId: string, reserveUsd: number, keyLimitUsd: number | null, projectLimitUsd: number): AcquireRequest => ({
  keyId,
  now: 1,
  rates: [],
  tokens: [],
  concurrency: null,
  budgets: [
    ...(keyLimitUsd === null ? [] : [{ periodKey: PERIOD, limitUsd: keyLimitUsd }]),
    { periodKey: PERIOD, limitUsd: projectLimitUsd, scope: 'project' as const, scopeId: 'prj_team' },
  ],
  reserveUsd,
});

describe('project budgets in the spend ledger', () => {
  it('never admits more than the project budget across keys, even when every acquire races', async () => {
    const store = SqliteStore.open(mkdtempSync(path.join(tmpdir(), 'kw-prj-')));
    const backend = new MemoryLimitsBackend(store.spend);
    const results = await Promise.all(Array.from({ length: 200 }, async (_, i) => backend.acquire(request(`key_${i % 3}`, 0.01, null, 0.5))));
    const admitted = results.filter((r) => r.ok);
    expect(admitted).toHaveLength(50);
    const refused = results.find((r) => !r.ok);
    expect(refused && !refused.ok ? refused.refusal : null).toMatchObject({ reason: 'budget', scope: 'project' });
    expect(await backend.budgetRemaining('key_0', request('key_0', 0, null, 0.5).budgets)).toBeCloseTo(0, 9);
    // Settling at less than reserved gives the difference back to the whole project.
    for (const r of admitted) if (r.ok) await backend.settle(r.ticket, { costUsd: 0.004, tokensUsed: 0 }, 2);
    expect(await backend.budgetRemaining('key_1', request('key_1', 0, null, 0.5).budgets)).toBeCloseTo(0.3, 9);
    await store.close();
  });

  it('charges the key and its project for reservations a crash left open, and keeps settled project spend', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kw-prj-'));
    const first = SqliteStore.open(dir);
    const backend = new MemoryLimitsBackend(first.spend);
    const settled = await backend.acquire(request('key_a', 0.2, 1, 1));
    const open = await backend.acquire(request('key_b', 0.3, null, 1));
    expect(settled.ok && open.ok).toBe(true);
    // As the gateway does: a request goes upstream (and can settle) only once its reservation is on disk.
    if (settled.ok) await settled.durable;
    if (open.ok) await open.durable;
    if (settled.ok) await backend.settle(settled.ticket, { costUsd: 0.1, tokensUsed: 0 }, 2);
    first.spend.flushSettlements();
    // "Crash": the process stops with `open` still in flight; its journal line was never closed.
    await first.close();

    const second = SqliteStore.open(dir);
    expect(await second.spend.reconcileOpenReservations()).toBe(1);
    expect(await second.spend.spentFor('prj_team')).toEqual({ [PERIOD]: expect.closeTo(0.4, 9) as number });
    expect(await second.spend.spentFor('key_a')).toEqual({ [PERIOD]: expect.closeTo(0.1, 9) as number });
    // key_b has no budget of its own, so only its project was charged.
    expect(await second.spend.spentFor('key_b')).toEqual({});
    // And a fresh backend sees the project as spent: nothing refilled.
    const again = new MemoryLimitsBackend(second.spend);
    expect(await again.budgetRemaining('key_c', request('key_c', 0, null, 1).budgets)).toBeCloseTo(0.6, 9);
    const refusal = await again.acquire(request('key_c', 0.7, null, 1));
    expect(refusal.ok).toBe(false);
    await second.close();
  });
});
