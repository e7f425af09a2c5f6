import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UsageRecord } from '../types.js';
import type { FsyncFunction } from './coalesced-fsync.js';
import { openDatabase, type SqliteDatabase } from './database.js';
import { ReservationJournal } from './reservation-journal.js';
import { SETTLEMENT_FLUSH_MS, SqliteSpendRepository } from './spend-repo.js';
import { SqliteStore } from './sqlite-store.js';
import { SqliteUsageRepository } from './usage-repo.js';
import { WalDurability } from './wal-durability.js';

const usage = (id: string): UsageRecord => ({
  id, ts: 1_800_000_000_000, keyId: 'key_u', upstreamId: null, endpoint: '/v1/chat/completions', model: 'gpt-4o-mini', status: 200, stream: false,
  promptTokens: 1, cachedTokens: 0, completionTokens: 1, reasoningTokens: 0, costUsd: 0.001, priceMissing: false, latencyMs: 1, clientIp: '127.0.0.1',
  errorCode: null, upstreamKeyId: null,
});
const reservation = (id: string) => ({ id, keyId: 'key_u', usd: 0.5, periodKeys: ['lifetime'], createdAt: 1 });
const settlement = (id: string) => ({ reservationId: id, keyId: 'key_u', periodKeys: ['lifetime'], usd: 0.01 });

/** The store's wiring (sqlite-store.ts) with fsyncs completed by hand, counting the log's and the journal's apart. */
function wired(): { db: SqliteDatabase; spend: SqliteSpendRepository; usage: SqliteUsageRepository; journal: ReservationJournal; walFsyncs: Array<(e: NodeJS.ErrnoException | null) => void>; journalFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'kw-alongside-'));
  const db = openDatabase(path.join(dir, 'kw.sqlite'));
  const walFsyncs: Array<(e: NodeJS.ErrnoException | null) => void> = [];
  const fsync: FsyncFunction = (_fd, done) => walFsyncs.push(done);
  const durability = new WalDurability(db, { fsync });
  const journalFile = path.join(dir, 'reservations.journal');
  const journal = new ReservationJournal(journalFile);
  const spend = new SqliteSpendRepository(db, journal, durability);
  const usageRepo = new SqliteUsageRepository(db, durability, () => spend.commitAlongside());
  return { db, spend, usage: usageRepo, journal, walFsyncs, journalFile };
}

const usageCount = (db: SqliteDatabase): number => (db.prepare('SELECT COUNT(*) AS n FROM usage').get() as { n: number }).n;

afterEach(() => {
  vi.useRealTimers();
});

describe('settlements committed in the usage batch window', () => {
  it('commits queued settlements with the usage batch under one fsync of the log, and closes them when it returns', async () => {
    const { db, spend, usage: repo, journal, walFsyncs, journalFile } = wired();
    await spend.reserve(reservation('res_a'));
    await spend.settle(settlement('res_a'));
    await repo.insertMany([usage('u1')]);
    // Both committed, the close line written before, and exactly one fsync of the log requested for the two.
    expect(usageCount(db)).toBe(1);
    expect((await spend.spentFor('key_u')).lifetime).toBeCloseTo(0.01, 12);
    expect(readFileSync(journalFile, 'utf8')).toContain('"c":["res_a"]');
    expect(walFsyncs).toHaveLength(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // back at FULL after the nested relaxed commits
    expect(journal.isLive('res_a')).toBe(true);
    walFsyncs[0]?.(null);
    expect(journal.isLive('res_a')).toBe(false);
    // Nothing left for the settlement timer: no second batch, no second fsync.
    spend.flushSettlements();
    expect(walFsyncs).toHaveLength(1);
    db.close();
  });

  it('a usage batch with nothing to settle requests its own fsync, as before', async () => {
    const { db, usage: repo, walFsyncs } = wired();
    await repo.insertMany([usage('u1')]);
    expect(walFsyncs).toHaveLength(1);
    db.close();
  });

  it('a failed usage batch does not lose the settlements committed with it (their durability is still requested)', async () => {
    const { db, spend, usage: repo, journal, walFsyncs } = wired();
    await repo.insertMany([usage('u1')]);
    walFsyncs[0]?.(null);
    await spend.reserve(reservation('res_b'));
    await spend.settle(settlement('res_b'));
    // The usage INSERT fails (its table is away for the moment), after the settlements committed in its window.
    db.exec('ALTER TABLE usage RENAME TO usage_away');
    await expect(repo.insertMany([usage('u2')])).rejects.toThrow(/no such table/i);
    db.exec('ALTER TABLE usage_away RENAME TO usage');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(usageCount(db)).toBe(1);
    expect((await spend.spentFor('key_u')).lifetime).toBeCloseTo(0.01, 12);
    expect(walFsyncs).toHaveLength(2);
    walFsyncs[1]?.(null);
    expect(journal.isLive('res_b')).toBe(false);
    db.close();
  });

  it('a failed settlement batch does not fail the usage batch, stays queued, and commits on its own timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { db, spend, usage: repo, walFsyncs } = wired();
    await spend.reserve(reservation('res_c'));
    await spend.settle(settlement('res_c'));
    db.exec('ALTER TABLE settled_batch_marks RENAME TO marks_away');
    await repo.insertMany([usage('u1')]);
    expect(usageCount(db)).toBe(1);
    expect((await spend.spentFor('key_u')).lifetime).toBeUndefined();
    db.exec('ALTER TABLE marks_away RENAME TO settled_batch_marks');
    // Its own timer: later than the usage recorder's interval while it rides along (the usage batch usually wins).
    vi.advanceTimersByTime(SETTLEMENT_FLUSH_MS);
    expect((await spend.spentFor('key_u')).lifetime).toBeUndefined();
    vi.advanceTimersByTime(10);
    expect((await spend.spentFor('key_u')).lifetime).toBeCloseTo(0.01, 12);
    for (const done of walFsyncs.splice(0)) done(null);
    db.close();
  });

  it('is wired so in the store: a usage batch takes the queued settlements along', async () => {
    const store = SqliteStore.open(mkdtempSync(path.join(tmpdir(), 'kw-alongside-store-')));
    try {
      await store.spend.reserve(reservation('res_d'));
      await store.spend.settle(settlement('res_d'));
      await store.usage.insertMany([usage('u1')]);
      expect((await store.spend.spentFor('key_u')).lifetime).toBeCloseTo(0.01, 12);
    } finally {
      await store.close();
    }
  });
});
