// Budgeted admissions on the SQLite store wait for the reservation journal's write of their turn
// (reservation-journal.ts): every admission of a turn shares one promise, and when that write fails every one of
// them is undone (concurrency slot, reserved budget) and refused with the ledger error.
import fs, { mkdtempSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteStore } from '../store/index.js';
import type { AcquireRequest } from './backend.js';
import { MemoryLimitsBackend } from './memory-backend.js';

const PERIOD = 'day:2026-11-30';
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

const request = (keyId: string): AcquireRequest => ({
  keyId,
  now: 1_000,
  rates: [],
  tokens: [],
  concurrency: 100,
  budgets: [{ periodKey: PERIOD, limitUsd: 1 }],
  reserveUsd: 0.05,
});

async function loadedBackend(): Promise<MemoryLimitsBackend> {
  const store = SqliteStore.open(mkdtempSync(path.join(tmpdir(), 'kw-durable-')));
  stores.push(store);
  const backend = new MemoryLimitsBackend(store.spend);
  // The key's spend is loaded by a first admission, which is then settled.
  const first = await backend.acquire(request('key_d'));
  if (!first.ok) throw new Error('not admitted');
  await first.durable;
  await backend.settle(first.ticket, { costUsd: 0, tokensUsed: 0 }, 1_000);
  return backend;
}

describe('durable admissions on the SQLite journal', () => {
  it('gives every admission of one turn the same pending write, resolved once the lines are on disk', async () => {
    const backend = await loadedBackend();
    const results = Array.from({ length: 10 }, () => backend.acquire(request('key_d')));
    const durables = results.map((r) => (r instanceof Promise || !r.ok ? null : r.durable));
    expect(durables.every((d) => d instanceof Promise)).toBe(true);
    expect(new Set(durables).size).toBe(1);
    await durables[0];
    expect(await backend.inflight('key_d')).toBe(10);
  });

  it('undoes and refuses every admission of a turn whose write fails, and admits again afterwards', async () => {
    const backend = await loadedBackend();
    const full = vi.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    syncBuiltinESMExports();
    let outcomes: PromiseSettledResult<void>[];
    try {
      const results = Array.from({ length: 8 }, () => backend.acquire(request('key_d')));
      outcomes = await Promise.allSettled(results.map((r) => (r instanceof Promise || !r.ok ? Promise.reject(new Error('not admitted')) : (r.durable ?? Promise.resolve()))));
    } finally {
      full.mockRestore();
      syncBuiltinESMExports();
    }
    expect(outcomes.map((o) => o.status)).toEqual(Array.from({ length: 8 }, () => 'rejected'));
    for (const o of outcomes) if (o.status === 'rejected') expect(String(o.reason)).toMatch(/spend ledger could not be written/);
    // Nothing of theirs is held: no concurrency slot, no reserved budget.
    expect(await backend.inflight('key_d')).toBe(0);
    expect(await backend.budgetRemaining('key_d', request('key_d').budgets)).toBeCloseTo(1, 9);
    // The disk has room again: the next admission is written and admitted.
    const next = await backend.acquire(request('key_d'));
    expect(next.ok).toBe(true);
    if (next.ok) await next.durable;
    expect(await backend.inflight('key_d')).toBe(1);
  });
});
