import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CoalescedFsync, type FsyncFunction } from './coalesced-fsync.js';
import { openDatabase, type SqliteDatabase } from './database.js';
import { ReservationJournal } from './reservation-journal.js';
import { SqliteSpendRepository } from './spend-repo.js';
import { WalDurability } from './wal-durability.js';

/** An fsync the test completes by hand: records each call, in order. */
function manualFsync(): { fsync: FsyncFunction; calls: Array<{ fd: number; done: (error: NodeJS.ErrnoException | null) => void }> } {
  const calls: Array<{ fd: number; done: (error: NodeJS.ErrnoException | null) => void }> = [];
  return { calls, fsync: (fd, done) => calls.push({ fd, done }) };
}

const eio = (): NodeJS.ErrnoException => Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
const tempDir = (): string => mkdtempSync(path.join(tmpdir(), 'kw-durable-'));
const openFds: number[] = [];
afterEach(() => {
  for (const fd of openFds.splice(0)) {
    try {
      closeSync(fd);
    } catch {
      // closed by the code under test
    }
  }
});

function tempFd(): number {
  const fd = openSync(path.join(tempDir(), 'f'), 'w');
  openFds.push(fd);
  return fd;
}

describe('CoalescedFsync', () => {
  it('answers a callback only with an fsync that started after it was registered, one fsync at a time', () => {
    const { fsync, calls } = manualFsync();
    const syncs = new CoalescedFsync(tempFd(), fsync);
    const seen: string[] = [];
    syncs.afterDurable((e) => seen.push(`a:${e === null}`));
    expect(calls).toHaveLength(1);
    // Registered while the first fsync runs: their writes may postdate its start, so it must not answer them.
    syncs.afterDurable((e) => seen.push(`b:${e === null}`));
    syncs.afterDurable((e) => seen.push(`c:${e === null}`));
    expect(calls).toHaveLength(1); // coalesced: no second fsync in flight
    calls[0]?.done(null);
    expect(seen).toEqual(['a:true']);
    expect(calls).toHaveLength(2); // the next one starts when the first returns, for both waiting callbacks
    calls[1]?.done(null);
    expect(seen).toEqual(['a:true', 'b:true', 'c:true']);
    expect(syncs.idle).toBe(true);
    expect(calls).toHaveLength(2);
  });

  it('passes a failed fsync to its own callbacks only, and tries again with a new fsync for later ones', () => {
    const { fsync, calls } = manualFsync();
    const syncs = new CoalescedFsync(tempFd(), fsync);
    const errors: Array<string | null> = [];
    syncs.afterDurable((e) => errors.push(e ? ((e as NodeJS.ErrnoException).code ?? 'error') : null));
    syncs.afterDurable((e) => errors.push(e ? 'late-error' : 'late-ok'));
    calls[0]?.done(eio());
    expect(errors).toEqual(['EIO']);
    calls[1]?.done(null);
    expect(errors).toEqual(['EIO', 'late-ok']);
  });

  it('syncNow answers running and waiting callbacks once; the running fsync returning later answers nothing again', () => {
    const { fsync, calls } = manualFsync();
    const syncs = new CoalescedFsync(tempFd(), fsync);
    let a = 0;
    let b = 0;
    syncs.afterDurable(() => (a += 1));
    syncs.afterDurable(() => (b += 1));
    syncs.syncNow();
    expect([a, b]).toEqual([1, 1]);
    calls[0]?.done(null);
    expect([a, b]).toEqual([1, 1]);
    expect(calls).toHaveLength(1);
    expect(syncs.idle).toBe(true);
  });

  it('keeps a replaced descriptor open until the fsync running on it returns', () => {
    const { fsync, calls } = manualFsync();
    const first = openSync(path.join(tempDir(), 'old'), 'w');
    const syncs = new CoalescedFsync(first, fsync);
    syncs.afterDurable(() => undefined);
    syncs.replace(tempFd());
    expect(() => fstatSync(first)).not.toThrow(); // still in use by the running fsync: its number cannot be reused
    calls[0]?.done(null);
    expect(() => fstatSync(first)).toThrow(/EBADF/);
  });

  it('runs at once without a file', () => {
    const syncs = new CoalescedFsync(null);
    let ran = false;
    syncs.afterDurable((e) => (ran = e === null));
    expect(ran).toBe(true);
  });

  it('with tracked writes, fsyncs only what was written since the last fsync started, and again after a failure', () => {
    const { fsync, calls } = manualFsync();
    const syncs = new CoalescedFsync(tempFd(), fsync, true);
    const seen: string[] = [];
    // Nothing is known to be flushed at first: the first request fsyncs.
    syncs.afterDurable((e) => seen.push(`a:${e === null}`));
    expect(calls).toHaveLength(1);
    // Nothing written since that fsync started: it covers this one too (answered with it, no second fsync).
    syncs.afterDurable((e) => seen.push(`b:${e === null}`));
    expect(calls).toHaveLength(1);
    // A write while it runs is not covered by it: the next request waits for a new fsync.
    syncs.noteWrite();
    syncs.afterDurable((e) => seen.push(`c:${e === null}`));
    calls[0]?.done(null);
    expect(seen).toEqual(['a:true', 'b:true']);
    expect(calls).toHaveLength(2);
    calls[1]?.done(null);
    expect(seen).toEqual(['a:true', 'b:true', 'c:true']);
    // Nothing written since a successful fsync: answered at once, no fsync.
    syncs.afterDurable((e) => seen.push(`d:${e === null}`));
    expect(seen.at(-1)).toBe('d:true');
    expect(calls).toHaveLength(2);
    // A failed fsync covers nothing: the next request fsyncs again even without a new write.
    syncs.noteWrite();
    syncs.afterDurable((e) => seen.push(`e:${e === null}`));
    calls[2]?.done(eio());
    expect(seen.at(-1)).toBe('e:false');
    syncs.afterDurable((e) => seen.push(`f:${e === null}`));
    expect(calls).toHaveLength(4);
    calls[3]?.done(null);
    expect(seen.at(-1)).toBe('f:true');
  });

  it('without tracked writes, fsyncs for every request even when nothing new is known to be written', () => {
    const { fsync, calls } = manualFsync();
    const syncs = new CoalescedFsync(tempFd(), fsync);
    syncs.afterDurable(() => undefined);
    calls[0]?.done(null);
    syncs.afterDurable(() => undefined);
    expect(calls).toHaveLength(2);
  });
});

describe('WalDurability', () => {
  const dbs: SqliteDatabase[] = [];
  afterEach(() => {
    for (const db of dbs.splice(0)) if (db.open) db.close();
  });
  const openDb = (): SqliteDatabase => {
    const db = openDatabase(path.join(tempDir(), 'kw.sqlite'));
    dbs.push(db);
    return db;
  };

  it('relaxes only the batch commit: the connection is back at FULL afterwards, also when the commit throws', () => {
    const db = openDb();
    const durability = new WalDurability(db);
    const FULL = 2;
    const NORMAL = 1;
    let during = -1;
    durability.commitRelaxed(() => (during = db.pragma('synchronous', { simple: true }) as number));
    expect(during).toBe(NORMAL);
    expect(db.pragma('synchronous', { simple: true })).toBe(FULL);
    expect(() =>
      durability.commitRelaxed(() => {
        throw new Error('constraint');
      }),
    ).toThrow('constraint');
    expect(db.pragma('synchronous', { simple: true })).toBe(FULL);
  });

  it('fsyncs the -wal file itself, in the threadpool, and reports an fsync error to the caller and the reporter', async () => {
    const db = openDb();
    const { fsync, calls } = manualFsync();
    const reported: string[] = [];
    const durability = new WalDurability(db, { fsync, report: (what, e) => reported.push(`${what}: ${(e as NodeJS.ErrnoException).code}`) });
    db.exec('CREATE TABLE t (x)');
    durability.commitRelaxed(() => db.prepare('INSERT INTO t VALUES (1)').run());
    const result = new Promise<Error | null>((resolve) => durability.afterDurable(resolve));
    expect(calls).toHaveLength(1);
    // The descriptor is the write-ahead log's (same inode as SQLite's own).
    const fd = calls[0]?.fd ?? -1;
    const wal = fstatSync(openSync(`${db.name}-wal`, 'r'));
    expect(fstatSync(fd).ino).toBe(wal.ino);
    calls[0]?.done(eio());
    expect(((await result) as NodeJS.ErrnoException).code).toBe('EIO');
    expect(reported).toEqual(['the SQLite write-ahead log: EIO']);
  });

  it('stays relaxed through a nested relaxed commit (settlements inside the usage batch window) and restores FULL once', () => {
    const db = openDb();
    const durability = new WalDurability(db);
    db.exec('CREATE TABLE t (x)');
    let afterInner = -1;
    durability.commitRelaxed(() => {
      durability.commitRelaxed(() => db.prepare('INSERT INTO t VALUES (1)').run());
      // The outer batch's own transaction still runs at NORMAL (1), not FULL (2): no fsync on the event loop.
      afterInner = db.pragma('synchronous', { simple: true }) as number;
    });
    expect(afterInner).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    durability.close();
  });

  it('answers with a real fsync too', async () => {
    const db = openDb();
    const durability = new WalDurability(db);
    db.exec('CREATE TABLE t (x)');
    durability.commitRelaxed(() => db.prepare('INSERT INTO t VALUES (1)').run());
    await expect(new Promise((resolve) => durability.afterDurable(resolve))).resolves.toBeNull();
    durability.close();
  });
});

describe('spend settlement ordering', () => {
  const reservation = { id: 'res_1', keyId: 'key_o', usd: 0.5, periodKeys: ['lifetime'], createdAt: 1 };
  const settlement = { reservationId: 'res_1', keyId: 'key_o', periodKeys: ['lifetime'], usd: 0.01 };

  function setUp(): {
    dir: string;
    db: SqliteDatabase;
    repo: SqliteSpendRepository;
    journal: ReservationJournal;
    calls: ReturnType<typeof manualFsync>['calls'];
    reported: string[];
    journalText: () => string;
  } {
    const dir = tempDir();
    const db = openDatabase(path.join(dir, 'kw.sqlite'));
    const journalFile = path.join(dir, 'reservations.journal');
    const { fsync, calls } = manualFsync();
    const reported: string[] = [];
    const journal = new ReservationJournal(journalFile);
    const repo = new SqliteSpendRepository(db, journal, new WalDurability(db, { fsync, report: (_w, e) => reported.push((e as NodeJS.ErrnoException).code ?? '') }));
    return { dir, db, repo, journal, calls, reported, journalText: () => readFileSync(journalFile, 'utf8') };
  }

  function reopen(dir: string): SqliteSpendRepository {
    return new SqliteSpendRepository(openDatabase(path.join(dir, 'kw.sqlite')), new ReservationJournal(path.join(dir, 'reservations.journal')));
  }

  const marks = (db: SqliteDatabase): unknown[] => db.prepare('SELECT seq FROM settled_batch_marks').all();

  it('writes the batch close line before the commit, commits only a mark, and closes the reservation once the log fsync returns', async () => {
    const { db, repo, journal, calls, journalText } = setUp();
    await repo.reserve(reservation);
    await repo.settle(settlement);
    repo.flushSettlements();
    // Committed (visible) with the batch's mark, and the tagged line is in the journal already.
    expect((await repo.spentFor('key_o')).lifetime).toBeCloseTo(0.01, 12);
    expect(marks(db)).toEqual([{ seq: 1 }]);
    expect(journalText()).toMatch(/\{"e":"[\w-]{12}","b":1,"c":\["res_1"\]\}\n$/);
    // No per-batch id array in the database any more.
    expect(db.prepare('SELECT COUNT(*) AS n FROM settled_reservation_batches').get()).toEqual({ n: 0 });
    // Not durable yet: the reservation is still held open (compaction would keep it and its line).
    expect(journal.isLive('res_1')).toBe(true);
    expect(calls).toHaveLength(1);
    calls[0]?.done(null);
    expect(journal.isLive('res_1')).toBe(false);
    // A second batch is seq 2 of the same writer: still one mark row.
    await repo.reserve({ ...reservation, id: 'res_2' });
    await repo.settle({ ...settlement, reservationId: 'res_2' });
    repo.flushSettlements();
    expect(marks(db)).toEqual([{ seq: 2 }]);
    calls[1]?.done(null);
    db.close();
  });

  it('on a failed fsync reports it, keeps the reservation held, and recovery still charges it once', async () => {
    const { dir, db, repo, journal, calls, reported } = setUp();
    await repo.reserve(reservation);
    await repo.settle(settlement);
    repo.flushSettlements();
    calls[0]?.done(eio());
    expect(reported).toEqual(['EIO']);
    expect(journal.isLive('res_1')).toBe(true);
    // A compaction now (the journal grew) must carry the held batch line over with its reservation.
    journal.compact();
    db.close(); // the process goes away with the reservation open in the journal
    const next = reopen(dir);
    // The spend survived (no power loss here): the batch's tagged line and mark keep recovery from charging $0.50 on top.
    expect(await next.reconcileOpenReservations()).toBe(0);
    expect((await next.spentFor('key_o')).lifetime).toBeCloseTo(0.01, 12);
    next.close();
  });

  it('charges the reservation in full when the batch itself was lost (what a power loss before the fsync leaves)', async () => {
    const { dir, db, repo, calls } = setUp();
    await repo.reserve(reservation);
    await repo.settle(settlement);
    repo.flushSettlements();
    // Simulate losing the un-fsynced commit: both the spend and its mark (one transaction) disappear; the journal's
    // close line survived.
    db.exec('DELETE FROM spend; DELETE FROM settled_batch_marks');
    calls[0]?.done(eio());
    db.close();
    const next = reopen(dir);
    expect(await next.reconcileOpenReservations()).toBe(1);
    expect((await next.spentFor('key_o')).lifetime).toBeCloseTo(0.5, 12);
    next.close();
  });

  it('closes everything waiting for durability on shutdown', async () => {
    const { dir, repo, journalText } = setUp();
    await repo.reserve(reservation);
    await repo.settle(settlement);
    repo.close(); // flush (close line, commit) + the log's fsync on this thread + the journal's fsync
    expect(journalText()).toContain('"c":["res_1"]');
    const next = reopen(dir);
    expect(await next.reconcileOpenReservations()).toBe(0);
    expect((await next.spentFor('key_o')).lifetime).toBeCloseTo(0.01, 12);
    next.close();
  });
});
