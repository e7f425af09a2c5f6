// Child process for crash-batch.test.ts: admits requests of a budgeted key through the real Limiter, memory
// backend and SQLite store (journal + batched settlements), settles some of them with reported usage, lets one
// settlement batch commit, settles more, prints what it did, and then spins so the next 20 ms batch can never run:
// the parent's kill -9 lands with settlements in memory and not yet committed, every time.
import { Limiter } from '../../../src/limits/limiter.js';
import { MemoryLimitsBackend } from '../../../src/limits/memory-backend.js';
import { PriceTable } from '../../../src/pricing/index.js';
import type { VirtualKeyRecord } from '../../../src/store/index.js';
import { SqliteStore } from '../../../src/store/index.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: crash-batch-child DATA_DIR');
const store = SqliteStore.open(dataDir);
const prices = new PriceTable();
const limiter = new Limiter(new MemoryLimitsBackend(store.spend), prices);
const key = {
  id: 'key_crash',
  updatedAt: 1,
  limits: { rpm: 100_000, tpm: 1_000_000_000, concurrency: 1000, max_output_tokens: 4096, budgets: [{ usd: 100, period: 'lifetime' }] },
} as unknown as VirtualKeyRecord;
const json = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Tell me about lighthouses.' }] };
const input = { key, path: '/v1/chat/completions', model: 'gpt-4o-mini', json, bodyBytes: Buffer.byteLength(JSON.stringify(json)), now: Date.now() };
const usage = (i: number) => ({ promptTokens: 10 + i, cachedTokens: 0, completionTokens: 20 + i, reasoningTokens: 0 });

const admitted = [];
for (let i = 0; i < 30; i++) {
  const admission = await limiter.admit({ ...input, now: Date.now() });
  if (!admission) throw new Error('not admitted');
  admitted.push(admission);
}
const reserved = admitted.map((a) => a.ticket.reservedUsd);
const cost = (i: number): number => prices.costOf('gpt-4o-mini', usage(i)) ?? NaN;
// 0..9 settle and are committed by a batch; 10..19 settle in memory only; 20..29 are never settled.
for (let i = 0; i < 10; i++) await limiter.settle(admitted[i]!, { status: 200, tokens: usage(i), streamedText: '', incomplete: false }, Date.now());
await new Promise((resolve) => setTimeout(resolve, 200));
for (let i = 10; i < 20; i++) await limiter.settle(admitted[i]!, { status: 200, tokens: usage(i), streamedText: '', incomplete: false }, Date.now());
process.stdout.write(`${JSON.stringify({ reserved, costs: Array.from({ length: 20 }, (_, i) => cost(i)) })}\n`, () => {
  // Never yield again: the pending batch cannot commit before the kill.
  for (;;) {
    // spin
  }
});
