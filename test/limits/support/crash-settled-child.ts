// Child process for crash-settled-window.test.ts: admits 15 requests of a budgeted key through the real Limiter,
// memory backend and SQLite store, settles the first 10 with reported usage and commits that settlement batch,
// and then dies — as far as the journal is concerned — between the spend commit and the batch's closing lines:
// the journal is cut back to its length before the commit (a no-op where the close lines are deferred, as they
// now are until the commit is durable; it removes them where they were written in the same call), the report is
// written synchronously, and the process spins so no callback can run before the parent's kill -9.
import { statSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Limiter } from '../../../src/limits/limiter.js';
import { MemoryLimitsBackend } from '../../../src/limits/memory-backend.js';
import { PriceTable } from '../../../src/pricing/index.js';
import type { VirtualKeyRecord } from '../../../src/store/index.js';
import { SqliteStore } from '../../../src/store/index.js';
import { RESERVATION_JOURNAL_FILE_NAME } from '../../../src/store/sqlite/sqlite-store.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: crash-settled-child DATA_DIR');
const store = SqliteStore.open(dataDir);
const prices = new PriceTable();
const limiter = new Limiter(new MemoryLimitsBackend(store.spend), prices);
const key = {
  id: 'key_window',
  updatedAt: 1,
  limits: { rpm: 100_000, tpm: 1_000_000_000, concurrency: 1000, max_output_tokens: 4096, budgets: [{ usd: 100, period: 'lifetime' }] },
} as unknown as VirtualKeyRecord;
const json = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Tell me about lighthouses.' }] };
const input = { key, path: '/v1/chat/completions', model: 'gpt-4o-mini', json, bodyBytes: Buffer.byteLength(JSON.stringify(json)), now: Date.now() };
const usage = (i: number) => ({ promptTokens: 10 + i, cachedTokens: 0, completionTokens: 20 + i, reasoningTokens: 0 });

const admitted = [];
for (let i = 0; i < 15; i++) {
  const admission = await limiter.admit({ ...input, now: Date.now() });
  if (!admission) throw new Error('not admitted');
  admitted.push(admission);
}
const reserved = admitted.map((a) => a.ticket.reservedUsd);
const costs = Array.from({ length: 10 }, (_, i) => prices.costOf('gpt-4o-mini', usage(i)) ?? NaN);
for (let i = 0; i < 10; i++) await limiter.settle(admitted[i]!, { status: 200, tokens: usage(i), streamedText: '', incomplete: false }, Date.now());
const journal = path.join(dataDir, RESERVATION_JOURNAL_FILE_NAME);
const before = statSync(journal).size;
store.spend.flushSettlements();
truncateSync(journal, before);
writeSync(1, `${JSON.stringify({ reserved, costs })}\n`);
for (;;) {
  // spin: the kill lands here, after the commit and before any close line
}
