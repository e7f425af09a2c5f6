import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReservationRecord } from '../types.js';
import { ReservationJournal } from './reservation-journal.js';

const reservation = (id: string, usd = 0.01): ReservationRecord => ({ id, keyId: 'key_a', usd, periodKeys: ['day:2026-11-27'], createdAt: 1 });

describe('ReservationJournal', () => {
  it('recovers reservations that were written and never closed, ignoring a torn last line', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kw-journal-')), 'reservations.journal');
    const journal = new ReservationJournal(file);
    journal.append(reservation('r1'));
    journal.append(reservation('r2', 0.5));
    journal.append(reservation('r3'));
    journal.close(['r1']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    appendFileSync(file, '{"r":{"id":"r4","key'); // a crash in the middle of a write
    // A new process (after a crash) reads what the old one left.
    const recovered = new ReservationJournal(file).recover();
    expect(recovered.map((r) => r.id).sort()).toEqual(['r2', 'r3']);
    expect(recovered.find((r) => r.id === 'r2')?.usd).toBe(0.5);
  });

  it('is written before append returns, so a forwarded request always has its line on disk', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kw-journal-')), 'reservations.journal');
    const journal = new ReservationJournal(file);
    journal.append(reservation('r1'));
    expect(readFileSync(file, 'utf8')).toContain('"id":"r1"');
  });

  it('compacts to the open reservations only', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kw-journal-')), 'reservations.journal');
    const journal = new ReservationJournal(file);
    for (let i = 0; i < 50; i++) journal.append(reservation(`r${i}`));
    journal.close(Array.from({ length: 49 }, (_, i) => `r${i}`));
    journal.compact();
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"id":"r49"');
    journal.append(reservation('r50'));
    expect(new ReservationJournal(file).recover().map((r) => r.id)).toEqual(['r49', 'r50']);
  });

  it('closes ids that need JSON escaping as exactly those ids (quotes, backslashes, newlines, non-ASCII)', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kw-journal-')), 'reservations.journal');
    const journal = new ReservationJournal(file);
    const hostile = ['r"1', 'r\\2', 'r\n3', 'r\u20284', 'rø5', '{"s":"r7"}'];
    for (const id of [...hostile, 'r6', 'r7']) journal.append(reservation(id));
    journal.close(hostile);
    // Every closing line is one parseable line naming its id, and none closes another reservation by accident.
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(new ReservationJournal(file).recover().map((r) => r.id).sort()).toEqual(['r6', 'r7']);
  });

  it('keeps reservations in memory only when it has no file', () => {
    const journal = new ReservationJournal(null);
    journal.append(reservation('r1'));
    expect(journal.recover()).toEqual([]);
  });
});
