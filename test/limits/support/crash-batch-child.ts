// Child process for crash-batch.test.ts: admits requests of a budgeted key through the real Limiter, memory
// backend and SQLite store (journal + batched settlements), settles some of them with reported usage, lets one
// settlement batch commit, settles more, prints what it did, and then spins so the next 20 ms batch can never run:
// the parent's kill -9 lands with settlements in memory and not yet committed, every time.
import { budgetedLimiter } from './budgeted-limiter.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: crash-batch-child DATA_DIR');
const { admitMany, settle, cost } = budgetedLimiter(dataDir, 'key_crash');
const admitted = await admitMany(30);
const reserved = admitted.map((a) => a.ticket.reservedUsd);
// 0..9 settle and are committed by a batch; 10..19 settle in memory only; 20..29 are never settled.
for (let i = 0; i < 10; i++) await settle(admitted[i]!, i);
await new Promise((resolve) => setTimeout(resolve, 200));
for (let i = 10; i < 20; i++) await settle(admitted[i]!, i);
process.stdout.write(`${JSON.stringify({ reserved, costs: Array.from({ length: 20 }, (_, i) => cost(i)) })}\n`, () => {
  // Never yield again: the pending batch cannot commit before the kill.
  for (;;) {
    // spin
  }
});
