import { describe, expect, it } from 'vitest';
import { openDatabase } from './sqlite/database.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { allKeys, keyPages } from './key-pages.js';
import type { VirtualKeyRecord } from './types.js';

function key(id: string, createdAt: number, limits: Record<string, unknown> = {}): VirtualKeyRecord {
  return {
    id, name: id, hash: `hash_${id}`, last4: 'abcd', previousHash: null, previousHashExpiresAt: null, upstreamId: null,
    fallbackUpstreamIds: [], scopes: { models: [], endpoints: [], ipAllowlist: [], maxBodyBytes: null }, limits, metadata: {},
    createdAt, updatedAt: createdAt, expiresAt: null, revokedAt: null, suspendedAt: null, suspendedReason: null, rotatedAt: null,
  };
}

describe('keyPages', () => {
  it('walks every selected key in order, page by page, with a turn of the event loop between pages', async () => {
    const store = new SqliteStore(openDatabase(':memory:'));
    const budget = { budgets: [{ period: 'day', usd: 1 }] };
    // Equal timestamps across a page boundary: the (createdAt, id) cursor must neither skip nor repeat a key.
    const ids = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];
    for (const [i, id] of ids.entries()) await store.keys.insert(key(id, 1_000 + Math.floor(i / 2), i % 3 === 0 ? budget : {}));
    // An immediate queued before the walk runs at the walk's first turn of the event loop, never inside a page read
    // (deterministic: no timer resolution involved).
    let turned = false;
    setImmediate(() => (turned = true));
    const pages: string[][] = [];
    const turnedAt: boolean[] = [];
    for await (const page of keyPages(store.keys, {}, 3)) {
      pages.push(page.map((k) => k.id));
      turnedAt.push(turned);
    }
    expect(pages).toEqual([['k1', 'k2', 'k3'], ['k4', 'k5', 'k6'], ['k7']]);
    // The event loop ran between the first and second pages: without the turn, every page is read in one go.
    expect(turnedAt).toEqual([false, true, true]);
    expect((await allKeys(store.keys, { withBudgets: true })).map((k) => k.id)).toEqual(['k1', 'k4', 'k7']);
    // A page size that divides the count ends on an empty read, not a missing page.
    expect([...(await collect(keyPages(store.keys, {}, 7)))].flat().map((k) => k.id)).toEqual(ids);
    await store.close();
  });
});

async function collect<T>(pages: AsyncGenerator<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const page of pages) out.push(page);
  return out;
}
