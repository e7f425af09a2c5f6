import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { batchCloseLine } from './batch-close-line.js';
import { migrate, openDatabase } from './database.js';
import { MIGRATIONS } from './migrations.js';
import { ReservationJournal } from './reservation-journal.js';
import { settledReservationIds } from './settled-batches.js';
import { committedBatches, SettledMarks } from './settled-marks.js';
import { SqliteSpendRepository } from './spend-repo.js';

const reservationLine = (id: string, usd: number): string => `${JSON.stringify({ r: { id, keyId: 'key_m', usd, periodKeys: ['lifetime'], createdAt: 1 } })}\n`;

function dataDir(): { dir: string; dbFile: string; journalFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'kw-marks-'));
  return { dir, dbFile: path.join(dir, 'kw.sqlite'), journalFile: path.join(dir, 'reservations.journal') };
}

/** Recovers the data dir with a fresh writer; returns how many reservations it charged and the key's spend. */
async function recover(dbFile: string, journalFile: string): Promise<{ charged: number; spent: number }> {
  const repo = new SqliteSpendRepository(openDatabase(dbFile), new ReservationJournal(journalFile));
  try {
    const charged = await repo.reconcileOpenReservations();
    return { charged, spent: (await repo.spentFor('key_m')).lifetime ?? 0 };
  } finally {
    repo.close();
  }
}

describe('settled batches: data dirs written by the previous format', () => {
  it('honours old settled_reservation_batches rows (JSON id arrays) and old per-id close lines, then deletes the rows', async () => {
    const { dbFile, journalFile } = dataDir();
    // A database at the schema before settled_batch_marks, as the previous version left it after a kill -9 between
    // a batch commit (r1, r2 settled: their row and spend) and its close lines; r0 was closed the old way.
    const old = new Database(dbFile);
    old.pragma('journal_mode = WAL');
    migrate(old, MIGRATIONS.slice(0, -1));
    old.prepare('INSERT INTO settled_reservation_batches (reservation_ids) VALUES (?)').run(JSON.stringify(['r1', 'r2']));
    // Rows a damaged file could hold: they settle nothing (recovery then charges: overstates).
    old.prepare('INSERT INTO settled_reservation_batches (reservation_ids) VALUES (?)').run('not json');
    old.prepare('INSERT INTO settled_reservation_batches (reservation_ids) VALUES (?)').run('{"r3":true}');
    old.prepare('INSERT INTO spend (key_id, period_key, usd) VALUES (?, ?, ?)').run('key_m', 'lifetime', 0.03);
    old.close();
    writeFileSync(journalFile, ['r0', 'r1', 'r2', 'r3'].map((id) => reservationLine(id, 1)).join('') + '{"s":"r0"}\n');

    const probe = openDatabase(dbFile);
    expect([...settledReservationIds(probe)].sort()).toEqual(['r1', 'r2']);
    expect(committedBatches(probe)('anything', 1)).toBe(false);
    probe.close();

    // Only r3 is charged (in full); r1 and r2 are not charged again.
    expect(await recover(dbFile, journalFile)).toEqual({ charged: 1, spent: 1.03 });
    const after = openDatabase(dbFile);
    expect(after.prepare('SELECT COUNT(*) AS n FROM settled_reservation_batches').get()).toEqual({ n: 0 });
    after.close();
    expect(await recover(dbFile, journalFile)).toEqual({ charged: 0, spent: 1.03 });
  });
});

describe('tagged batch close lines', () => {
  it('closes reservations only for a committed batch of the same writer, and ignores lines of any other shape', async () => {
    const { dbFile, journalFile } = dataDir();
    const db = openDatabase(dbFile);
    // Writer A committed up to batch 2; writer B never committed anything (e.g. a power loss rolled it back).
    db.prepare('INSERT INTO settled_batch_marks (epoch, seq) VALUES (?, ?)').run('writerA00000', 2);
    db.close();
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9'];
    const hostile = [
      batchCloseLine('writerA00000', 1, ['r1']), // honoured: 1 ≤ 2
      batchCloseLine('writerA00000', 2, ['r9']), // honoured: 2 ≤ 2
      batchCloseLine('writerA00000', 3, ['r2']), // batch 3 never committed
      batchCloseLine('writerB00000', 1, ['r3']), // another writer's seq 1: A's mark does not vouch for it
      '{"e":"writerA00000","b":"1","c":["r4"]}\n', // seq as a string
      '{"e":"writerA00000","b":1.5,"c":["r4"]}\n',
      '{"e":"writerA00000","b":0,"c":["r4"]}\n',
      '{"e":"writerA00000","b":-1,"c":["r4"]}\n',
      '{"e":"writerA00000","b":1e400,"c":["r4"]}\n',
      '{"e":"writerA00000","b":1,"c":"r5"}\n', // ids not an array
      '{"e":"writerA00000","b":1,"c":[{"id":"r6"},7,null,["r6"]]}\n', // non-string ids close nothing
      '{"e":1,"b":1,"c":["r7"]}\n',
      '{"b":1,"c":["r7"]}\n',
      'null\n',
      '5\n',
      '"r8"\n',
      '[]\n',
      '{"s":{"id":"r8"}}\n', // an old-style close with a non-string id
      `${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, // deeply nested
      '{"e":"writerA00000","b":1,"c":["r', // torn by the crash
    ];
    writeFileSync(journalFile, ids.map((id) => reservationLine(id, 1)).join(''));
    appendFileSync(journalFile, hostile.join(''));
    expect(new ReservationJournal(journalFile).recover().map((r) => r.id)).toEqual(ids);
    expect(await recover(dbFile, journalFile)).toEqual({ charged: 7, spent: 7 });
    // Writer A's mark is gone with its lines (the journal was compacted); the recovering writer's own stays.
    const after = openDatabase(dbFile);
    const marks = after.prepare('SELECT epoch, seq FROM settled_batch_marks').all() as Array<{ epoch: string; seq: number }>;
    after.close();
    expect(marks).toHaveLength(1);
    expect(marks[0]?.epoch).not.toBe('writerA00000');
    expect(marks[0]?.seq).toBe(1);
    expect(await recover(dbFile, journalFile)).toEqual({ charged: 0, spent: 7 });
  });

  it('gives every writer its own epoch, safe to embed in a JSON line unescaped', () => {
    const db = openDatabase(':memory:');
    const epochs = new Set(Array.from({ length: 50 }, () => new SettledMarks(db).epoch));
    expect(epochs.size).toBe(50);
    for (const epoch of epochs) expect(epoch).toMatch(/^[\w-]{12}$/);
    db.close();
  });

  it('writes one line per batch with every id JSON-escaped, whatever the id', () => {
    const ids = ['plain', 'quo"te', 'back\\slash', 'new\nline', '\u2028', ''];
    const line = batchCloseLine('e', 7, ids);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ e: 'e', b: 7, c: ids });
  });
});
