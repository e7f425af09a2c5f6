// Child process for crash-settled-window.test.ts: admits 15 requests of a budgeted key through the real Limiter,
// memory backend and SQLite store, settles the first 10 with reported usage and commits that settlement batch,
// and then dies — as far as the journal is concerned — between the spend commit and the batch's closing lines:
// the journal is cut back to its length before the commit (a no-op where the close lines are deferred, as they
// now are until the commit is durable; it removes them where they were written in the same call), the report is
// written synchronously, and the process spins so no callback can run before the parent's kill -9.
import { statSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { RESERVATION_JOURNAL_FILE_NAME } from '../../../src/store/sqlite/sqlite-store.js';
import { budgetedLimiter } from './budgeted-limiter.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: crash-settled-child DATA_DIR');
const { store, admitMany, settle, cost } = budgetedLimiter(dataDir, 'key_window');
const admitted = await admitMany(15);
const reserved = admitted.map((a) => a.ticket.reservedUsd);
const costs = Array.from({ length: 10 }, (_, i) => cost(i));
for (let i = 0; i < 10; i++) await settle(admitted[i]!, i);
const journal = path.join(dataDir, RESERVATION_JOURNAL_FILE_NAME);
const before = statSync(journal).size;
store.spend.flushSettlements();
truncateSync(journal, before);
writeSync(1, `${JSON.stringify({ reserved, costs })}\n`);
for (;;) {
  // spin: the kill lands here, after the commit and before any close line
}
