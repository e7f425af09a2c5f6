// Child process for crash-settled-window.test.ts: admits 15 requests of a budgeted key through the real Limiter,
// memory backend and SQLite store, settles the first 10 with reported usage, runs that settlement batch up to the
// step named by MODE, writes its report synchronously and spins, so no callback (fsync, close) can run before the
// parent's kill -9:
// - after-commit: the batch's tagged close line is written and its spend and mark are committed (no fsync yet).
// - line-lost: as after-commit, then the journal is cut back to its length before the batch: what a power loss
//   leaves when the log's fsync made the commit durable and the journal's fsync had not run yet.
// - commit-failed: the close line is written, then the commit fails (its mark table is renamed away for the
//   moment) and the batch stays queued.
// - retried: as commit-failed, then requests 10 and 11 settle too and the retry commits under the same seq.
import { readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { RESERVATION_JOURNAL_FILE_NAME } from '../../../src/store/sqlite/sqlite-store.js';
import { budgetedLimiter } from './budgeted-limiter.js';

const [dataDir, mode = 'after-commit'] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: crash-settled-child DATA_DIR [after-commit|line-lost|commit-failed|retried]');
const { store, admitMany, settle, cost } = budgetedLimiter(dataDir, 'key_window');
const admitted = await admitMany(15);
const reserved = admitted.map((a) => a.ticket.reservedUsd);
const settledCount = mode === 'retried' ? 12 : 10;
const costs = Array.from({ length: settledCount }, (_, i) => cost(i));
for (let i = 0; i < 10; i++) await settle(admitted[i]!, i);
const journal = path.join(dataDir, RESERVATION_JOURNAL_FILE_NAME);
const before = statSync(journal).size;
if (mode === 'commit-failed' || mode === 'retried') {
  store.db.exec('ALTER TABLE settled_batch_marks RENAME TO marks_away');
  let failed = false;
  try {
    store.spend.flushSettlements();
  } catch {
    failed = true;
  }
  store.db.exec('ALTER TABLE marks_away RENAME TO settled_batch_marks');
  if (!failed) throw new Error('the batch commit did not fail');
  if (mode === 'retried') {
    for (let i = 10; i < 12; i++) await settle(admitted[i]!, i);
    store.spend.flushSettlements();
  }
} else {
  store.spend.flushSettlements();
  if (mode === 'line-lost') truncateSync(journal, before);
}
const batchLines = readFileSync(journal, 'utf8').split('\n').filter((line) => line.startsWith('{"e":'));
writeSync(1, `${JSON.stringify({ reserved, costs, batchLines })}\n`);
for (;;) {
  // spin: the kill lands here
}
