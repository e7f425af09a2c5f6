// A child key's request reserves its own budget and, under its own line, its parent's. When the parent's line
// cannot be written, the request is refused; what was already on the journal (the child's own line) must then be
// closed at zero, not left open: an open line is a reservation that recovery charges in full after a restart,
// for a request that never reached the upstream. The judge is what recovery charges on reopening the store.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore, type SpendRepository } from '../store/index.js';
import type { AcquireRequest } from './backend.js';
import { MemoryLimitsBackend } from './memory-backend.js';

const PERIOD = 'day:2026-11-30';
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

const childRequest = (reserveUsd: number, limitUsd: number): AcquireRequest => ({
  keyId: 'key_child',
  now: 1_000,
  rates: [],
  tokens: [],
  concurrency: 10,
  projectConcurrency: null,
  budgets: [
    { periodKey: PERIOD, limitUsd },
    { periodKey: PERIOD, limitUsd, subject: 'key_parent' },
  ],
  reserveUsd,
});

/** The store's ledger, except that the parent's reservation line cannot be written. */
function parentLineFails(spend: SpendRepository): SpendRepository {
  return new Proxy(spend, {
    get(target, name, receiver) {
      if (name === 'reserve') {
        return (reservation: { keyId: string }, ...rest: unknown[]) => {
          if (reservation.keyId === 'key_parent') throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
          return (target.reserve as (...args: unknown[]) => unknown).call(target, reservation, ...rest);
        };
      }
      const value: unknown = Reflect.get(target, name, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('a child key whose parent reservation cannot be written', () => {
  // Near its budget the child's reservation has a line of its own; far from it, it is taken from a lease (a line
  // reserving a block for the key's next requests), which must close too.
  it.each([
    { line: 'its own line', reserveUsd: 0.25, limitUsd: 1 },
    { line: 'a lease', reserveUsd: 0.01, limitUsd: 100_000 },
  ])('is refused, holds nothing, and leaves no open line for recovery to charge ($line)', async ({ reserveUsd, limitUsd }) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kw-shared-fail-'));
    const store = SqliteStore.open(dir);
    const backend = new MemoryLimitsBackend(parentLineFails(store.spend));
    await expect(Promise.resolve(backend.acquire(childRequest(reserveUsd, limitUsd)))).rejects.toThrow(/spend ledger could not be written/);
    // Nothing is held in memory: no slot, and both budgets whole.
    expect(await backend.inflight('key_child')).toBe(0);
    expect(await backend.budgetRemaining('key_child', [{ periodKey: PERIOD, limitUsd }])).toBeCloseTo(limitUsd, 9);
    expect(await backend.budgetRemaining('key_child', [{ periodKey: PERIOD, limitUsd, subject: 'key_parent' }])).toBeCloseTo(limitUsd, 9);
    await store.close();

    // A restart: recovery charges every line left open in full.
    const reopened = SqliteStore.open(dir);
    stores.push(reopened);
    expect(await reopened.spend.reconcileOpenReservations()).toBe(0);
    expect(await reopened.spend.spentFor('key_child')).toEqual({});
    expect(await reopened.spend.spentFor('key_parent')).toEqual({});
  });
});
