// The setup both crash children share: the real Limiter, memory backend and SQLite store (journal + batched
// settlements) over a data dir, a budgeted key, one chat request to admit again and again, and the usage each
// settled request reports.
import { Limiter } from '../../../src/limits/limiter.js';
import { MemoryLimitsBackend } from '../../../src/limits/memory-backend.js';
import { PriceTable } from '../../../src/pricing/index.js';
import type { VirtualKeyRecord } from '../../../src/store/index.js';
import { SqliteStore } from '../../../src/store/index.js';
import type { Admission } from '../../../src/limits/limiter.js';

export function budgetedLimiter(dataDir: string, keyId: string) {
  const store = SqliteStore.open(dataDir);
  const prices = new PriceTable();
  const limiter = new Limiter(new MemoryLimitsBackend(store.spend), prices);
  const key = {
    id: keyId,
    updatedAt: 1,
    limits: { rpm: 100_000, tpm: 1_000_000_000, concurrency: 1000, max_output_tokens: 4096, budgets: [{ usd: 100, period: 'lifetime' }] },
  } as unknown as VirtualKeyRecord;
  const json = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Tell me about lighthouses.' }] };
  const input = { key, path: '/v1/chat/completions', model: 'gpt-4o-mini', json, bodyBytes: Buffer.byteLength(JSON.stringify(json)), now: Date.now() };
  const usage = (i: number) => ({ promptTokens: 10 + i, cachedTokens: 0, completionTokens: 20 + i, reasoningTokens: 0 });
  return {
    store,
    limiter,
    usage,
    cost: (i: number): number => prices.costOf('gpt-4o-mini', usage(i)) ?? NaN,
    /** Admits `count` requests, each with its own reservation. */
    admitMany: async (count: number): Promise<Admission[]> => {
      const admitted: Admission[] = [];
      for (let i = 0; i < count; i++) {
        const admission = await limiter.admit({ ...input, now: Date.now() });
        if (!admission) throw new Error('not admitted');
        admitted.push(admission);
      }
      return admitted;
    },
    /** Settles request i with its reported usage. */
    settle: (admission: Admission, i: number) => limiter.settle(admission, { status: 200, tokens: usage(i), streamedText: '', incomplete: false }, Date.now()),
  };
}
