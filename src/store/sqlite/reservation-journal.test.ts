import fs, { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { ReservationRecord } from '../types.js';
import { batchCloseLine } from './batch-close-line.js';
import { ReservationJournal } from './reservation-journal.js';

const reservation = (id: string, usd = 0.01): ReservationRecord => ({ id, keyId: 'key_a', usd, periodKeys: ['day:2026-11-27'], createdAt: 1 });

/** Counts fs.writeSync calls (the journal's only way to write) until restored. */
function countWrites(): { count: number; restore(): void } {
  const counter = {
    count: 0,
    restore: () => {
      spy.mockRestore();
      syncBuiltinESMExports();
    },
  };
  const original = fs.writeSync;
  const spy = vi.spyOn(fs, 'writeSync').mockImplementation(((...args: unknown[]) => {
    counter.count++;
    return Reflect.apply(original, fs, args) as number;
  }));
  // The journal imports writeSync by name: named exports of a builtin follow the default export only when synced.
  syncBuiltinESMExports();
  return counter;
}

/** Appends every record in this turn (as concurrent admissions do), then waits until their lines are written. */
async function appendAll(journal: ReservationJournal, records: ReservationRecord[]): Promise<void> {
  const written = records.map((r) => journal.append(r));
  for (const w of written) await w;
}

describe('ReservationJournal', () => {
  it('recovers reservations that were written and never closed, ignoring a torn last line', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kw-journal-')), 'reservations.journal');
    const journal = new ReservationJournal(file);
    await appendAll(journal, [reservation('r1'), reservation('r2', 0.5), reservation('r3')]);
    appendFileSync(file, '{"s":"r1"}\n'); // a per-id close line, as journals before batch close lines wrote them
    expect(statSync(file).mode & 0o777).toBe(0o600);
    appendFileSync(file, '{"r":{"id":"r4","key'); // a crash in the middle of a write
    // A new process (after a crash) reads what the old one left.
    const recovered = new ReservationJournal(file).recover();
    expect(recovered.map((r) => r.id).sort()).toEqual(['r2', 'r3']);
    expect(recovered.find((r) => r.id === 'r2')?.usd).toBe(0.5);
  });

  it('has every line of a turn on disk, written with one write, when the appends resolve', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kw-journal-')), 'reservations.journal');
    const journal = new ReservationJournal(file);
    const writes = countWrites();
    try {
      const pending = Array.from({ length: 20 }, (_, i) => journal.append(reservation(`r${i}`)));
      // One promise for the turn: the forward of each request waits on it.
      expect(new Set(pending).size).toBe(1);
      expect(readFileSync(file, 'utf8')).toBe('');
      for (const p of pending) await p;
      const text = readFileSync(file, 'utf8');
      for (let i = 0; i < 20; i++) expect(text).toContain(`"id":"r${i}"`);
      expect(writes.count).toBe(1);
      // The next turn's appends get a write of their own.
      await journal.append(reservation('r20'));
      expect(writes.count).toBe(2);
      expect(readFileSync(file, 'utf8')).toContain('"id":"r20"');
    } finally {
      writes.restore();
    }
  });

  it('rejects a turn whose write fails, and recovery does not count those reservations as open', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kw-journal-')), 'reservations.journal');
    const journal = new ReservationJournal(file);
    await journal.append(reservation('kept'));
    const failing = vi.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    });
    syncBuiltinESMExports();
    try {
      const lost = [journal.append(reservation('lost1')), journal.append(reservation('lost2'))];
      for (const p of lost) await expect(p).rejects.toThrow(/no space/);
    } finally {
      failing.mockRestore();
      syncBuiltinESMExports();
    }
    expect(journal.isLive('lost1')).toBe(false);
    expect(journal.isLive('kept')).toBe(true);
    // A later compaction rewrites only what is open: the refused reservations are not charged after a crash.
    journal.compact();
    expect(new ReservationJournal(file).recover().map((r) => r.id)).toEqual(['kept']);
  });

  it('writes queued lines before it compacts or shuts down, and answers their appends', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kw-journal-')), 'reservations.journal');
    const journal = new ReservationJournal(file);
    const queued = journal.append(reservation('q1'));
    journal.compact();
    await queued;
    expect(new ReservationJournal(file).recover().map((r) => r.id)).toEqual(['q1']);
    const atShutdown = journal.append(reservation('q2'));
    journal.shutdown();
    await atShutdown;
    expect(new ReservationJournal(file).recover().map((r) => r.id)).toEqual(['q1', 'q2']);
  });

  it('compacts to the open reservations only', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kw-journal-')), 'reservations.journal');
    const journal = new ReservationJournal(file);
    await appendAll(journal, Array.from({ length: 50 }, (_, i) => reservation(`r${i}`)));
    const settled = Array.from({ length: 49 }, (_, i) => `r${i}`);
    const line = batchCloseLine('epoch1', 1, settled);
    journal.writeBatchClose(line);
    journal.holdBatchClose(1, line);
    journal.settledDurably(1, settled);
    journal.compact();
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"id":"r49"');
    await journal.append(reservation('r50'));
    expect(new ReservationJournal(file).recover().map((r) => r.id)).toEqual(['r49', 'r50']);
  });

  it('closes ids that need JSON escaping as exactly those ids (quotes, backslashes, newlines, non-ASCII)', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kw-journal-')), 'reservations.journal');
    const journal = new ReservationJournal(file);
    const hostile = ['r"1', 'r\\2', 'r\n3', 'r\u20284', 'rø5', '{"s":"r7"}'];
    await appendAll(journal, [...hostile, 'r6', 'r7'].map((id) => reservation(id)));
    journal.writeBatchClose(batchCloseLine('epoch1', 1, hostile));
    // Every line is one parseable line, and the batch line closes exactly its ids and none by accident.
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(lines).toHaveLength(9);
    const committed = (epoch: string, seq: number): boolean => epoch === 'epoch1' && seq === 1;
    expect(new ReservationJournal(file).recover(committed).map((r) => r.id).sort()).toEqual(['r6', 'r7']);
  });

  it('keeps reservations in memory only when it has no file', () => {
    const journal = new ReservationJournal(null);
    expect(journal.append(reservation('r1'))).toBeUndefined();
    expect(journal.recover()).toEqual([]);
  });
});
